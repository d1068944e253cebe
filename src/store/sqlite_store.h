#pragma once

// SqliteStore: the Store on one SQLite connection (Database). Its methods are defined in
// files by area: sqlite_store.cc (users, bindings, offline messages, transactions),
// sqlite_admin_tables.cc (domains, parameters, services, administrators, audit log, meta) and
// sqlite_federation_tables.cc (federated domains). Use openSqliteStore() to get one; this
// header exists for those files.

#include <memory>
#include <string>
#include <type_traits>

#include "store/database.h"
#include "store/store.h"

namespace herald::store {

// A page: the count of matching rows, and the rows of `rows` read with `read`.
template <class Read>
auto readPage(Statement& count, Statement& rows, Read read)
    -> Result<Page<std::invoke_result_t<Read, const Statement&>>> {
  auto total = count.scalar();
  if (!total) return unexpected(total.error());
  auto items = rows.collect(read);
  if (!items) return unexpected(items.error());
  return Page<std::invoke_result_t<Read, const Statement&>>{std::move(*items), *total};
}

// Applies a change to exactly one row, or says which row was missing ("no " + what).
inline Result<void> changeOne(Database& db, Statement& st, const std::string& what) {
  HERALD_TRY(st.run());
  if (db.changes() == 0) return unexpected(notFound("no " + what));
  return {};
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  Result<std::vector<UserRecord>> listUsers() override;
  Result<UserRecord> addUser(const UserRecord& user) override;
  Result<void> setCredentials(const std::string& username, const std::string& domain,
                              const std::string& ha1_md5, const std::string& ha1_sha256) override;
  Result<void> deleteUser(const std::string& username, const std::string& domain) override;
  Result<std::optional<UserRecord>> findUser(const std::string& username,
                                             const std::string& domain) override;
  Result<Page<UserRecord>> queryUsers(const UserQuery& q) override;
  Result<void> updateUser(const UserRecord& user) override;

  Result<std::vector<BindingRecord>> loadBindings(int64_t now) override;
  Result<void> replaceBindings(const std::string& aor,
                               const std::vector<BindingRecord>& bindings) override;
  Result<int64_t> deleteExpiredBindings(int64_t now) override;

  Result<int64_t> addOfflineMessage(const OfflineMessage& m) override;
  Result<std::vector<OfflineMessage>> offlineMessagesFor(const std::string& aor) override;
  Result<void> deleteOfflineMessage(int64_t id) override;

  Result<Page<DomainRecord>> queryDomains(const PageQuery& q) override;
  Result<std::optional<DomainRecord>> findDomain(const std::string& name) override;
  Result<void> addDomain(const DomainRecord& d) override;
  Result<void> updateDomain(const DomainRecord& d) override;
  Result<void> deleteDomain(const std::string& name) override;

  Result<Page<FederatedDomainRecord>> queryFederatedDomains(const PageQuery& q) override;
  Result<std::optional<FederatedDomainRecord>> findFederatedDomain(
      const std::string& name) override;
  Result<void> addFederatedDomain(const FederatedDomainRecord& d) override;
  Result<void> updateFederatedDomain(const FederatedDomainRecord& d) override;
  Result<void> deleteFederatedDomain(const std::string& name) override;
  Result<std::vector<ParamRecord>> listParams(const std::string& node) override;
  Result<void> putParam(const ParamRecord& p) override;
  Result<std::vector<ServiceSwitchRecord>> listServiceSwitches() override;
  Result<void> putServiceSwitch(const ServiceSwitchRecord& s) override;

  Result<std::optional<AdminRecord>> findAdmin(const std::string& name) override;
  Result<int64_t> countAdmins() override;
  Result<void> putAdmin(const AdminRecord& a) override;

  Result<int64_t> appendAudit(const AuditRecord& e) override;
  Result<Page<AuditRecord>> queryAudit(const AuditQuery& q) override;
  Result<int64_t> pruneAudit(int64_t before, int64_t max_rows) override;

  Result<int64_t> policyVersion() override;
  Result<int64_t> bumpPolicyVersion() override;

  int64_t dataVersion() override { return db_->dataVersion(); }
  int schemaVersion() override { return db_->schemaVersion(); }

  Result<void> begin() override { return db_->exec("BEGIN IMMEDIATE"); }
  Result<void> commit() override { return db_->exec("COMMIT"); }
  void rollback() override { (void)db_->exec("ROLLBACK"); }
  Result<void> savepoint() override { return db_->exec("SAVEPOINT job"); }
  void rollbackToSavepoint() override { (void)db_->exec("ROLLBACK TO job"); }
  void releaseSavepoint() override { (void)db_->exec("RELEASE job"); }

 private:
  std::unique_ptr<Database> db_;
};

}  // namespace herald::store
