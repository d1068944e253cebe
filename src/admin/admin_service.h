#pragma once

// AdminService: the admin objects of docs/admin-api.md (local domains, users, service
// parameters, services, status, audit log, administrators) with their validation, their
// store writes (one SQLite transaction per change, audit entry included), and live apply:
// after COMMIT it builds the next Policy and waits for NodeControl::applyPolicy().
// It speaks JSON values (nlohmann::json) but knows nothing of HTTP: HttpApi maps requests to
// these calls and ApiError to HTTP answers. Thread-safe: changes are serialized by one mutex.
//
//   AdminService admin(store_path, node_control, seed);
//   auto r = admin.create("domains", {{"name", "example.org"}}, ctx);
//   // r->item, r->policy_version; or r.error(): {422, "invalid_field", "...", "name", "fqdn"}

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "admin/node_control.h"
#include "policy/policy.h"
#include "common/clock.h"

namespace herald::admin {

// One error answer of the API (docs/admin-api.md, Errors).
struct ApiError {
  int status = 500;
  std::string code;     // "invalid_field", "not_found", ...
  std::string message;  // one sentence, never a password
  std::string field;    // validation errors: the JSON member or query parameter
  std::string rule;     // validation errors: "fqdn", "length", ...
  std::string related;  // cross-field rules: the other parameter
  int64_t retry_after_s = 0;  // 429: seconds before trying again (the Retry-After header)
};
template <class T>
using ApiResult = tl::expected<T, ApiError>;

// Who asks: the administrator (from the token) and the client address.
struct Actor {
  std::string name;
  std::string source_address;
};

struct Change {
  Actor actor;
  std::optional<int64_t> if_match;  // the version the client last saw (If-Match), if any
};

struct ListQuery {
  int64_t limit = 100;  // checked by the service: 1..1000
  int64_t offset = 0;
  std::string q;
  // Collection filters: users "domain"; params "scope"; audit "before_id", "object_type",
  // "actor". Unknown keys are ignored.
  std::map<std::string, std::string> filters;
};

struct Answer {
  nlohmann::json item;  // one object, or the array of a list
  int64_t total = 0;    // lists: matches before limit/offset
  int64_t version = 0;  // the object's version (ETag); 0 when it has none
  int64_t policy_version = 0;
};

// What the node's config file says at start: imported or used as defaults.
struct Seed {
  std::string node_name;
  std::vector<std::string> config_domains;  // sip.domains, added when missing (actor "config")
  ClusterParams cluster_defaults;           // federation_routing_fqdn = hostname
  NodeParams node_defaults;                 // from the config file
  // admin.initial_password (or HERALD_ADMIN_PASSWORD): the first administrator's password
  // when the store has none. Empty: a random one, written to <data_dir>/initial-admin-password.
  std::string initial_admin_password;
  // admin.audit_retention_days / _rows: older entries are deleted, and beyond the row count the
  // oldest, failed logins first.
  int64_t audit_retention_days = 365;
  int64_t audit_retention_rows = 100000;
};

struct Session {
  std::string token;
  std::string username;
  int64_t expires_at = 0;  // unix seconds (idle deadline)
  std::string device_token;  // login's answer only: see login()
};

class AdminService {
 public:
  // Opens its own connection to the SQLite store at `store_path` (migrated by the node before).
  // Creates the first administrator when there is none: its random password is written to
  // `<data_dir>/initial-admin-password` (0600) and returned by initialPasswordFile() for the
  // log. `clock` (sessions, rate limit, timestamps) must outlive the service.
  static ApiResult<std::unique_ptr<AdminService>> open(
      const std::filesystem::path& store_path, const std::filesystem::path& data_dir,
      NodeControl& node, Seed seed, const Clock& clock = SystemClock::instance());
  virtual ~AdminService() = default;

  // The file holding the first administrator's password when open() created it. (Not pure,
  // so that fakes of this interface need not define it.)
  virtual std::optional<std::filesystem::path> initialPasswordFile() const { return std::nullopt; }

  // The policy the store holds now (built at open; the node applies it at start).
  virtual PolicyPtr policy() const = 0;

  // collection: "domains", "federated-domains", "users", "params", "services", "audit".
  virtual ApiResult<Answer> list(const std::string& collection, const ListQuery& q) = 0;
  virtual ApiResult<Answer> get(const std::string& collection, const std::string& key) = 0;
  virtual ApiResult<Answer> create(const std::string& collection, const nlohmann::json& body,
                                   const Change& change) = 0;
  // PATCH of domains and users; PUT {"value": ...} of params.
  virtual ApiResult<Answer> update(const std::string& collection, const std::string& key,
                                   const nlohmann::json& body, const Change& change) = 0;
  // DELETE; for params a reset (answers the parameter after it).
  virtual ApiResult<Answer> remove(const std::string& collection, const std::string& key,
                                   const Change& change) = 0;
  // PUT /users/{address}/password {"password": ...}.
  virtual ApiResult<Answer> setUserPassword(const std::string& address, const nlohmann::json& body,
                                            const Change& change) = 0;
  // POST /services/{name}/{activate|deactivate|restart}.
  virtual ApiResult<Answer> serviceAction(const std::string& name, const std::string& action,
                                          const Change& change) = 0;
  // GET /status as its JSON object.
  virtual nlohmann::json status() = 0;

  // Administrators (docs/admin-api.md, Authentication). login: 401 / 429 (retry_after set).
  // `device_token`: the one a former login of this account from this device answered, or "".
  virtual ApiResult<Session> login(const std::string& username, const std::string& password,
                                   const std::string& source_address,
                                   const std::string& device_token, int64_t* retry_after_s) = 0;
  ApiResult<Session> login(const std::string& username, const std::string& password,
                           const std::string& source_address, int64_t* retry_after_s) {
    return login(username, password, source_address, "", retry_after_s);
  }
  virtual ApiResult<void> logout(const std::string& token) = 0;
  // The session of a valid token (and moves its idle deadline on), or 401.
  virtual ApiResult<Session> authenticate(const std::string& token) = 0;
  virtual ApiResult<void> changeAdminPassword(const std::string& name, const nlohmann::json& body,
                                              const Session& session,
                                              const std::string& source_address) = 0;
};

}  // namespace herald::admin
