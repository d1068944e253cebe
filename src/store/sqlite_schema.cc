#include "store/sqlite_schema.h"

#include <array>

namespace herald::store {
namespace {

constexpr std::array<Migration, 3> kMigrations = {{
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
    // The admin plane (docs/admin-api.md). Users keep no foreign key to domains: the offline
    // `herald user add` checks the config file's sip.domains, which may not be imported yet.
    {2, R"sql(
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET updated_at = created_at;
CREATE INDEX users_by_domain ON users (domain, username);
CREATE TABLE domains (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE params (
  name TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('cluster', 'node')),
  node TEXT NOT NULL DEFAULT '',
  value TEXT,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (name, node)
);
CREATE TABLE service_switches (
  name TEXT PRIMARY KEY,
  activated INTEGER NOT NULL,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE admins (
  name TEXT PRIMARY KEY,
  algorithm TEXT NOT NULL,
  iterations INTEGER NOT NULL,
  salt TEXT NOT NULL,
  hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  source_address TEXT NOT NULL,
  action TEXT NOT NULL,
  object_type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  before TEXT,
  after TEXT,
  policy_version INTEGER
);
CREATE INDEX audit_log_by_type ON audit_log (object_type, id);
CREATE TABLE meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  policy_version INTEGER NOT NULL
);
INSERT INTO meta (id, policy_version) VALUES (1, 0);
)sql"},
    // Federation (docs/federation.md): the other organisations' domains.
    {3, R"sql(
CREATE TABLE federated_domains (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  integration TEXT NOT NULL,
  direct_federation INTEGER NOT NULL DEFAULT 0,
  identity_policy TEXT NOT NULL,
  discovery TEXT NOT NULL,
  via_domain TEXT NOT NULL DEFAULT '',
  discovered INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
)sql"},
}};

}  // namespace

std::span<const Migration> sqliteMigrations() { return kMigrations; }

}  // namespace herald::store
