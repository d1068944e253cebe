#include "admin/internal/federated_domains.h"

#include <idn2.h>

#include <array>
#include <utility>

#include "admin/internal/change_runner.h"
#include "admin/internal/fields.h"
#include "admin/internal/text_rules.h"

namespace herald::admin::detail {
namespace {

using nlohmann::json;

// In the order of the contract's table, which is the order of validation.
constexpr std::array<std::string_view, 12> kFields = {
    "name",       "description", "integration", "direct_federation", "identity_policy",
    "discovery",  "via_domain",  "discovered",  "incoming_acl",      "created_at",
    "updated_at", "version"};

template <class E>
struct Named {
  std::string_view name;
  E value;
};

constexpr std::array<Named<policy::Integration>, 3> kIntegrations = {{
    {"sip", policy::Integration::Sip},
    {"lync", policy::Integration::Lync},
    {"clearinghouse", policy::Integration::Clearinghouse},
}};
constexpr std::array<Named<policy::IdentityPolicy>, 3> kIdentityPolicies = {{
    {"subjects", policy::IdentityPolicy::Subjects},
    {"rfc5922", policy::IdentityPolicy::Rfc5922},
    {"srv-target", policy::IdentityPolicy::SrvTarget},
}};
constexpr std::array<Named<policy::Discovery>, 3> kDiscoveries = {{
    {"sipfederationtls", policy::Discovery::SipFederationTls},
    {"rfc3263", policy::Discovery::Rfc3263},
    {"both", policy::Discovery::Both},
}};

template <class E, size_t N>
std::optional<E> byName(const std::array<Named<E>, N>& table, std::string_view name) {
  for (const auto& n : table) {
    if (n.name == name) return n.value;
  }
  return std::nullopt;
}

template <class E, size_t N>
std::string choices(const std::array<Named<E>, N>& table) {
  std::string out;
  for (const auto& n : table) out += (out.empty() ? "" : ", ") + std::string(n.name);
  return out;
}

// An enum member: absent -> nullopt, else one of `table`'s names (400 type, 422 rule `enum`).
template <class E, size_t N>
ApiResult<std::optional<std::string>> enumMember(const json& body, std::string_view field,
                                                 bool required,
                                                 const std::array<Named<E>, N>& table) {
  auto v = stringMember(body, field, required);
  if (!v || !*v) return v;
  if (!byName(table, **v)) {
    return tl::unexpected(
        brokenRule(field, "enum",
                   std::string(field) + " '" + shown(**v) + "' is not one of " + choices(table)));
  }
  return v;
}

ApiResult<std::optional<bool>> boolMember(const json& body, std::string_view field) {
  auto it = body.find(field);
  if (it == body.end()) return std::optional<bool>();
  if (!it->is_boolean()) {
    return tl::unexpected(wrongType(field, std::string(field) + " must be true or false"));
  }
  return std::optional<bool>(it->get<bool>());
}

json domainJson(const store::FederatedDomainRecord& d) {
  return json{{"name", d.name},
              {"description", d.description},
              {"integration", d.integration},
              {"direct_federation", d.direct_federation},
              {"identity_policy", d.identity_policy},
              {"discovery", d.discovery},
              {"via_domain", d.via_domain},
              {"discovered", d.discovered},
              {"incoming_acl", d.name},
              {"created_at", rfc3339(d.created_at)},
              {"updated_at", rfc3339(d.updated_at)},
              {"version", d.version}};
}

Answer itemAnswer(const store::FederatedDomainRecord& d) {
  return Answer{domainJson(d), 0, d.version, 0};
}

ApiResult<store::FederatedDomainRecord> findOne(store::Store& s, const std::string& key) {
  auto name = federatedName(key);
  auto found = s.findFederatedDomain(name.value_or(normalizeDomain(key)));
  if (!found) return tl::unexpected(internalError(found.error()));
  if (!*found) return tl::unexpected(notFound("no federated domain " + shown(key)));
  return std::move(**found);
}

ApiResult<void> checkDescription(const json& body, std::string* out) {
  auto description = stringMember(body, "description", false);
  if (!description) return tl::unexpected(description.error());
  if (!*description) return {};
  if (auto ok = checkText("description", **description, 512); !ok) return ok;
  *out = **description;
  return {};
}

// The members after name and description, applied onto `d` (create: a fresh record with the
// defaults still unset; update: the stored one). `creating` makes integration required.
ApiResult<void> applyMembers(const json& body, bool creating, store::FederatedDomainRecord* d) {
  auto integration = enumMember(body, "integration", creating, kIntegrations);
  if (!integration) return tl::unexpected(integration.error());
  auto direct = boolMember(body, "direct_federation");
  if (!direct) return tl::unexpected(direct.error());
  auto identity = enumMember(body, "identity_policy", false, kIdentityPolicies);
  if (!identity) return tl::unexpected(identity.error());
  auto discovery = enumMember(body, "discovery", false, kDiscoveries);
  if (!discovery) return tl::unexpected(discovery.error());
  auto via = stringMember(body, "via_domain", false);
  if (!via) return tl::unexpected(via.error());

  if (*integration) d->integration = **integration;
  if (*direct) d->direct_federation = **direct;
  if (*identity) {
    d->identity_policy = **identity;
  } else if (creating) {
    // Microsoft edges present the name their SRV record points to (spec §5.1 item 3).
    d->identity_policy = d->integration == "lync" ? "srv-target" : "rfc5922";
  }
  if (*discovery) {
    d->discovery = **discovery;
  } else if (creating) {
    d->discovery = "both";
  }
  if (*via) {
    if ((*via)->empty()) {
      d->via_domain.clear();
    } else {
      auto name = federatedName(**via);
      std::string why = name ? fqdnProblem(*name) : "it is not a valid internationalized name";
      if (!why.empty()) {
        return tl::unexpected(
            brokenRule("via_domain", "fqdn",
                       "via_domain '" + shown(**via) + "' is not a domain name: " + why));
      }
      if (*name == d->name) {
        return tl::unexpected(brokenRule("via_domain", "not_self",
                                         "via_domain names the domain itself; leave it empty"));
      }
      d->via_domain = *name;
    }
  }
  if (!d->via_domain.empty() && d->integration != "clearinghouse") {
    return tl::unexpected(brokenRule(
        "via_domain", "clearinghouse_only",
        "via_domain is the clearinghouse a domain is reached through; it applies only to "
        "integration 'clearinghouse' (this domain's is '" +
            d->integration + "')"));
  }
  return {};
}

ApiResult<void> checkNotLocal(store::Store& s, const std::string& name) {
  auto local = s.findDomain(name);
  if (!local) return tl::unexpected(internalError(local.error()));
  if (*local) {
    return tl::unexpected(conflict(name + " is a local domain of this node; a domain is either "
                                          "local or federated (delete the local domain first)",
                                   "name", "local_domain"));
  }
  return {};
}

}  // namespace

std::optional<std::string> federatedName(std::string_view raw) {
  std::string name = normalizeDomain(raw);
  bool ascii = true;
  for (unsigned char c : name) ascii = ascii && c < 0x80;
  if (ascii) return name;
  char* out = nullptr;
  int rc = idn2_to_ascii_8z(name.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK) return std::nullopt;
  std::string a_label = normalizeDomain(out);
  idn2_free(out);
  return a_label;
}

std::optional<policy::FederatedDomain> toPolicy(const store::FederatedDomainRecord& r) {
  auto integration = byName(kIntegrations, r.integration);
  auto identity = byName(kIdentityPolicies, r.identity_policy);
  auto discovery = byName(kDiscoveries, r.discovery);
  if (!integration || !identity || !discovery) return std::nullopt;
  return policy::FederatedDomain{r.name,    r.description, *integration, r.direct_federation,
                                 *identity, *discovery,    r.via_domain, r.discovered};
}

ApiResult<Answer> FederatedDomains::list(const ListQuery& q) {
  if (auto ok = checkPaging(q); !ok) return tl::unexpected(ok.error());
  std::lock_guard<std::mutex> lock(ctx_.store_mu);
  auto page = ctx_.store->queryFederatedDomains({q.q, q.limit, q.offset});
  if (!page) return tl::unexpected(internalError(page.error()));
  Answer a{json::array(), page->total, 0, ctx_.policy()->version};
  for (const auto& d : page->items) a.item.push_back(domainJson(d));
  return a;
}

ApiResult<Answer> FederatedDomains::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(ctx_.store_mu);
  auto d = findOne(*ctx_.store, key);
  if (!d) return tl::unexpected(d.error());
  Answer a = itemAnswer(*d);
  a.policy_version = ctx_.policy()->version;
  return a;
}

ApiResult<Answer> FederatedDomains::create(const json& body, const Change& change) {
  return configChange(ctx_, [&](store::Store& s, int64_t now) -> ApiResult<Outcome> {
    if (auto known = checkKnownFields(body, kFields); !known) {
      return tl::unexpected(known.error());
    }
    auto raw = stringMember(body, "name", true);
    if (!raw) return tl::unexpected(raw.error());
    auto name = federatedName(**raw);
    if (!name) {
      return tl::unexpected(brokenRule(
          "name", "idna",
          "'" + shown(**raw) + "' is not a valid internationalized domain name (IDNA2008)"));
    }
    if (std::string why = fqdnProblem(*name); !why.empty()) {
      return tl::unexpected(
          brokenRule("name", "fqdn", "'" + shown(**raw) + "' is not a domain name: " + why));
    }
    if (name->find('.') == std::string::npos) {
      return tl::unexpected(brokenRule(
          "name", "fqdn",
          "'" + shown(**raw) + "' is a single label; another organisation's domain has a dot"));
    }
    store::FederatedDomainRecord d;
    d.name = *name;
    if (auto ok = checkDescription(body, &d.description); !ok) return tl::unexpected(ok.error());
    if (auto ok = applyMembers(body, true, &d); !ok) return tl::unexpected(ok.error());
    if (auto ok = checkNotLocal(s, d.name); !ok) return tl::unexpected(ok.error());
    auto existing = s.findFederatedDomain(d.name);
    if (!existing) return tl::unexpected(internalError(existing.error()));
    if (*existing) {
      return tl::unexpected(
          conflict("federated domain " + d.name + " exists already", "name", "unique"));
    }
    d.version = 1;
    d.created_at = d.updated_at = now;
    if (auto w = s.addFederatedDomain(d); !w) return tl::unexpected(internalError(w.error()));
    Outcome out{itemAnswer(d), std::nullopt, nullptr};
    out.audit =
        auditEntry(change.actor, "create", "federated_domain", d.name, nullptr, out.answer.item);
    return out;
  });
}

ApiResult<Answer> FederatedDomains::update(const std::string& key, const json& body,
                                           const Change& change) {
  return configChange(ctx_, [&](store::Store& s, int64_t now) -> ApiResult<Outcome> {
    auto d = findOne(s, key);
    if (!d) return tl::unexpected(d.error());
    if (auto ok = checkIfMatch(change, d->version); !ok) return tl::unexpected(ok.error());
    if (auto known = checkKnownFields(body, kFields); !known) {
      return tl::unexpected(known.error());
    }
    auto same_name = [](std::string_view v) { return federatedName(v).value_or(std::string(v)); };
    if (auto same = checkIdentity(body, "name", d->name, +same_name); !same) {
      return tl::unexpected(same.error());
    }
    store::FederatedDomainRecord after = *d;
    if (auto ok = checkDescription(body, &after.description); !ok) {
      return tl::unexpected(ok.error());
    }
    if (auto ok = applyMembers(body, false, &after); !ok) return tl::unexpected(ok.error());
    // An administrator's edit adopts a domain that open federation discovered.
    after.discovered = false;
    Outcome out{itemAnswer(*d), std::nullopt, nullptr};
    if (domainJson(after) == domainJson(*d)) return out;  // no-op
    after.version = d->version + 1;
    after.updated_at = now;
    if (auto w = s.updateFederatedDomain(after); !w) {
      return tl::unexpected(internalError(w.error()));
    }
    out.answer = itemAnswer(after);
    out.audit = auditEntry(change.actor, "update", "federated_domain", d->name, domainJson(*d),
                           out.answer.item);
    return out;
  });
}

ApiResult<Answer> FederatedDomains::remove(const std::string& key, const Change& change) {
  return configChange(ctx_, [&](store::Store& s, int64_t) -> ApiResult<Outcome> {
    auto d = findOne(s, key);
    if (!d) return tl::unexpected(d.error());
    if (auto ok = checkIfMatch(change, d->version); !ok) return tl::unexpected(ok.error());
    if (auto w = s.deleteFederatedDomain(d->name); !w) {
      return tl::unexpected(internalError(w.error()));
    }
    Outcome out{itemAnswer(*d), std::nullopt, nullptr};
    out.audit =
        auditEntry(change.actor, "delete", "federated_domain", d->name, out.answer.item, nullptr);
    return out;
  });
}

}  // namespace herald::admin::detail
