#pragma once

// Database: one SQLite connection with the settings Herald relies on (WAL, foreign keys,
// synchronous=FULL so that a committed change survives a power cut), prepared statements and
// versioned migrations run at open. Not thread-safe: one thread uses a Database.
//
//   auto db = Database::open(path, kMigrations);
//   Statement st = db->prepare("SELECT ha1_md5 FROM users WHERE username = ?1");
//   st.bind(1, "alice");
//   while (st.step()) use(st.text(0));

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/result.h"

namespace herald::store {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Statement& operator=(Statement&& o) noexcept;
  ~Statement();

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bindBlob(int index, std::string_view bytes);
  Statement& bindNull(int index);

  // True while a row is available; false at the end. Errors are returned by run()/exec.
  bool step();
  // Runs to completion (INSERT, UPDATE, DELETE).
  [[nodiscard]] Result<void> run();
  // After step() returned false: whether the rows ended normally (not on an error, and not
  // because the statement failed to prepare).
  [[nodiscard]] Result<void> finished() const;
  // Steps once and returns column 0 of the row (SELECT COUNT(*) ...); an error when none.
  [[nodiscard]] Result<int64_t> scalar();
  // Steps through every row, keeping read(*this) of each; an error when the rows end on one.
  template <class Read>
  [[nodiscard]] auto collect(Read read)
      -> Result<std::vector<std::invoke_result_t<Read, const Statement&>>>;
  void reset();

  std::string text(int column) const;
  int64_t integer(int column) const;
  std::string blob(int column) const;
  bool isNull(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int last_ = SQLITE_OK;
};

struct Migration {
  int version;
  const char* sql;
};

class Database {
 public:
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Opens (creating if needed) and migrates to the latest version. The file and its -wal, -shm
  // and -journal companions are made owner-only first (ensurePrivateDatabaseFiles).
  [[nodiscard]] static Result<std::unique_ptr<Database>> open(
      const std::filesystem::path& path, std::span<const Migration> migrations);

  [[nodiscard]] Result<void> exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  // Runs f inside BEGIN IMMEDIATE ... COMMIT; rolls back when f fails.
  template <class F>
  Result<void> transaction(F&& f);

  int schemaVersion();
  // Changes when another connection commits (PRAGMA data_version).
  int64_t dataVersion();
  int64_t lastInsertId() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  std::string lastError() const { return sqlite3_errmsg(db_); }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  Result<void> migrate(std::span<const Migration> migrations);

  sqlite3* db_;
};

template <class Read>
auto Statement::collect(Read read)
    -> Result<std::vector<std::invoke_result_t<Read, const Statement&>>> {
  std::vector<std::invoke_result_t<Read, const Statement&>> out;
  while (step()) out.push_back(read(*this));
  HERALD_TRY(finished());
  return out;
}

template <class F>
Result<void> Database::transaction(F&& f) {
  HERALD_TRY(exec("BEGIN IMMEDIATE"));
  Result<void> r = f();
  if (!r) {
    (void)exec("ROLLBACK");
    return r;
  }
  auto committed = exec("COMMIT");
  if (!committed) (void)exec("ROLLBACK");
  return committed;
}

}  // namespace herald::store
