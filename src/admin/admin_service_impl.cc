#include "admin/admin_service_impl.h"

#include "admin/internal/api_errors.h"
#include "admin/internal/audit_log.h"
#include "admin/internal/change_runner.h"
#include "admin/internal/domains.h"
#include "admin/internal/federated_domains.h"
#include "admin/internal/params.h"
#include "admin/internal/policy_builder.h"
#include "admin/internal/text_rules.h"

namespace herald::admin {

using nlohmann::json;

AdminServiceImpl::AdminServiceImpl(std::unique_ptr<detail::Context> ctx)
    : ctx_(std::move(ctx)), accounts_(*ctx_) {
  auto users = std::make_unique<detail::Users>(*ctx_);
  auto services = std::make_unique<detail::Services>(*ctx_);
  users_ = users.get();
  services_ = services.get();
  resources_["domains"] = std::make_unique<detail::Domains>(*ctx_);
  resources_["federated-domains"] = std::make_unique<detail::FederatedDomains>(*ctx_);
  resources_["users"] = std::move(users);
  resources_["params"] = std::make_unique<detail::Params>(*ctx_);
  resources_["services"] = std::move(services);
  resources_["audit"] = std::make_unique<detail::AuditLog>(*ctx_);
}

ApiResult<void> AdminServiceImpl::start(const std::filesystem::path& data_dir) {
  auto* domains = static_cast<detail::Domains*>(resources_["domains"].get());
  if (auto r = domains->importConfigDomains(ctx_->seed.config_domains); !r) return r;
  auto first = accounts_.ensureFirstAdmin(data_dir, ctx_->seed.initial_admin_password);
  if (!first) return tl::unexpected(first.error());
  if (auto k = accounts_.loadDeviceKey(data_dir); !k) return k;
  initial_password_file_ = *first;
  std::lock_guard<std::mutex> lock(ctx_->store_mu);
  if (auto p = detail::pruneAuditIfDue(*ctx_, true); !p) return p;
  auto version = ctx_->store->policyVersion();
  if (!version) return tl::unexpected(detail::internalError(version.error()));
  auto policy = detail::buildPolicy(*ctx_->store, ctx_->seed, *version);
  if (!policy) return tl::unexpected(detail::internalError(policy.error()));
  ctx_->setPolicy(std::make_shared<const Policy>(std::move(*policy)));
  return {};
}

ApiResult<detail::Resource*> AdminServiceImpl::resource(const std::string& collection) {
  auto it = resources_.find(collection);
  if (it == resources_.end()) {
    return tl::unexpected(detail::notFound("no collection " + detail::shown(collection)));
  }
  return it->second.get();
}

ApiResult<Answer> AdminServiceImpl::list(const std::string& collection, const ListQuery& q) {
  auto r = resource(collection);
  if (!r) return tl::unexpected(r.error());
  return (*r)->list(q);
}

ApiResult<Answer> AdminServiceImpl::get(const std::string& collection, const std::string& key) {
  auto r = resource(collection);
  if (!r) return tl::unexpected(r.error());
  return (*r)->get(key);
}

ApiResult<Answer> AdminServiceImpl::create(const std::string& collection, const json& body,
                                           const Change& change) {
  auto r = resource(collection);
  if (!r) return tl::unexpected(r.error());
  return (*r)->create(body, change);
}

ApiResult<Answer> AdminServiceImpl::update(const std::string& collection, const std::string& key,
                                           const json& body, const Change& change) {
  auto r = resource(collection);
  if (!r) return tl::unexpected(r.error());
  return (*r)->update(key, body, change);
}

ApiResult<Answer> AdminServiceImpl::remove(const std::string& collection, const std::string& key,
                                           const Change& change) {
  auto r = resource(collection);
  if (!r) return tl::unexpected(r.error());
  return (*r)->remove(key, change);
}

ApiResult<Answer> AdminServiceImpl::setUserPassword(const std::string& address, const json& body,
                                                    const Change& change) {
  return users_->setPassword(address, body, change);
}

ApiResult<Answer> AdminServiceImpl::serviceAction(const std::string& name,
                                                  const std::string& action, const Change& change) {
  return services_->action(name, action, change);
}

json AdminServiceImpl::status() {
  NodeStatus s = ctx_->node.status();
  json listeners = json::array();
  for (const ListenerInfo& l : s.listeners) {
    listeners.push_back({{"transport", l.transport},
                         {"address", l.address},
                         {"port", l.port},
                         {"service", l.service}});
  }
  json counters = json::object();
  for (const auto& [name, value] : s.counters) counters[name] = value;
  counters["admin.logins_failed"] = accounts_.failedLogins();
  counters["admin.logins_rate_limited"] = accounts_.rateLimitedLogins();
  int64_t uptime = ctx_->clock.unixSeconds() - s.started_at;
  return json{
      {"version", s.version},
      {"node", s.node},
      {"started_at", detail::rfc3339(s.started_at)},
      {"uptime_s", uptime > 0 ? uptime : 0},
      {"policy_version", ctx_->policy()->version},
      {"listeners", std::move(listeners)},
      {"counters", std::move(counters)},
      {"store",
       {{"backend", "sqlite"}, {"path", s.store_path}, {"schema_version", s.schema_version}}}};
}

ApiResult<Session> AdminServiceImpl::login(const std::string& username, const std::string& password,
                                           const std::string& source_address,
                                           const std::string& device_token,
                                           int64_t* retry_after_s) {
  return accounts_.login(username, password, source_address, device_token, retry_after_s);
}

ApiResult<void> AdminServiceImpl::logout(const std::string& token) {
  return accounts_.logout(token);
}

ApiResult<Session> AdminServiceImpl::authenticate(const std::string& token) {
  return accounts_.authenticate(token);
}

ApiResult<void> AdminServiceImpl::changeAdminPassword(const std::string& name, const json& body,
                                                      const Session& session,
                                                      const std::string& source_address) {
  return accounts_.changePassword(name, body, session, source_address);
}

}  // namespace herald::admin
