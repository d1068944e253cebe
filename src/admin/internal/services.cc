#include "admin/internal/services.h"

#include <optional>

#include "admin/internal/change_runner.h"
#include "admin/internal/fields.h"
#include "admin/internal/service_names.h"
#include "admin/internal/text_rules.h"

namespace herald::admin::detail {
namespace {

using nlohmann::json;

std::string_view stateName(ServiceState s) {
  switch (s) {
    case ServiceState::Running:
      return "running";
    case ServiceState::Stopped:
      return "stopped";
    case ServiceState::Starting:
      return "starting";
    case ServiceState::Stopping:
      return "stopping";
  }
  return "stopped";
}

// The switch as the store holds it (activated unless a row says otherwise).
ApiResult<store::ServiceSwitchRecord> loadSwitch(store::Store& s, Service service) {
  auto rows = s.listServiceSwitches();
  if (!rows) return tl::unexpected(internalError(rows.error()));
  for (const auto& row : *rows) {
    if (row.name == serviceName(service)) return row;
  }
  return store::ServiceSwitchRecord{std::string(serviceName(service)), true, 1, 0};
}

}  // namespace

json Services::serviceJson(Service s, bool activated) {
  ServiceStatus status = ctx_.node.serviceStatus(s);
  json listeners = json::array();
  for (const ListenerInfo& l : status.listeners) {
    listeners.push_back({{"transport", l.transport}, {"address", l.address}, {"port", l.port}});
  }
  return json{{"name", serviceName(s)},
              {"description", serviceDescription(s)},
              {"activated", activated},
              {"state", stateName(status.state)},
              {"listeners", std::move(listeners)},
              {"since", rfc3339(status.since)}};
}

ApiResult<Answer> Services::list(const ListQuery& q) {
  if (auto ok = checkPaging(q); !ok) return tl::unexpected(ok.error());
  PolicyPtr policy = ctx_.policy();
  Answer a{json::array(), 0, 0, policy->version};
  for (Service s : kServices) a.item.push_back(serviceJson(s, policy->services.activated(s)));
  a.total = static_cast<int64_t>(a.item.size());
  return a;
}

ApiResult<Answer> Services::get(const std::string& key) {
  auto s = serviceByName(key);
  if (!s) return tl::unexpected(notFound("no service " + shown(key)));
  PolicyPtr policy = ctx_.policy();
  return Answer{serviceJson(*s, policy->services.activated(*s)), 0, 0, policy->version};
}

ApiResult<Answer> Services::action(const std::string& name, const std::string& action,
                                   const Change& change) {
  auto s = serviceByName(name);
  if (!s) return tl::unexpected(notFound("no service " + shown(name)));
  if (action == "activate") return setActivated(*s, true, change);
  if (action == "deactivate") return setActivated(*s, false, change);
  if (action == "restart") return restart(*s, change);
  return tl::unexpected(notFound("no action " + shown(action)));
}

ApiResult<Answer> Services::setActivated(Service service, bool activated, const Change& change) {
  // The state before: taken in the rehearsal, before the node applies anything.
  std::optional<json> before;
  return configChange(ctx_, [&](store::Store& s, int64_t now) -> ApiResult<Outcome> {
    auto row = loadSwitch(s, service);
    if (!row) return tl::unexpected(row.error());
    if (!before) before = serviceJson(service, row->activated);
    Outcome out{Answer{*before, 0, 0, 0}, std::nullopt, nullptr};
    if (row->activated == activated) return out;  // no-op, not audited
    store::ServiceSwitchRecord next{row->name, activated, row->version + 1, now};
    if (auto w = s.putServiceSwitch(next); !w) return tl::unexpected(internalError(w.error()));
    out.answer.item = serviceJson(service, activated);
    out.audit = auditEntry(change.actor, activated ? "activate" : "deactivate", "service",
                           row->name, *before, out.answer.item);
    return out;
  });
}

ApiResult<Answer> Services::restart(Service service, const Change& change) {
  std::optional<json> before;
  auto restarted = [&]() -> ApiResult<void> {
    if (!ctx_.policy()->services.activated(service)) {
      return tl::unexpected(
          conflict(std::string(serviceName(service)) + " is not activated; activate it instead"));
    }
    before = serviceJson(service, true);
    if (auto r = ctx_.node.restartService(service); !r) {
      return tl::unexpected(serviceFailed(r.error().detail));
    }
    return {};
  };
  return plainChange(
      ctx_,
      [&](store::Store&, int64_t) -> ApiResult<Outcome> {
        Outcome out{Answer{serviceJson(service, true), 0, 0, 0}, std::nullopt, nullptr};
        out.audit = auditEntry(change.actor, "restart", "service",
                               std::string(serviceName(service)), *before, out.answer.item);
        return out;
      },
      restarted);
}

}  // namespace herald::admin::detail
