// SqliteStore: the federation tables (schema version 3): federated domains.

#include <string>

#include "store/sqlite_store.h"

namespace herald::store {
namespace {

constexpr const char* kFederatedSelect =
    "SELECT name, description, integration, direct_federation, identity_policy, discovery, "
    "via_domain, discovered, version, created_at, updated_at FROM federated_domains";

FederatedDomainRecord readFederated(const Statement& st) {
  return FederatedDomainRecord{st.text(0),    st.text(1),    st.text(2),    st.integer(3) != 0,
                               st.text(4),    st.text(5),    st.text(6),    st.integer(7) != 0,
                               st.integer(8), st.integer(9), st.integer(10)};
}

// Binds every column but name (?1) and created_at: ?2 .. ?10.
void bindFederated(Statement& st, const FederatedDomainRecord& d) {
  st.bind(1, d.name).bind(2, d.description).bind(3, d.integration);
  st.bind(4, int64_t{d.direct_federation}).bind(5, d.identity_policy).bind(6, d.discovery);
  st.bind(7, d.via_domain).bind(8, int64_t{d.discovered}).bind(9, d.version);
  st.bind(10, d.updated_at);
}

}  // namespace

Result<Page<FederatedDomainRecord>> SqliteStore::queryFederatedDomains(const PageQuery& q) {
  Statement count = db_->prepare(
      "SELECT COUNT(*) FROM federated_domains WHERE instr(lower(name), lower(?1)) > 0");
  count.bind(1, q.q);
  Statement st = db_->prepare(std::string(kFederatedSelect) +
                              " WHERE instr(lower(name), lower(?1)) > 0 ORDER BY name "
                              "LIMIT ?2 OFFSET ?3");
  st.bind(1, q.q).bind(2, q.limit).bind(3, q.offset);
  return readPage(count, st, readFederated);
}

Result<std::optional<FederatedDomainRecord>> SqliteStore::findFederatedDomain(
    const std::string& name) {
  Statement st = db_->prepare(std::string(kFederatedSelect) + " WHERE name = ?1");
  st.bind(1, name);
  if (st.step()) return readFederated(st);
  HERALD_TRY(st.finished());
  return std::nullopt;
}

Result<void> SqliteStore::addFederatedDomain(const FederatedDomainRecord& d) {
  Statement st = db_->prepare(
      "INSERT INTO federated_domains (name, description, integration, direct_federation, "
      "identity_policy, discovery, via_domain, discovered, version, updated_at, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  bindFederated(st, d);
  st.bind(11, d.created_at);
  auto r = st.run();
  if (!r && r.error().code == ErrorCode::AlreadyExists) {
    return unexpected(Error{ErrorCode::AlreadyExists, "federated domain " + d.name + " exists"});
  }
  return r;
}

Result<void> SqliteStore::updateFederatedDomain(const FederatedDomainRecord& d) {
  Statement st = db_->prepare(
      "UPDATE federated_domains SET description = ?2, integration = ?3, "
      "direct_federation = ?4, identity_policy = ?5, discovery = ?6, via_domain = ?7, "
      "discovered = ?8, version = ?9, updated_at = ?10 WHERE name = ?1");
  bindFederated(st, d);
  return changeOne(*db_, st, "federated domain " + d.name);
}

Result<void> SqliteStore::deleteFederatedDomain(const std::string& name) {
  Statement st = db_->prepare("DELETE FROM federated_domains WHERE name = ?1");
  st.bind(1, name);
  return changeOne(*db_, st, "federated domain " + name);
}

}  // namespace herald::store
