#include <array>

#include "store/database.h"
#include "store/store.h"

namespace herald::store {
namespace {

constexpr std::array<Migration, 1> kMigrations = {{
    {1, R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL,
  domain TEXT NOT NULL,
  display_name TEXT NOT NULL DEFAULT '',
  ha1_md5 TEXT NOT NULL,
  ha1_sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (username, domain)
);
CREATE TABLE bindings (
  aor TEXT NOT NULL,
  contact TEXT NOT NULL,
  contact_params TEXT NOT NULL DEFAULT '',
  q INTEGER NOT NULL DEFAULT -1,
  expires_at INTEGER NOT NULL,
  call_id TEXT NOT NULL,
  cseq INTEGER NOT NULL,
  transport TEXT NOT NULL,
  source TEXT NOT NULL,
  instance TEXT NOT NULL DEFAULT '',
  user_agent TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (aor, contact)
);
CREATE TABLE offline_messages (
  id INTEGER PRIMARY KEY,
  recipient TEXT NOT NULL,
  sender TEXT NOT NULL,
  content_type TEXT NOT NULL,
  body BLOB NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX offline_messages_by_recipient ON offline_messages (recipient, id);
)sql"},
}};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  Result<std::vector<UserRecord>> listUsers() override {
    Statement st = db_->prepare(
        "SELECT id, username, domain, display_name, ha1_md5, ha1_sha256, created_at FROM users "
        "ORDER BY domain, username");
    std::vector<UserRecord> out;
    while (st.step()) {
      out.push_back(UserRecord{st.integer(0), st.text(1), st.text(2), st.text(3), st.text(4),
                               st.text(5), st.integer(6)});
    }
    return out;
  }

  Result<UserRecord> addUser(const UserRecord& user) override {
    Statement st = db_->prepare(
        "INSERT INTO users (username, domain, display_name, ha1_md5, ha1_sha256, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    st.bind(1, user.username).bind(2, user.domain).bind(3, user.display_name);
    st.bind(4, user.ha1_md5).bind(5, user.ha1_sha256).bind(6, user.created_at);
    auto r = st.run();
    if (!r) {
      if (r.error().code == ErrorCode::AlreadyExists) {
        return unexpected(Error{ErrorCode::AlreadyExists,
                                "user " + user.username + "@" + user.domain + " exists"});
      }
      return unexpected(r.error());
    }
    UserRecord out = user;
    out.id = db_->lastInsertId();
    return out;
  }

  Result<void> setCredentials(const std::string& username, const std::string& domain,
                              const std::string& ha1_md5, const std::string& ha1_sha256) override {
    Statement st = db_->prepare(
        "UPDATE users SET ha1_md5 = ?3, ha1_sha256 = ?4 WHERE username = ?1 AND domain = ?2");
    st.bind(1, username).bind(2, domain).bind(3, ha1_md5).bind(4, ha1_sha256);
    HERALD_TRY(st.run());
    if (db_->changes() == 0) return unexpected(notFound("no user " + username + "@" + domain));
    return {};
  }

  Result<void> deleteUser(const std::string& username, const std::string& domain) override {
    Statement st = db_->prepare("DELETE FROM users WHERE username = ?1 AND domain = ?2");
    st.bind(1, username).bind(2, domain);
    HERALD_TRY(st.run());
    if (db_->changes() == 0) return unexpected(notFound("no user " + username + "@" + domain));
    return {};
  }

  Result<std::vector<BindingRecord>> loadBindings(int64_t now) override {
    Statement st = db_->prepare(
        "SELECT aor, contact, contact_params, q, expires_at, call_id, cseq, transport, source, "
        "instance, user_agent FROM bindings WHERE expires_at > ?1 ORDER BY aor");
    st.bind(1, now);
    std::vector<BindingRecord> out;
    while (st.step()) {
      BindingRecord b;
      b.aor = st.text(0);
      b.contact = st.text(1);
      b.contact_params = st.text(2);
      b.q = static_cast<int>(st.integer(3));
      b.expires_at = st.integer(4);
      b.call_id = st.text(5);
      b.cseq = st.integer(6);
      b.transport = st.text(7);
      b.source = st.text(8);
      b.instance = st.text(9);
      b.user_agent = st.text(10);
      out.push_back(std::move(b));
    }
    return out;
  }

  Result<void> replaceBindings(const std::string& aor,
                               const std::vector<BindingRecord>& bindings) override {
    Statement del = db_->prepare("DELETE FROM bindings WHERE aor = ?1");
    del.bind(1, aor);
    HERALD_TRY(del.run());
    Statement ins = db_->prepare(
        "INSERT INTO bindings (aor, contact, contact_params, q, expires_at, call_id, cseq, "
        "transport, source, instance, user_agent) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
    for (const BindingRecord& b : bindings) {
      ins.reset();
      ins.bind(1, aor).bind(2, b.contact).bind(3, b.contact_params).bind(4, int64_t{b.q});
      ins.bind(5, b.expires_at).bind(6, b.call_id).bind(7, b.cseq).bind(8, b.transport);
      ins.bind(9, b.source).bind(10, b.instance).bind(11, b.user_agent);
      HERALD_TRY(ins.run());
    }
    return {};
  }

  Result<int64_t> deleteExpiredBindings(int64_t now) override {
    Statement st = db_->prepare("DELETE FROM bindings WHERE expires_at <= ?1");
    st.bind(1, now);
    HERALD_TRY(st.run());
    return db_->changes();
  }

  Result<int64_t> addOfflineMessage(const OfflineMessage& m) override {
    Statement st = db_->prepare(
        "INSERT INTO offline_messages (recipient, sender, content_type, body, received_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    st.bind(1, m.recipient).bind(2, m.sender).bind(3, m.content_type).bindBlob(4, m.body);
    st.bind(5, m.received_at);
    HERALD_TRY(st.run());
    return db_->lastInsertId();
  }

  Result<std::vector<OfflineMessage>> offlineMessagesFor(const std::string& aor) override {
    Statement st = db_->prepare(
        "SELECT id, recipient, sender, content_type, body, received_at FROM offline_messages "
        "WHERE recipient = ?1 ORDER BY id");
    st.bind(1, aor);
    std::vector<OfflineMessage> out;
    while (st.step()) {
      out.push_back(OfflineMessage{st.integer(0), st.text(1), st.text(2), st.text(3), st.blob(4),
                                   st.integer(5)});
    }
    return out;
  }

  Result<void> deleteOfflineMessage(int64_t id) override {
    Statement st = db_->prepare("DELETE FROM offline_messages WHERE id = ?1");
    st.bind(1, id);
    return st.run();
  }

  int64_t dataVersion() override { return db_->dataVersion(); }

  Result<void> begin() override { return db_->exec("BEGIN IMMEDIATE"); }
  Result<void> commit() override { return db_->exec("COMMIT"); }
  void rollback() override { (void)db_->exec("ROLLBACK"); }
  Result<void> savepoint() override { return db_->exec("SAVEPOINT job"); }
  void rollbackToSavepoint() override { (void)db_->exec("ROLLBACK TO job"); }
  void releaseSavepoint() override { (void)db_->exec("RELEASE job"); }

 private:
  std::unique_ptr<Database> db_;
};

}  // namespace

Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& path) {
  auto db = Database::open(path, kMigrations);
  if (!db) return unexpected(db.error());
  return std::unique_ptr<Store>(new SqliteStore(std::move(*db)));
}

}  // namespace herald::store
