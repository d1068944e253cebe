#include "store/database.h"

#include <algorithm>

#include "store/file_modes.h"

namespace herald::store {

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bindBlob(int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::step() {
  if (stmt_ == nullptr) return false;
  last_ = sqlite3_step(stmt_);
  return last_ == SQLITE_ROW;
}

Result<void> Statement::run() {
  if (stmt_ == nullptr) return unexpected(internalError("statement did not prepare"));
  while (step()) {
  }
  if (last_ != SQLITE_DONE) {
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_reset(stmt_);
    if (last_ == SQLITE_CONSTRAINT || (last_ & 0xff) == SQLITE_CONSTRAINT) {
      return unexpected(Error{ErrorCode::AlreadyExists, msg});
    }
    return unexpected(unavailable(msg));
  }
  sqlite3_reset(stmt_);
  return {};
}

Result<void> Statement::finished() const {
  if (stmt_ == nullptr) return unexpected(internalError("statement did not prepare"));
  if (last_ != SQLITE_DONE) return unexpected(unavailable(sqlite3_errmsg(db_)));
  return {};
}

Result<int64_t> Statement::scalar() {
  if (step()) return integer(0);
  HERALD_TRY(finished());
  return unexpected(internalError("query returned no row"));
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int column) const {
  const unsigned char* t = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return t == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(n));
}

int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::blob(int column) const {
  const void* b = sqlite3_column_blob(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return b == nullptr ? std::string()
                      : std::string(static_cast<const char*>(b), static_cast<size_t>(n));
}

bool Statement::isNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Database::~Database() { sqlite3_close_v2(db_); }

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path,
                                                 std::span<const Migration> migrations) {
  // Names SQLite gives a meaning (":memory:", "" for a temporary file) have no file to guard.
  if (!path.empty() && path != ":memory:") {
    HERALD_TRY(ensurePrivateDatabaseFiles(path));
  }
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Database> db(new Database(raw));
  if (rc != SQLITE_OK) {
    return unexpected(unavailable("cannot open " + path.string() + ": " + db->lastError()));
  }
  sqlite3_busy_timeout(raw, 5000);
  HERALD_TRY(db->exec("PRAGMA journal_mode=WAL"));
  HERALD_TRY(db->exec("PRAGMA synchronous=FULL"));
  HERALD_TRY(db->exec("PRAGMA foreign_keys=ON"));
  HERALD_TRY(db->migrate(migrations));
  return db;
}

Result<void> Database::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : lastError();
    sqlite3_free(err);
    return unexpected(unavailable(msg));
  }
  return {};
}

Statement Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  return Statement(db_, stmt);
}

int Database::schemaVersion() {
  Statement st = prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  return st.step() ? static_cast<int>(st.integer(0)) : 0;
}

int64_t Database::dataVersion() {
  Statement st = prepare("PRAGMA data_version");
  return st.step() ? st.integer(0) : 0;
}

Result<void> Database::migrate(std::span<const Migration> migrations) {
  HERALD_TRY(exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL DEFAULT (strftime('%s','now')))"));
  int current = schemaVersion();
  int known = 0;
  for (const Migration& m : migrations) known = std::max(known, m.version);
  if (!migrations.empty() && current > known) {
    // Written by a newer Herald: running an older one on it could lose data.
    return unexpected(
        Error{ErrorCode::FailedPrecondition, "database schema version " + std::to_string(current) +
                                                 " is newer than this Herald knows (" +
                                                 std::to_string(known) + "); upgrade Herald"});
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    auto r = transaction([&]() -> Result<void> {
      HERALD_TRY(exec(m.sql));
      Statement st = prepare("INSERT INTO schema_migrations(version) VALUES (?1)");
      st.bind(1, static_cast<int64_t>(m.version));
      return st.run();
    });
    if (!r) {
      return unexpected(
          unavailable("migration " + std::to_string(m.version) + " failed: " + r.error().detail));
    }
  }
  return {};
}

}  // namespace herald::store
