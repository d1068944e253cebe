#include "store/sqlite_store.h"

#include <string>

#include "store/sqlite_schema.h"

namespace herald::store {
namespace {

constexpr const char* kUserColumns =
    "id, username, domain, display_name, ha1_md5, ha1_sha256, created_at, version, updated_at";

UserRecord readUser(const Statement& st) {
  return UserRecord{st.integer(0), st.text(1),    st.text(2),    st.text(3),   st.text(4),
                    st.text(5),    st.integer(6), st.integer(7), st.integer(8)};
}

// instr() rather than LIKE, so that '%' and '_' in a filter are plain characters.
constexpr const char* kUserFilter =
    " FROM users WHERE (?1 = '' OR domain = ?1) AND (?2 = '' OR "
    "instr(lower(username || '@' || domain), lower(?2)) > 0 OR "
    "instr(lower(display_name), lower(?2)) > 0)";

}  // namespace

Result<std::vector<UserRecord>> SqliteStore::listUsers() {
  Statement st =
      db_->prepare(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY domain, username");
  return st.collect(readUser);
}

Result<UserRecord> SqliteStore::addUser(const UserRecord& user) {
  Statement st = db_->prepare(
      "INSERT INTO users (username, domain, display_name, ha1_md5, ha1_sha256, created_at, "
      "version, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  UserRecord out = user;
  if (out.updated_at == 0) out.updated_at = out.created_at;
  st.bind(1, out.username).bind(2, out.domain).bind(3, out.display_name);
  st.bind(4, out.ha1_md5).bind(5, out.ha1_sha256).bind(6, out.created_at);
  st.bind(7, out.version).bind(8, out.updated_at);
  auto r = st.run();
  if (!r) {
    if (r.error().code == ErrorCode::AlreadyExists) {
      return unexpected(
          Error{ErrorCode::AlreadyExists, "user " + user.username + "@" + user.domain + " exists"});
    }
    return unexpected(r.error());
  }
  out.id = db_->lastInsertId();
  return out;
}

// The offline `herald user passwd`: a change like any other, so the version grows.
Result<void> SqliteStore::setCredentials(const std::string& username, const std::string& domain,
                                         const std::string& ha1_md5,
                                         const std::string& ha1_sha256) {
  Statement st = db_->prepare(
      "UPDATE users SET ha1_md5 = ?3, ha1_sha256 = ?4, version = version + 1, "
      "updated_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE username = ?1 AND domain = ?2");
  st.bind(1, username).bind(2, domain).bind(3, ha1_md5).bind(4, ha1_sha256);
  HERALD_TRY(st.run());
  if (db_->changes() == 0) return unexpected(notFound("no user " + username + "@" + domain));
  return {};
}

Result<void> SqliteStore::deleteUser(const std::string& username, const std::string& domain) {
  Statement st = db_->prepare("DELETE FROM users WHERE username = ?1 AND domain = ?2");
  st.bind(1, username).bind(2, domain);
  HERALD_TRY(st.run());
  if (db_->changes() == 0) return unexpected(notFound("no user " + username + "@" + domain));
  return {};
}

Result<std::optional<UserRecord>> SqliteStore::findUser(const std::string& username,
                                                        const std::string& domain) {
  Statement st = db_->prepare(std::string("SELECT ") + kUserColumns +
                              " FROM users WHERE username = ?1 AND domain = ?2");
  st.bind(1, username).bind(2, domain);
  if (st.step()) return readUser(st);
  HERALD_TRY(st.finished());
  return std::nullopt;
}

Result<Page<UserRecord>> SqliteStore::queryUsers(const UserQuery& q) {
  Statement count = db_->prepare(std::string("SELECT COUNT(*)") + kUserFilter);
  count.bind(1, q.domain).bind(2, q.q);
  Statement st = db_->prepare(std::string("SELECT ") + kUserColumns + kUserFilter +
                              " ORDER BY domain, username LIMIT ?3 OFFSET ?4");
  st.bind(1, q.domain).bind(2, q.q).bind(3, q.limit).bind(4, q.offset);
  return readPage(count, st, readUser);
}

Result<void> SqliteStore::updateUser(const UserRecord& user) {
  Statement st = db_->prepare(
      "UPDATE users SET display_name = ?3, ha1_md5 = ?4, ha1_sha256 = ?5, version = ?6, "
      "updated_at = ?7 WHERE username = ?1 AND domain = ?2");
  st.bind(1, user.username).bind(2, user.domain).bind(3, user.display_name);
  st.bind(4, user.ha1_md5).bind(5, user.ha1_sha256).bind(6, user.version);
  st.bind(7, user.updated_at);
  HERALD_TRY(st.run());
  if (db_->changes() == 0) {
    return unexpected(notFound("no user " + user.username + "@" + user.domain));
  }
  return {};
}

Result<std::vector<BindingRecord>> SqliteStore::loadBindings(int64_t now) {
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

Result<void> SqliteStore::replaceBindings(const std::string& aor,
                                          const std::vector<BindingRecord>& bindings) {
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

Result<int64_t> SqliteStore::deleteExpiredBindings(int64_t now) {
  Statement st = db_->prepare("DELETE FROM bindings WHERE expires_at <= ?1");
  st.bind(1, now);
  HERALD_TRY(st.run());
  return db_->changes();
}

Result<int64_t> SqliteStore::addOfflineMessage(const OfflineMessage& m) {
  Statement st = db_->prepare(
      "INSERT INTO offline_messages (recipient, sender, content_type, body, received_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  st.bind(1, m.recipient).bind(2, m.sender).bind(3, m.content_type).bindBlob(4, m.body);
  st.bind(5, m.received_at);
  HERALD_TRY(st.run());
  return db_->lastInsertId();
}

Result<std::vector<OfflineMessage>> SqliteStore::offlineMessagesFor(const std::string& aor) {
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

Result<void> SqliteStore::deleteOfflineMessage(int64_t id) {
  Statement st = db_->prepare("DELETE FROM offline_messages WHERE id = ?1");
  st.bind(1, id);
  return st.run();
}

Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& path) {
  auto db = Database::open(path, sqliteMigrations());
  if (!db) return unexpected(db.error());
  return std::unique_ptr<Store>(new SqliteStore(std::move(*db)));
}

}  // namespace herald::store
