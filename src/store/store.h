#pragma once

// Store: the repository interface for everything Herald keeps on disk. SqliteStore is the
// embedded implementation; a PostgreSQL one can satisfy the same interface for clusters.
// Calls block on disk: the SIP workers never call a Store directly, they go through
// StoreWorker.

#include <cstdint>
#include <filesystem>
#include <memory>
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

  // Group commit: the store runs several calls in one transaction when told so.
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
