// SqliteStore: the admin plane's tables (schema version 2): domains, parameters, service
// switches, administrators, the audit log and the policy_version counter.

#include <string>

#include "store/sqlite_store.h"

namespace herald::store {
namespace {

constexpr const char* kDomainSelect =
    "SELECT d.name, d.description, d.version, d.created_at, d.updated_at, "
    "(SELECT COUNT(*) FROM users u WHERE u.domain = d.name) FROM domains d";

DomainRecord readDomain(const Statement& st) {
  return DomainRecord{st.text(0),    st.text(1),    st.integer(2),
                      st.integer(3), st.integer(4), st.integer(5)};
}

std::optional<std::string> optionalText(const Statement& st, int column) {
  if (st.isNull(column)) return std::nullopt;
  return st.text(column);
}

void bindOptional(Statement& st, int index, const std::optional<std::string>& v) {
  if (v) {
    st.bind(index, *v);
  } else {
    st.bindNull(index);
  }
}

}  // namespace

Result<Page<DomainRecord>> SqliteStore::queryDomains(const PageQuery& q) {
  Statement count =
      db_->prepare("SELECT COUNT(*) FROM domains WHERE instr(lower(name), lower(?1)) > 0");
  count.bind(1, q.q);
  Statement st = db_->prepare(std::string(kDomainSelect) +
                              " WHERE instr(lower(d.name), lower(?1)) > 0 ORDER BY d.name "
                              "LIMIT ?2 OFFSET ?3");
  st.bind(1, q.q).bind(2, q.limit).bind(3, q.offset);
  return readPage(count, st, readDomain);
}

Result<std::optional<DomainRecord>> SqliteStore::findDomain(const std::string& name) {
  Statement st = db_->prepare(std::string(kDomainSelect) + " WHERE d.name = ?1");
  st.bind(1, name);
  if (st.step()) return readDomain(st);
  HERALD_TRY(st.finished());
  return std::nullopt;
}

Result<void> SqliteStore::addDomain(const DomainRecord& d) {
  Statement st = db_->prepare(
      "INSERT INTO domains (name, description, version, created_at, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  st.bind(1, d.name).bind(2, d.description).bind(3, d.version).bind(4, d.created_at);
  st.bind(5, d.updated_at);
  auto r = st.run();
  if (!r && r.error().code == ErrorCode::AlreadyExists) {
    return unexpected(Error{ErrorCode::AlreadyExists, "domain " + d.name + " exists"});
  }
  return r;
}

Result<void> SqliteStore::updateDomain(const DomainRecord& d) {
  Statement st = db_->prepare(
      "UPDATE domains SET description = ?2, version = ?3, updated_at = ?4 WHERE name = ?1");
  st.bind(1, d.name).bind(2, d.description).bind(3, d.version).bind(4, d.updated_at);
  return changeOne(*db_, st, "domain " + d.name);
}

Result<void> SqliteStore::deleteDomain(const std::string& name) {
  Statement st = db_->prepare("DELETE FROM domains WHERE name = ?1");
  st.bind(1, name);
  return changeOne(*db_, st, "domain " + name);
}

Result<std::vector<ParamRecord>> SqliteStore::listParams(const std::string& node) {
  Statement st = db_->prepare(
      "SELECT name, scope, node, value, version, updated_at FROM params "
      "WHERE node = '' OR node = ?1 ORDER BY name");
  st.bind(1, node);
  return st.collect([](const Statement& row) {
    return ParamRecord{row.text(0),          row.text(1),    row.text(2),
                       optionalText(row, 3), row.integer(4), row.integer(5)};
  });
}

Result<void> SqliteStore::putParam(const ParamRecord& p) {
  Statement st = db_->prepare(
      "INSERT OR REPLACE INTO params (name, scope, node, value, version, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.bind(1, p.name).bind(2, p.scope).bind(3, p.node);
  bindOptional(st, 4, p.value_json);
  st.bind(5, p.version).bind(6, p.updated_at);
  return st.run();
}

Result<std::vector<ServiceSwitchRecord>> SqliteStore::listServiceSwitches() {
  Statement st = db_->prepare(
      "SELECT name, activated, version, updated_at FROM service_switches ORDER BY name");
  return st.collect([](const Statement& row) {
    return ServiceSwitchRecord{row.text(0), row.integer(1) != 0, row.integer(2), row.integer(3)};
  });
}

Result<void> SqliteStore::putServiceSwitch(const ServiceSwitchRecord& s) {
  Statement st = db_->prepare(
      "INSERT OR REPLACE INTO service_switches (name, activated, version, updated_at) "
      "VALUES (?1, ?2, ?3, ?4)");
  st.bind(1, s.name).bind(2, int64_t{s.activated ? 1 : 0}).bind(3, s.version);
  st.bind(4, s.updated_at);
  return st.run();
}

Result<std::optional<AdminRecord>> SqliteStore::findAdmin(const std::string& name) {
  Statement st = db_->prepare(
      "SELECT name, algorithm, iterations, salt, hash, created_at, updated_at FROM admins "
      "WHERE name = ?1");
  st.bind(1, name);
  if (st.step()) {
    return AdminRecord{st.text(0), st.text(1),    st.integer(2), st.text(3),
                       st.text(4), st.integer(5), st.integer(6)};
  }
  HERALD_TRY(st.finished());
  return std::nullopt;
}

Result<int64_t> SqliteStore::countAdmins() {
  Statement st = db_->prepare("SELECT COUNT(*) FROM admins");
  return st.scalar();
}

Result<void> SqliteStore::putAdmin(const AdminRecord& a) {
  Statement st = db_->prepare(
      "INSERT OR REPLACE INTO admins (name, algorithm, iterations, salt, hash, created_at, "
      "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  st.bind(1, a.name).bind(2, a.algorithm).bind(3, a.iterations).bind(4, a.salt_hex);
  st.bind(5, a.hash_hex).bind(6, a.created_at).bind(7, a.updated_at);
  return st.run();
}

Result<int64_t> SqliteStore::appendAudit(const AuditRecord& e) {
  Statement st = db_->prepare(
      "INSERT INTO audit_log (at, actor, source_address, action, object_type, object_id, "
      "before, after, policy_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  st.bind(1, e.at).bind(2, e.actor).bind(3, e.source_address).bind(4, e.action);
  st.bind(5, e.object_type).bind(6, e.object_id);
  bindOptional(st, 7, e.before_json);
  bindOptional(st, 8, e.after_json);
  if (e.policy_version) {
    st.bind(9, *e.policy_version);
  } else {
    st.bindNull(9);
  }
  HERALD_TRY(st.run());
  return db_->lastInsertId();
}

Result<Page<AuditRecord>> SqliteStore::queryAudit(const AuditQuery& q) {
  constexpr const char* kFilter =
      " FROM audit_log WHERE (?1 = '' OR object_type = ?1) AND (?2 = '' OR actor = ?2)";
  Statement count = db_->prepare(std::string("SELECT COUNT(*)") + kFilter);
  count.bind(1, q.object_type).bind(2, q.actor);
  Statement st = db_->prepare(
      std::string("SELECT id, at, actor, source_address, action, object_type, object_id, "
                  "before, after, policy_version") +
      kFilter + " AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4");
  st.bind(1, q.object_type).bind(2, q.actor);
  if (q.before_id) {
    st.bind(3, *q.before_id);
  } else {
    st.bindNull(3);
  }
  st.bind(4, q.limit);
  return readPage(count, st, [](const Statement& row) {
    AuditRecord e{row.integer(0),       row.integer(1), row.text(2), row.text(3),
                  row.text(4),          row.text(5),    row.text(6), optionalText(row, 7),
                  optionalText(row, 8), std::nullopt};
    if (!row.isNull(9)) e.policy_version = row.integer(9);
    return e;
  });
}

Result<int64_t> SqliteStore::pruneAudit(int64_t before, int64_t max_rows) {
  // Ids grow with time, so everything below the first young entry's id is old; scanning from
  // the oldest end finds it at once when little is overdue.
  Statement old = db_->prepare(
      "DELETE FROM audit_log WHERE id < COALESCE("
      "(SELECT id FROM audit_log WHERE at >= ?1 ORDER BY id LIMIT 1), "
      "(SELECT MAX(id) + 1 FROM audit_log), 0)");
  old.bind(1, before);
  HERALD_TRY(old.run());
  int64_t deleted = db_->changes();
  Statement count = db_->prepare("SELECT COUNT(*) FROM audit_log");
  auto rows = count.scalar();
  if (!rows) return unexpected(rows.error());
  int64_t excess = *rows - max_rows;
  for (const char* which : {"WHERE action = 'login_failed'", ""}) {
    if (excess <= 0) break;
    Statement st = db_->prepare(
        std::string("DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log ") + which +
        " ORDER BY id LIMIT ?1)");
    st.bind(1, excess);
    HERALD_TRY(st.run());
    deleted += db_->changes();
    excess -= db_->changes();
  }
  return deleted;
}

Result<int64_t> SqliteStore::policyVersion() {
  Statement st = db_->prepare("SELECT policy_version FROM meta WHERE id = 1");
  return st.scalar();
}

Result<int64_t> SqliteStore::bumpPolicyVersion() {
  Statement st = db_->prepare("UPDATE meta SET policy_version = policy_version + 1 WHERE id = 1");
  HERALD_TRY(changeOne(*db_, st, "meta row"));
  return policyVersion();
}

}  // namespace herald::store
