#include "admin/internal/domains.h"

#include <array>

#include "admin/internal/change_runner.h"
#include "admin/internal/fields.h"
#include "admin/internal/text_rules.h"
#include "common/log.h"

namespace herald::admin::detail {
namespace {

using nlohmann::json;

// In the order of the contract's table, which is the order of validation.
constexpr std::array<std::string_view, 6> kFields = {"name",       "description", "user_count",
                                                     "created_at", "updated_at",  "version"};

json domainJson(const store::DomainRecord& d) {
  return json{{"name", d.name},
              {"description", d.description},
              {"user_count", d.user_count},
              {"created_at", rfc3339(d.created_at)},
              {"updated_at", rfc3339(d.updated_at)},
              {"version", d.version}};
}

Answer itemAnswer(const store::DomainRecord& d) { return Answer{domainJson(d), 0, d.version, 0}; }

// The domain named by a URL key, or 404.
ApiResult<store::DomainRecord> findDomain(store::Store& s, const std::string& key) {
  auto found = s.findDomain(normalizeDomain(key));
  if (!found) return tl::unexpected(internalError(found.error()));
  if (!*found) return tl::unexpected(notFound("no domain " + shown(key)));
  return std::move(**found);
}

// The create of `body` by `actor`, as a ChangeFn.
ApiResult<Outcome> createDomain(store::Store& s, int64_t now, const json& body,
                                const Actor& actor) {
  if (auto known = checkKnownFields(body, kFields); !known) return tl::unexpected(known.error());
  auto raw = stringMember(body, "name", true);
  if (!raw) return tl::unexpected(raw.error());
  std::string name = normalizeDomain(**raw);
  if (std::string why = fqdnProblem(name); !why.empty()) {
    return tl::unexpected(
        brokenRule("name", "fqdn", "'" + shown(**raw) + "' is not a domain name: " + why));
  }
  auto description = stringMember(body, "description", false);
  if (!description) return tl::unexpected(description.error());
  if (*description) {
    if (auto ok = checkText("description", **description, 512); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  auto existing = s.findDomain(name);
  if (!existing) return tl::unexpected(internalError(existing.error()));
  if (*existing) {
    return tl::unexpected(conflict("domain " + name + " exists already", "name", "unique"));
  }
  auto federated = s.findFederatedDomain(name);
  if (!federated) return tl::unexpected(internalError(federated.error()));
  if (*federated) {
    return tl::unexpected(conflict(name + " is a federated domain (another organisation's); a "
                                          "domain is either local or federated (delete the "
                                          "federated domain first)",
                                   "name", "federated_domain"));
  }
  store::DomainRecord d{name, description->value_or(""), 1, now, now, 0};
  if (auto added = s.addDomain(d); !added) return tl::unexpected(internalError(added.error()));
  // A domain created now may already have users (added offline while it was not local).
  auto stored = s.findDomain(name);
  if (!stored || !*stored) return tl::unexpected(internalError(Error{ErrorCode::Internal, "lost"}));
  Outcome out{itemAnswer(**stored), std::nullopt, nullptr};
  out.audit = auditEntry(actor, "create", "domain", name, nullptr, out.answer.item);
  return out;
}

}  // namespace

ApiResult<Answer> Domains::list(const ListQuery& q) {
  if (auto ok = checkPaging(q); !ok) return tl::unexpected(ok.error());
  std::lock_guard<std::mutex> lock(ctx_.store_mu);
  auto page = ctx_.store->queryDomains({q.q, q.limit, q.offset});
  if (!page) return tl::unexpected(internalError(page.error()));
  Answer a{json::array(), page->total, 0, ctx_.policy()->version};
  for (const auto& d : page->items) a.item.push_back(domainJson(d));
  return a;
}

ApiResult<Answer> Domains::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(ctx_.store_mu);
  auto d = findDomain(*ctx_.store, key);
  if (!d) return tl::unexpected(d.error());
  Answer a = itemAnswer(*d);
  a.policy_version = ctx_.policy()->version;
  return a;
}

ApiResult<Answer> Domains::create(const json& body, const Change& change) {
  return configChange(
      ctx_, [&](store::Store& s, int64_t now) { return createDomain(s, now, body, change.actor); });
}

ApiResult<Answer> Domains::update(const std::string& key, const json& body, const Change& change) {
  return configChange(ctx_, [&](store::Store& s, int64_t now) -> ApiResult<Outcome> {
    auto d = findDomain(s, key);
    if (!d) return tl::unexpected(d.error());
    if (auto ok = checkIfMatch(change, d->version); !ok) return tl::unexpected(ok.error());
    if (auto known = checkKnownFields(body, kFields); !known) {
      return tl::unexpected(known.error());
    }
    if (auto same = checkIdentity(body, "name", d->name, normalizeDomain); !same) {
      return tl::unexpected(same.error());
    }
    auto description = stringMember(body, "description", false);
    if (!description) return tl::unexpected(description.error());
    if (*description) {
      if (auto ok = checkText("description", **description, 512); !ok) {
        return tl::unexpected(ok.error());
      }
    }
    Outcome out{itemAnswer(*d), std::nullopt, nullptr};
    if (!*description || **description == d->description) return out;  // no-op
    store::DomainRecord after = *d;
    after.description = **description;
    after.version = d->version + 1;
    after.updated_at = now;
    if (auto w = s.updateDomain(after); !w) return tl::unexpected(internalError(w.error()));
    out.answer = itemAnswer(after);
    out.audit =
        auditEntry(change.actor, "update", "domain", d->name, domainJson(*d), out.answer.item);
    return out;
  });
}

ApiResult<Answer> Domains::remove(const std::string& key, const Change& change) {
  return configChange(ctx_, [&](store::Store& s, int64_t) -> ApiResult<Outcome> {
    auto d = findDomain(s, key);
    if (!d) return tl::unexpected(d.error());
    if (auto ok = checkIfMatch(change, d->version); !ok) return tl::unexpected(ok.error());
    if (d->user_count > 0) {
      return tl::unexpected(
          conflict("domain " + d->name + " still has " + std::to_string(d->user_count) +
                   (d->user_count == 1 ? " user" : " users") + "; delete them first"));
    }
    if (auto w = s.deleteDomain(d->name); !w) return tl::unexpected(internalError(w.error()));
    Outcome out{itemAnswer(*d), std::nullopt, nullptr};
    out.audit = auditEntry(change.actor, "delete", "domain", d->name, out.answer.item, nullptr);
    return out;
  });
}

ApiResult<void> Domains::importConfigDomains(const std::vector<std::string>& names) {
  const Actor config{"config", ""};
  for (const std::string& raw : names) {
    std::string name = normalizeDomain(raw);
    if (!isFqdn(name)) {
      HLOG_WARN(Admin, "sip.domains: '{}' is not a domain name; not imported", shown(raw));
      continue;
    }
    auto done = startupChange(ctx_, [&](store::Store& s, int64_t now) -> ApiResult<Outcome> {
      auto existing = s.findDomain(name);
      if (!existing) return tl::unexpected(internalError(existing.error()));
      if (*existing) return Outcome{};  // the store is the truth once it has the domain
      auto federated = s.findFederatedDomain(name);
      if (!federated) return tl::unexpected(internalError(federated.error()));
      if (*federated) {
        HLOG_WARN(Admin, "sip.domains: {} is a federated domain; not imported as local", name);
        return Outcome{};
      }
      return createDomain(s, now, json{{"name", name}}, config);
    });
    if (!done) return tl::unexpected(done.error());
  }
  return {};
}

}  // namespace herald::admin::detail
