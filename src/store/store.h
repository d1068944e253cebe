#pragma once

// Store: the repository interface for everything Herald keeps on disk. SqliteStore is the
// embedded implementation; a PostgreSQL one can satisfy the same interface for clusters.
// Calls block on disk: the SIP workers never call a Store directly, they go through
// StoreWorker.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace herald::store {

struct UserRecord {
  int64_t id = 0;
  std::string username;  // the user part of the address of record
  std::string domain;    // lower-case; also the digest realm
  std::string display_name;
  // RFC 8760 / RFC 2617 HA1 values, lower-case hex: H(username ":" realm ":" password).
  // The password itself is never stored.
  std::string ha1_md5;
  std::string ha1_sha256;
  int64_t created_at = 0;  // unix seconds
  int64_t version = 1;     // grows by one per change (admin API ETag)
  int64_t updated_at = 0;  // unix seconds; addUser() takes created_at when 0
};

struct BindingRecord {
  std::string aor;             // canonical "sip:user@domain"
  std::string contact;         // the Contact URI as registered
  std::string contact_params;  // header parameters of the Contact value, as written
  int q = -1;                  // thousandths; -1 when absent
  int64_t expires_at = 0;      // unix seconds
  std::string call_id;
  int64_t cseq = 0;
  std::string transport;  // "UDP", "TCP", "TLS"
  std::string source;     // "ip:port" the REGISTER came from
  std::string instance;   // +sip.instance, when given
  std::string user_agent;
};

struct OfflineMessage {
  int64_t id = 0;
  std::string recipient;  // canonical AOR
  std::string sender;     // the From header value (name-addr)
  std::string content_type;
  std::string body;
  int64_t received_at = 0;  // unix seconds
};

// --- The admin plane's objects (docs/admin-api.md) ---

// One page of a sorted list and the number of rows that matched before limit/offset.
template <class T>
struct Page {
  std::vector<T> items;
  int64_t total = 0;
};

// `q`: case-insensitive (ASCII) substring of the name; empty matches all. limit < 0: no limit.
struct PageQuery {
  std::string q;
  int64_t limit = -1;
  int64_t offset = 0;
};

// `domain`: exact (lower-case) domain or empty for all; `q` matches "user@domain" or the
// display name.
struct UserQuery {
  std::string domain;
  std::string q;
  int64_t limit = -1;
  int64_t offset = 0;
};

struct DomainRecord {
  std::string name;  // lower-case, no trailing dot
  std::string description;
  int64_t version = 1;
  int64_t created_at = 0;  // unix seconds
  int64_t updated_at = 0;
  int64_t user_count = 0;  // read only: users whose domain is this one
};

// Another organisation's domain (docs/admin-api.md, "Federated domains"; spec §4.1). Text
// fields hold the API's enum values; the admin plane validates them.
struct FederatedDomainRecord {
  std::string name;  // lower-case A-labels, no trailing dot
  std::string description;
  std::string integration;      // "sip", "lync", "clearinghouse"
  bool direct_federation = false;
  std::string identity_policy;  // "subjects", "rfc5922", "srv-target"
  std::string discovery;        // "sipfederationtls", "rfc3263", "both"
  std::string via_domain;       // clearinghouse: the hub's domain; "" = the cluster default
  bool discovered = false;      // added by open federation, not by an administrator
  int64_t version = 1;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// A service parameter that was set through the admin API. The row stays after a reset (value
// null) so that the parameter's version keeps growing.
struct ParamRecord {
  std::string name;                       // kebab-case
  std::string scope;                      // "cluster" or "node"
  std::string node;                       // node scope: the node name; "" for cluster scope
  std::optional<std::string> value_json;  // JSON text of the value; nullopt: reset to default
  int64_t version = 1;
  int64_t updated_at = 0;
};

struct ServiceSwitchRecord {
  std::string name;  // "sip-proxy", "sip-federation", "presence"
  bool activated = true;
  int64_t version = 1;
  int64_t updated_at = 0;
};

// An administrator's password, as a slow salted hash; the password itself is never stored.
struct AdminRecord {
  std::string name;
  std::string algorithm;  // "pbkdf2-sha256"
  int64_t iterations = 0;
  std::string salt_hex;
  std::string hash_hex;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct AuditRecord {
  int64_t id = 0;  // assigned by appendAudit
  int64_t at = 0;  // unix seconds
  std::string actor;
  std::string source_address;
  std::string action;       // "create", "update", "login_failed", ...
  std::string object_type;  // "domain", "user", "param", "service", "admin"
  std::string object_id;
  std::optional<std::string> before_json;  // JSON text, or null
  std::optional<std::string> after_json;
  std::optional<int64_t> policy_version;
};

// Newest first. Empty strings do not filter. `total` ignores before_id and limit, so that it
// stays the same while a client pages.
struct AuditQuery {
  std::optional<int64_t> before_id;
  std::string object_type;
  std::string actor;
  int64_t limit = 100;
};

class Store {
 public:
  virtual ~Store() = default;

  [[nodiscard]] virtual Result<std::vector<UserRecord>> listUsers() = 0;
  // AlreadyExists when (username, domain) is taken.
  [[nodiscard]] virtual Result<UserRecord> addUser(const UserRecord& user) = 0;
  // NotFound when there is no such user.
  [[nodiscard]] virtual Result<void> setCredentials(const std::string& username,
                                                    const std::string& domain,
                                                    const std::string& ha1_md5,
                                                    const std::string& ha1_sha256) = 0;
  [[nodiscard]] virtual Result<void> deleteUser(const std::string& username,
                                                const std::string& domain) = 0;
  [[nodiscard]] virtual Result<std::optional<UserRecord>> findUser(const std::string& username,
                                                                   const std::string& domain) = 0;
  // Sorted by domain, then username.
  [[nodiscard]] virtual Result<Page<UserRecord>> queryUsers(const UserQuery& q) = 0;
  // Writes display_name, the HA1 values, version and updated_at of (username, domain).
  // NotFound when there is no such user.
  [[nodiscard]] virtual Result<void> updateUser(const UserRecord& user) = 0;

  // Local domains, sorted by name, with their user counts.
  [[nodiscard]] virtual Result<Page<DomainRecord>> queryDomains(const PageQuery& q) = 0;
  [[nodiscard]] virtual Result<std::optional<DomainRecord>> findDomain(const std::string& name) = 0;
  // AlreadyExists when the name is taken.
  [[nodiscard]] virtual Result<void> addDomain(const DomainRecord& d) = 0;
  // Writes description, version and updated_at. NotFound when there is no such domain.
  [[nodiscard]] virtual Result<void> updateDomain(const DomainRecord& d) = 0;
  [[nodiscard]] virtual Result<void> deleteDomain(const std::string& name) = 0;

  // Federated domains, sorted by name. `q` as for domains.
  [[nodiscard]] virtual Result<Page<FederatedDomainRecord>> queryFederatedDomains(
      const PageQuery& q) = 0;
  [[nodiscard]] virtual Result<std::optional<FederatedDomainRecord>> findFederatedDomain(
      const std::string& name) = 0;
  // AlreadyExists when the name is taken.
  [[nodiscard]] virtual Result<void> addFederatedDomain(const FederatedDomainRecord& d) = 0;
  // Writes every field but name and created_at. NotFound when there is no such domain.
  [[nodiscard]] virtual Result<void> updateFederatedDomain(const FederatedDomainRecord& d) = 0;
  [[nodiscard]] virtual Result<void> deleteFederatedDomain(const std::string& name) = 0;

  // The cluster parameters and those of `node`.
  [[nodiscard]] virtual Result<std::vector<ParamRecord>> listParams(const std::string& node) = 0;
  // Inserts or replaces the row of (name, node).
  [[nodiscard]] virtual Result<void> putParam(const ParamRecord& p) = 0;

  [[nodiscard]] virtual Result<std::vector<ServiceSwitchRecord>> listServiceSwitches() = 0;
  [[nodiscard]] virtual Result<void> putServiceSwitch(const ServiceSwitchRecord& s) = 0;

  [[nodiscard]] virtual Result<std::optional<AdminRecord>> findAdmin(const std::string& name) = 0;
  [[nodiscard]] virtual Result<int64_t> countAdmins() = 0;
  // Inserts or replaces the administrator `a.name`.
  [[nodiscard]] virtual Result<void> putAdmin(const AdminRecord& a) = 0;

  // Returns the new entry's id (ids only grow).
  [[nodiscard]] virtual Result<int64_t> appendAudit(const AuditRecord& e) = 0;
  [[nodiscard]] virtual Result<Page<AuditRecord>> queryAudit(const AuditQuery& q) = 0;
  // Deletes the entries older than `before` (unix seconds); then, while more than `max_rows`
  // are left, the oldest failed logins, then the oldest entries. Returns how many it deleted.
  [[nodiscard]] virtual Result<int64_t> pruneAudit(int64_t before, int64_t max_rows) = 0;

  // The number of committed configuration changes (docs/admin-api.md, policy_version).
  [[nodiscard]] virtual Result<int64_t> policyVersion() = 0;
  // Adds one and returns the new value; part of the caller's transaction.
  [[nodiscard]] virtual Result<int64_t> bumpPolicyVersion() = 0;

  // Every binding not expired at `now`.
  [[nodiscard]] virtual Result<std::vector<BindingRecord>> loadBindings(int64_t now) = 0;
  // Replaces all bindings of one AOR (empty: removes them).
  [[nodiscard]] virtual Result<void> replaceBindings(const std::string& aor,
                                                     const std::vector<BindingRecord>& b) = 0;
  // Deletes every binding expired at `now`; returns how many.
  [[nodiscard]] virtual Result<int64_t> deleteExpiredBindings(int64_t now) = 0;

  [[nodiscard]] virtual Result<int64_t> addOfflineMessage(const OfflineMessage& m) = 0;
  [[nodiscard]] virtual Result<std::vector<OfflineMessage>> offlineMessagesFor(
      const std::string& aor) = 0;
  [[nodiscard]] virtual Result<void> deleteOfflineMessage(int64_t id) = 0;

  // Changes when any connection commits to the store (to notice edits made by the CLI).
  virtual int64_t dataVersion() = 0;
  // The schema version the store is at (its last applied migration).
  virtual int schemaVersion() = 0;

  // Group commit: the store runs several calls in one transaction when told so. The admin
  // plane runs each change (with its audit entry and policy_version bump) in one.
  [[nodiscard]] virtual Result<void> begin() = 0;
  [[nodiscard]] virtual Result<void> commit() = 0;
  virtual void rollback() = 0;
  [[nodiscard]] virtual Result<void> savepoint() = 0;
  virtual void rollbackToSavepoint() = 0;
  virtual void releaseSavepoint() = 0;
};

// Opens (and migrates) the SQLite store at path.
[[nodiscard]] Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& path);

}  // namespace herald::store
