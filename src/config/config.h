#pragma once

// Config: the node's configuration file (TOML), parsed and validated once into plain structs.
// Each subsystem receives its own struct. docs/configuration.md lists every key.
//
//   ConfigLoad load = loadConfigFile("etc/herald.toml");
//   if (!load.ok()) { for (auto& e : load.errors) print(e.toString()); exit(1); }
//   const Config& config = *load.config;
//
// Every error is reported, each naming its key ("sip.listen[1].port") and line; a file with any
// error yields no Config.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/inet.h"
#include "common/log.h"
#include "sip/parser/limits.h"

namespace herald::config {

enum class Transport { Udp, Tcp, Tls };
std::string_view transportName(Transport t);

struct Listener {
  Transport transport = Transport::Udp;
  // Default: "0.0.0.0". IPv4 or IPv6 literal to bind ("::" for all IPv6 addresses).
  std::string address = "0.0.0.0";
  // Default: 5060 (udp, tcp), 5061 (tls).
  uint16_t port = 5060;
};

struct NodeConfig {
  // Default: "herald". Shown in logs, the admin API and Server/User-Agent headers.
  std::string name = "herald";
  // Default: "var" beside the config file. Holds the SQLite store and generated certificates.
  std::filesystem::path data_dir;
};

struct LogConfig {
  log::Options options;  // level (default "info"), file (default: stderr)
  // Per-subsystem levels, e.g. {"sip.parser": "debug"}.
  std::map<std::string, std::string> subsystems;
};

struct SipConfig {
  // Local IM domains served by this node. Default: none.
  std::vector<std::string> domains;
  // Default: udp/tcp on 0.0.0.0:5060 and tls on 0.0.0.0:5061.
  std::vector<Listener> listeners;
  sip::ParserLimits limits;
  // Default: the system host name. The name this node puts in Via and Record-Route when a
  // listener is bound to a wildcard address.
  std::string hostname;
  // Default: none. Sources (CIDR) whose requests are trusted without digest authentication,
  // e.g. a gateway (the incumbent's incoming ACL in trusted-server mode).
  std::vector<std::string> trusted_sources;
  // Default: 0, one per core. SIP worker threads.
  uint32_t workers = 0;
  // Default: "batch". Scheduling policy of the workers: "batch" (SCHED_BATCH) or "normal".
  std::string worker_scheduling = "batch";
  // RFC 3261 timers in milliseconds. Defaults: T1 500, T2 4000, T4 5000.
  uint32_t t1_ms = 500;
  uint32_t t2_ms = 4000;
  uint32_t t4_ms = 5000;
  // Default: 3605 s. Stream connections idle this long are closed.
  uint32_t tcp_idle_timeout_s = 3605;
  // Default: 10 s. An accepted stream connection must finish its TLS handshake and send a first
  // complete message within this, and any message must be complete this long after it began.
  uint32_t tcp_message_timeout_s = 10;
  // Default: 10000. Open stream connections at most.
  uint32_t max_connections = 10000;
  // Default: 64. Accepted stream connections from one IP address at most.
  uint32_t max_connections_per_address = 64;
  // Default: 4 MiB. Bytes queued unwritten for one stream connection at most; beyond it the
  // connection is closed.
  uint32_t max_write_queue_bytes = 4 * 1024 * 1024;
};

struct RegistrarSettings {
  uint32_t min_expires = 60;        // Default: 60 s.
  uint32_t max_expires = 3600;      // Default: 3600 s.
  uint32_t default_expires = 3600;  // Default: 3600 s.
  uint32_t max_contacts = 32;       // Default: 32 per address-of-record.
  uint32_t nonce_ttl_s = 300;       // Default: 300 s. Digest nonce lifetime.
  // Default: ["SHA-256", "MD5"]. Digest algorithms offered, most preferred first.
  std::vector<std::string> digest_algorithms{"SHA-256", "MD5"};
  // Default: true. Credentials must be signed for the Request-URI (RFC 2617 §3.2.2.5).
  bool digest_uri_check = true;
};

struct TlsConfig {
  // PEM certificate chain and key. Default: empty, meaning a self-signed development
  // certificate generated on first start under <data_dir>/tls/.
  std::filesystem::path certificate;
  std::filesystem::path private_key;
  // PEM CA bundle for verifying peers. Default: empty (system store).
  std::filesystem::path ca_file;
  // Default: "HIGH:!aNULL:!MD5:!RC4". OpenSSL cipher list (TLS 1.2).
  std::string ciphers = "HIGH:!aNULL:!MD5:!RC4";
  // Default: "1.2". "1.2" or "1.3".
  std::string min_version = "1.2";
  // Default: true. Verify servers Herald connects to.
  bool verify_server = true;
};

// The admin listener: REST API and web console (docs/admin-api.md).
struct AdminConfig {
  // Default: true. false: no admin listener (the offline `herald user ... -c` still works).
  bool enabled = true;
  // Default: "127.0.0.1". IPv4 or IPv6 literal. Any address that is not loopback requires
  // tls_certificate and tls_private_key.
  std::string address = "127.0.0.1";
  // Default: 8080. 0 binds any free port.
  uint16_t port = 8080;
  // PEM certificate chain and key for HTTPS. Default: empty (plain HTTP, loopback only).
  std::filesystem::path tls_certificate;
  std::filesystem::path tls_private_key;
  // Default: empty, meaning a random password written to <data_dir>/initial-admin-password.
  // The password of the first administrator, used only while the store has none; the
  // environment variable HERALD_ADMIN_PASSWORD, when set, takes its place. 12-128 characters.
  std::string initial_password;
  // Default: empty. Host names (or addresses) the console is reached by besides admin.address
  // and, on loopback, "localhost"; a request whose Host is anything else gets 421.
  std::vector<std::string> allowed_hosts;
  // Default: 128 (1-100000). Open admin connections in all.
  uint32_t max_connections = 128;
  // Default: 16 (1-100000). Open admin connections from one IPv4 address or IPv6 /64.
  uint32_t max_connections_per_source = 16;
  // Default: 10 (1-300). Seconds for the TLS handshake plus the request line and headers.
  uint32_t header_timeout_s = 10;
  // Default: 10 (1-300). Seconds for the request body once the headers are in.
  uint32_t body_timeout_s = 10;
  // Default: 365 (1-36500). Audit entries older than this many days are deleted.
  uint32_t audit_retention_days = 365;
  // Default: 100000 (1000-100000000). Beyond this many entries the oldest are deleted, failed
  // logins first.
  uint32_t audit_retention_rows = 100000;
};

// The DNS resolver (src/dns). Read at start.
struct DnsConfig {
  // Default: empty, the servers of /etc/resolv.conf. Port 53 when the text gave none.
  std::vector<Endpoint> servers;
  // Default: 1000 (100-30000). Milliseconds allowed to one try of one server.
  uint32_t timeout_ms = 1000;
  // Default: 2 (1-10). Tries of each server before a query is given up.
  uint32_t attempts = 2;
  // Default: 100000 (0-10000000). Cached answers at most; 0 turns the cache off.
  uint32_t cache_entries = 100000;
};

struct Config {
  std::filesystem::path source;  // the file it was read from
  NodeConfig node;
  LogConfig log;
  SipConfig sip;
  RegistrarSettings registrar;
  TlsConfig tls;
  AdminConfig admin;
  DnsConfig dns;
};

struct ConfigError {
  std::string key;  // "sip.listen[1].port"; "" for file-level errors
  std::string message;
  int line = 0;  // 0 when unknown

  // "FILE:LINE: KEY: MESSAGE"
  std::string toString(const std::filesystem::path& file) const;
};

struct ConfigLoad {
  std::optional<Config> config;
  std::vector<ConfigError> errors;
  bool ok() const { return config.has_value(); }
};

// Both read the environment variable HERALD_ADMIN_PASSWORD (admin.initial_password).
ConfigLoad loadConfigFile(const std::filesystem::path& path);
// Parses text as if read from `source` (relative paths resolve against its folder).
ConfigLoad loadConfigText(std::string_view text, const std::filesystem::path& source);

}  // namespace herald::config
