#include "admin/internal/users.h"

#include <array>

#include "admin/internal/change_runner.h"
#include "admin/internal/fields.h"
#include "admin/internal/text_rules.h"
#include "registrar/digest.h"

namespace herald::admin::detail {
namespace {

using nlohmann::json;

// In the order of the contract's table, which is the order of validation.
constexpr std::array<std::string_view, 9> kFields = {
    "address",    "username",   "domain", "display_name", "password", "registered_contacts",
    "created_at", "updated_at", "version"};
constexpr std::array<std::string_view, 1> kPasswordFields = {"password"};
constexpr size_t kMinPassword = 8;
constexpr size_t kMaxPassword = 128;

void setCredentials(store::UserRecord& u, const std::string& password) {
  using registrar::DigestAlgorithm;
  u.ha1_md5 = registrar::computeHa1(DigestAlgorithm::Md5, u.username, u.domain, password);
  u.ha1_sha256 = registrar::computeHa1(DigestAlgorithm::Sha256, u.username, u.domain, password);
}

std::string address(const store::UserRecord& u) { return u.username + "@" + u.domain; }

ApiResult<std::string> checkedPassword(const json& body) {
  auto password = stringMember(body, "password", true);
  if (!password) return tl::unexpected(password.error());
  if (auto ok = checkPassword("password", **password, kMinPassword, kMaxPassword); !ok) {
    return tl::unexpected(ok.error());
  }
  return std::move(**password);
}

ApiResult<std::optional<std::string>> checkedDisplayName(const json& body) {
  auto name = stringMember(body, "display_name", false);
  if (!name) return tl::unexpected(name.error());
  if (*name) {
    if (auto ok = checkText("display_name", **name, 128); !ok) return tl::unexpected(ok.error());
  }
  return name;
}

}  // namespace

json Users::userJson(const store::UserRecord& u) {
  return json{{"address", address(u)},
              {"username", u.username},
              {"domain", u.domain},
              {"display_name", u.display_name},
              {"registered_contacts", ctx_.node.registeredContacts(u.username, u.domain)},
              {"created_at", rfc3339(u.created_at)},
              {"updated_at", rfc3339(u.updated_at)},
              {"version", u.version}};
}

// "user@domain": the user part is case-sensitive, the domain is not. A user name has no '@'.
ApiResult<store::UserRecord> Users::find(store::Store& s, const std::string& key) {
  size_t at = key.rfind('@');
  if (at == std::string::npos) return tl::unexpected(notFound("no user " + shown(key)));
  auto found = s.findUser(key.substr(0, at), normalizeDomain(key.substr(at + 1)));
  if (!found) return tl::unexpected(internalError(found.error()));
  if (!*found) return tl::unexpected(notFound("no user " + shown(key)));
  return std::move(**found);
}

ApiResult<Answer> Users::list(const ListQuery& q) {
  if (auto ok = checkPaging(q); !ok) return tl::unexpected(ok.error());
  std::lock_guard<std::mutex> lock(ctx_.store_mu);
  auto page =
      ctx_.store->queryUsers({normalizeDomain(filter(q, "domain")), q.q, q.limit, q.offset});
  if (!page) return tl::unexpected(internalError(page.error()));
  Answer a{json::array(), page->total, 0, ctx_.policy()->version};
  for (const auto& u : page->items) a.item.push_back(userJson(u));
  return a;
}

ApiResult<Answer> Users::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(ctx_.store_mu);
  auto u = find(*ctx_.store, key);
  if (!u) return tl::unexpected(u.error());
  return Answer{userJson(*u), 0, u->version, ctx_.policy()->version};
}

ApiResult<Answer> Users::create(const json& body, const Change& change) {
  return configChange(ctx_, [&](store::Store& s, int64_t now) -> ApiResult<Outcome> {
    if (auto known = checkKnownFields(body, kFields); !known) {
      return tl::unexpected(known.error());
    }
    auto username = stringMember(body, "username", true);
    if (!username) return tl::unexpected(username.error());
    if (!isSipUser(**username)) {
      return tl::unexpected(brokenRule(
          "username", "sip_user",
          "a user name has 1 to 64 letters, digits or - _ . ! ~ * ' ( ) & = + $ , ; ? /"));
    }
    auto raw_domain = stringMember(body, "domain", true);
    if (!raw_domain) return tl::unexpected(raw_domain.error());
    std::string domain = normalizeDomain(**raw_domain);
    auto local = isFqdn(domain) ? s.findDomain(domain)
                                : Result<std::optional<store::DomainRecord>>(std::nullopt);
    if (!local) return tl::unexpected(internalError(local.error()));
    if (!*local) {
      return tl::unexpected(brokenRule("domain", "local_domain",
                                       shown(domain) + " is not a local domain of this node"));
    }
    auto display_name = checkedDisplayName(body);
    if (!display_name) return tl::unexpected(display_name.error());
    auto password = checkedPassword(body);
    if (!password) return tl::unexpected(password.error());

    store::UserRecord u;
    u.username = **username;
    u.domain = domain;
    u.display_name = display_name->value_or("");
    u.created_at = u.updated_at = now;
    setCredentials(u, *password);
    auto existing = s.findUser(u.username, u.domain);
    if (!existing) return tl::unexpected(internalError(existing.error()));
    if (*existing) {
      return tl::unexpected(
          conflict("user " + address(u) + " exists already", "username", "unique"));
    }
    if (auto added = s.addUser(u); !added) return tl::unexpected(internalError(added.error()));
    Outcome out{Answer{userJson(u), 0, u.version, 0}, std::nullopt, nullptr};
    out.audit = auditEntry(change.actor, "create", "user", address(u), nullptr, out.answer.item);
    out.after_commit = [this, u] {
      ctx_.node.userChanged(u.username, u.domain, u.ha1_md5, u.ha1_sha256);
    };
    return out;
  });
}

ApiResult<Answer> Users::update(const std::string& key, const json& body, const Change& change) {
  return configChange(ctx_, [&](store::Store& s, int64_t now) -> ApiResult<Outcome> {
    auto u = find(s, key);
    if (!u) return tl::unexpected(u.error());
    if (auto ok = checkIfMatch(change, u->version); !ok) return tl::unexpected(ok.error());
    if (auto known = checkKnownFields(body, kFields); !known) {
      return tl::unexpected(known.error());
    }
    if (auto same = checkIdentity(body, "username", u->username); !same) {
      return tl::unexpected(same.error());
    }
    if (auto same = checkIdentity(body, "domain", u->domain, normalizeDomain); !same) {
      return tl::unexpected(same.error());
    }
    auto display_name = checkedDisplayName(body);
    if (!display_name) return tl::unexpected(display_name.error());
    if (body.contains("password")) {
      return tl::unexpected(
          brokenRule("password", "read_only",
                     "the password is not changed here: use PUT /api/v1/users/{address}/password"));
    }
    Outcome out{Answer{userJson(*u), 0, u->version, 0}, std::nullopt, nullptr};
    if (!*display_name || **display_name == u->display_name) return out;  // no-op
    store::UserRecord after = *u;
    after.display_name = **display_name;
    after.version = u->version + 1;
    after.updated_at = now;
    if (auto w = s.updateUser(after); !w) return tl::unexpected(internalError(w.error()));
    out.answer = Answer{userJson(after), 0, after.version, 0};
    out.audit =
        auditEntry(change.actor, "update", "user", address(after), userJson(*u), out.answer.item);
    out.after_commit = [this, after] {
      ctx_.node.userChanged(after.username, after.domain, after.ha1_md5, after.ha1_sha256);
    };
    return out;
  });
}

ApiResult<Answer> Users::remove(const std::string& key, const Change& change) {
  return configChange(ctx_, [&](store::Store& s, int64_t) -> ApiResult<Outcome> {
    auto u = find(s, key);
    if (!u) return tl::unexpected(u.error());
    if (auto ok = checkIfMatch(change, u->version); !ok) return tl::unexpected(ok.error());
    if (auto w = s.deleteUser(u->username, u->domain); !w) {
      return tl::unexpected(internalError(w.error()));
    }
    Outcome out{Answer{userJson(*u), 0, u->version, 0}, std::nullopt, nullptr};
    out.audit = auditEntry(change.actor, "delete", "user", address(*u), out.answer.item, nullptr);
    out.after_commit = [this, user = *u] { ctx_.node.userDeleted(user.username, user.domain); };
    return out;
  });
}

ApiResult<Answer> Users::setPassword(const std::string& key, const json& body,
                                     const Change& change) {
  return configChange(ctx_, [&](store::Store& s, int64_t now) -> ApiResult<Outcome> {
    auto u = find(s, key);
    if (!u) return tl::unexpected(u.error());
    if (auto ok = checkIfMatch(change, u->version); !ok) return tl::unexpected(ok.error());
    if (auto known = checkKnownFields(body, kPasswordFields); !known) {
      return tl::unexpected(known.error());
    }
    auto password = checkedPassword(body);
    if (!password) return tl::unexpected(password.error());
    store::UserRecord after = *u;
    setCredentials(after, *password);
    after.version = u->version + 1;
    after.updated_at = now;
    if (auto w = s.updateUser(after); !w) return tl::unexpected(internalError(w.error()));
    Outcome out{Answer{userJson(after), 0, after.version, 0}, std::nullopt, nullptr};
    // Neither the password nor its hashes go into the audit log.
    out.audit = auditEntry(change.actor, "password", "user", address(after), nullptr, nullptr);
    out.after_commit = [this, after] {
      ctx_.node.userChanged(after.username, after.domain, after.ha1_md5, after.ha1_sha256);
    };
    return out;
  });
}

}  // namespace herald::admin::detail
