#include "config/config.h"

#include <arpa/inet.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "common/inet.h"
#include "sip/message/uri.h"

namespace herald::config {
namespace {

class Reader {
 public:
  explicit Reader(std::vector<ConfigError>* errors) : errors_(errors) {}

  void error(const std::string& key, const toml::node* node, std::string message) {
    int line = node != nullptr ? static_cast<int>(node->source().begin.line) : 0;
    errors_->push_back(ConfigError{key, std::move(message), line});
  }

  // Reports keys of `table` that are not in `known`.
  void checkKeys(const toml::table& table, const std::string& prefix,
                 std::initializer_list<std::string_view> known) {
    for (const auto& [k, v] : table) {
      bool found = false;
      for (auto name : known) found = found || k.str() == name;
      if (!found) error(join(prefix, std::string(k.str())), &v, "unknown key");
    }
  }

  static std::string join(const std::string& prefix, const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
  }

  const toml::table* table(const toml::table& parent, const std::string& prefix,
                           std::string_view key) {
    const toml::node* n = parent.get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) {
      error(join(prefix, std::string(key)), n, "must be a table");
      return nullptr;
    }
    return n->as_table();
  }

  void string(const toml::table& t, const std::string& prefix, std::string_view key,
              std::string* out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return;
    if (auto v = n->value<std::string>(); v && n->is_string()) {
      *out = *v;
    } else {
      error(join(prefix, std::string(key)), n, "must be a string");
    }
  }

  void boolean(const toml::table& t, const std::string& prefix, std::string_view key,
               bool* out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return;
    if (n->is_boolean()) {
      *out = *n->value<bool>();
    } else {
      error(join(prefix, std::string(key)), n, "must be true or false");
    }
  }

  void path(const toml::table& t, const std::string& prefix, std::string_view key,
            const std::filesystem::path& base, std::filesystem::path* out) {
    std::string s;
    if (t.get(key) == nullptr) return;
    string(t, prefix, key, &s);
    if (s.empty()) {
      out->clear();
    } else {
      std::filesystem::path p(s);
      *out = (p.is_absolute() ? p : base / p).lexically_normal();
    }
  }

  template <class Int>
  void integer(const toml::table& t, const std::string& prefix, std::string_view key, int64_t min,
               int64_t max, Int* out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return;
    if (!n->is_integer()) {
      error(join(prefix, std::string(key)), n, "must be an integer");
      return;
    }
    int64_t v = *n->value<int64_t>();
    if (v < min || v > max) {
      error(join(prefix, std::string(key)), n,
            "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                std::to_string(v));
      return;
    }
    *out = static_cast<Int>(v);
  }

 private:
  std::vector<ConfigError>* errors_;
};

bool validLevel(std::string_view level) {
  static const std::set<std::string_view> kLevels = {"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};
  return kLevels.count(level) != 0;
}

bool validAddress(const std::string& address) {
  unsigned char buf[16];
  return inet_pton(AF_INET, address.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, address.c_str(), buf) == 1;
}

void readNode(Reader& r, const toml::table& root, const std::filesystem::path& base, Config* c) {
  c->node.data_dir = (base / "var").lexically_normal();
  const toml::table* t = r.table(root, "", "node");
  if (t == nullptr) return;
  r.checkKeys(*t, "node", {"name", "data_dir"});
  r.string(*t, "node", "name", &c->node.name);
  if (c->node.name.empty()) r.error("node.name", t->get("name"), "must not be empty");
  r.path(*t, "node", "data_dir", base, &c->node.data_dir);
  if (c->node.data_dir.empty()) r.error("node.data_dir", t->get("data_dir"), "must not be empty");
}

void readLog(Reader& r, const toml::table& root, const std::filesystem::path& base, Config* c) {
  const toml::table* t = r.table(root, "", "log");
  if (t == nullptr) return;
  r.checkKeys(*t, "log", {"level", "file", "subsystems"});
  r.string(*t, "log", "level", &c->log.options.level);
  if (!validLevel(c->log.options.level)) {
    r.error("log.level", t->get("level"),
            "must be one of trace, debug, info, warn, error, critical, off");
  }
  std::filesystem::path file;
  r.path(*t, "log", "file", base, &file);
  c->log.options.file = file.string();
  if (const toml::table* subs = r.table(*t, "log", "subsystems")) {
    for (const auto& [k, v] : *subs) {
      std::string key = "log.subsystems." + std::string(k.str());
      bool known = false;
      for (int i = 0; i < static_cast<int>(log::Subsystem::kCount); ++i) {
        known = known || log::subsystemName(static_cast<log::Subsystem>(i)) == k.str();
      }
      if (!known) {
        r.error(key, &v, "unknown subsystem");
        continue;
      }
      auto level = v.value<std::string>();
      if (!v.is_string() || !validLevel(*level)) {
        r.error(key, &v, "must be one of trace, debug, info, warn, error, critical, off");
        continue;
      }
      c->log.subsystems[std::string(k.str())] = *level;
    }
  }
}

void readSip(Reader& r, const toml::table& root, Config* c) {
  c->sip.listeners = {{Transport::Udp, "0.0.0.0", 5060},
                      {Transport::Tcp, "0.0.0.0", 5060},
                      {Transport::Tls, "0.0.0.0", 5061}};
  const toml::table* t = r.table(root, "", "sip");
  if (t == nullptr) return;
  r.checkKeys(*t, "sip",
              {"domains", "listen", "limits", "hostname", "trusted_sources", "workers",
               "worker_scheduling", "timers", "tcp_idle_timeout", "tcp_message_timeout",
               "max_connections", "max_connections_per_address", "max_write_queue_bytes"});
  r.string(*t, "sip", "hostname", &c->sip.hostname);
  if (!c->sip.hostname.empty()) {
    sip::HostKind kind;
    if (!sip::parseHost(c->sip.hostname, &kind)) {
      r.error("sip.hostname", t->get("hostname"), "must be a host name or IP address");
    }
  }
  r.integer(*t, "sip", "workers", 0, 256, &c->sip.workers);
  r.string(*t, "sip", "worker_scheduling", &c->sip.worker_scheduling);
  if (c->sip.worker_scheduling != "batch" && c->sip.worker_scheduling != "normal") {
    r.error("sip.worker_scheduling", t->get("worker_scheduling"), "must be \"batch\" or \"normal\"");
  }
  r.integer(*t, "sip", "tcp_idle_timeout", 10, 86400, &c->sip.tcp_idle_timeout_s);
  r.integer(*t, "sip", "tcp_message_timeout", 1, 3600, &c->sip.tcp_message_timeout_s);
  r.integer(*t, "sip", "max_connections", 1, 1000000, &c->sip.max_connections);
  r.integer(*t, "sip", "max_connections_per_address", 1, 1000000,
            &c->sip.max_connections_per_address);
  r.integer(*t, "sip", "max_write_queue_bytes", 65536, 1073741824, &c->sip.max_write_queue_bytes);
  if (const toml::node* ts = t->get("trusted_sources")) {
    if (!ts->is_array()) {
      r.error("sip.trusted_sources", ts, "must be an array of addresses or CIDR blocks");
    } else {
      size_t i = 0;
      for (const toml::node& e : *ts->as_array()) {
        std::string key = "sip.trusted_sources[" + std::to_string(i++) + "]";
        auto v = e.value<std::string>();
        if (!e.is_string() || !Cidr::parse(*v)) {
          r.error(key, &e, "must be an IPv4/IPv6 address or CIDR block like 10.0.0.0/8");
          continue;
        }
        c->sip.trusted_sources.push_back(*v);
      }
    }
  }
  if (const toml::table* tm = r.table(*t, "sip", "timers")) {
    r.checkKeys(*tm, "sip.timers", {"t1", "t2", "t4"});
    r.integer(*tm, "sip.timers", "t1", 50, 10000, &c->sip.t1_ms);
    r.integer(*tm, "sip.timers", "t2", 500, 60000, &c->sip.t2_ms);
    r.integer(*tm, "sip.timers", "t4", 500, 60000, &c->sip.t4_ms);
    if (c->sip.t2_ms < c->sip.t1_ms)
      r.error("sip.timers.t2", tm->get("t2"), "must not be below t1");
  }
  if (const toml::node* d = t->get("domains")) {
    if (!d->is_array()) {
      r.error("sip.domains", d, "must be an array of domain names");
    } else {
      std::set<std::string> seen;
      size_t i = 0;
      for (const toml::node& e : *d->as_array()) {
        std::string key = "sip.domains[" + std::to_string(i++) + "]";
        auto name = e.value<std::string>();
        sip::HostKind kind;
        if (!e.is_string() || !sip::parseHost(*name, &kind) || kind != sip::HostKind::Name) {
          r.error(key, &e, "must be a domain name");
          continue;
        }
        std::string lower;
        for (char ch : *name) lower.push_back(static_cast<char>(std::tolower(ch)));
        if (!lower.empty() && lower.back() == '.') lower.pop_back();
        if (!seen.insert(lower).second) {
          r.error(key, &e, "duplicate domain " + lower);
          continue;
        }
        c->sip.domains.push_back(lower);
      }
    }
  }
  if (const toml::node* l = t->get("listen")) {
    if (!l->is_array_of_tables()) {
      r.error("sip.listen", l, "must be an array of tables ([[sip.listen]])");
    } else {
      c->sip.listeners.clear();
      std::set<std::string> seen;
      size_t i = 0;
      for (const toml::node& e : *l->as_array()) {
        std::string prefix = "sip.listen[" + std::to_string(i++) + "]";
        const toml::table& lt = *e.as_table();
        r.checkKeys(lt, prefix, {"transport", "address", "port"});
        Listener listener;
        std::string transport;
        r.string(lt, prefix, "transport", &transport);
        if (transport == "udp") {
          listener.transport = Transport::Udp;
        } else if (transport == "tcp") {
          listener.transport = Transport::Tcp;
        } else if (transport == "tls") {
          listener.transport = Transport::Tls;
          listener.port = 5061;
        } else {
          r.error(prefix + ".transport", lt.get("transport") ? lt.get("transport") : &e,
                  "must be one of udp, tcp, tls");
          continue;
        }
        r.string(lt, prefix, "address", &listener.address);
        if (!validAddress(listener.address)) {
          r.error(prefix + ".address", lt.get("address"), "must be an IPv4 or IPv6 address");
        }
        r.integer(lt, prefix, "port", 0, 65535, &listener.port);
        std::string id = transport + " " + listener.address + " " + std::to_string(listener.port);
        if (!seen.insert(id).second) {
          r.error(prefix, &e, "duplicate listener " + id);
        }
        c->sip.listeners.push_back(listener);
      }
    }
  }
  if (const toml::table* lim = r.table(*t, "sip", "limits")) {
    r.checkKeys(*lim, "sip.limits", {"max_message_bytes", "max_header_count", "max_line_bytes"});
    r.integer(*lim, "sip.limits", "max_message_bytes", 1024, 16 * 1024 * 1024,
              &c->sip.limits.max_message_bytes);
    r.integer(*lim, "sip.limits", "max_header_count", 16, 4096, &c->sip.limits.max_header_count);
    r.integer(*lim, "sip.limits", "max_line_bytes", 256, 1024 * 1024,
              &c->sip.limits.max_line_bytes);
  }
}

void readRegistrar(Reader& r, const toml::table& root, Config* c) {
  const toml::table* t = r.table(root, "", "registrar");
  if (t == nullptr) return;
  r.checkKeys(*t, "registrar",
              {"min_expires", "max_expires", "default_expires", "max_contacts", "nonce_ttl",
               "digest_algorithms", "digest_uri_check"});
  auto& g = c->registrar;
  r.integer(*t, "registrar", "min_expires", 1, 86400, &g.min_expires);
  r.integer(*t, "registrar", "max_expires", 1, 604800, &g.max_expires);
  r.integer(*t, "registrar", "default_expires", 1, 604800, &g.default_expires);
  r.integer(*t, "registrar", "max_contacts", 1, 1000, &g.max_contacts);
  r.integer(*t, "registrar", "nonce_ttl", 10, 86400, &g.nonce_ttl_s);
  r.boolean(*t, "registrar", "digest_uri_check", &g.digest_uri_check);
  if (const toml::node* a = t->get("digest_algorithms")) {
    std::vector<std::string> algorithms;
    bool ok = a->is_array() && !a->as_array()->empty();
    if (ok) {
      for (const toml::node& e : *a->as_array()) {
        auto v = e.value<std::string>();
        if (!e.is_string() || (*v != "SHA-256" && *v != "MD5") ||
            std::find(algorithms.begin(), algorithms.end(), *v) != algorithms.end()) {
          ok = false;
          break;
        }
        algorithms.push_back(*v);
      }
    }
    if (ok) {
      g.digest_algorithms = algorithms;
    } else {
      r.error("registrar.digest_algorithms", a,
              "must be a non-empty list of distinct \"SHA-256\" and \"MD5\"");
    }
  }
  if (g.max_expires < g.min_expires) {
    r.error("registrar.max_expires", t->get("max_expires"), "must not be below min_expires");
  }
}

void readTls(Reader& r, const toml::table& root, const std::filesystem::path& base, Config* c) {
  const toml::table* t = r.table(root, "", "tls");
  if (t == nullptr) return;
  r.checkKeys(*t, "tls",
              {"certificate", "private_key", "ca_file", "ciphers", "min_version", "verify_server"});
  r.string(*t, "tls", "ciphers", &c->tls.ciphers);
  r.string(*t, "tls", "min_version", &c->tls.min_version);
  if (c->tls.min_version != "1.2" && c->tls.min_version != "1.3") {
    r.error("tls.min_version", t->get("min_version"), "must be \"1.2\" or \"1.3\"");
  }
  r.boolean(*t, "tls", "verify_server", &c->tls.verify_server);
  r.path(*t, "tls", "certificate", base, &c->tls.certificate);
  r.path(*t, "tls", "private_key", base, &c->tls.private_key);
  r.path(*t, "tls", "ca_file", base, &c->tls.ca_file);
  if (c->tls.certificate.empty() != c->tls.private_key.empty()) {
    r.error("tls", t, "certificate and private_key must be set together");
  }
  for (auto [key, p] : {std::pair{"tls.certificate", &c->tls.certificate},
                        std::pair{"tls.private_key", &c->tls.private_key},
                        std::pair{"tls.ca_file", &c->tls.ca_file}}) {
    std::error_code ec;
    if (!p->empty() && !std::filesystem::is_regular_file(*p, ec)) {
      r.error(key, t->get(std::string_view(key).substr(4)), "no such file: " + p->string());
    }
  }
}

// The first administrator's password: 12-128 characters without control characters, the rule
// of PUT /admins/{name}/password (docs/admin-api.md).
std::string adminPasswordProblem(const std::string& p) {
  if (p.size() < 12 || p.size() > 128) return "must have 12 to 128 characters";
  for (char ch : p) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) {
      return "must not contain control characters";
    }
  }
  return "";
}

void readAdmin(Reader& r, const toml::table& root, const std::filesystem::path& base, Config* c) {
  AdminConfig& a = c->admin;
  const toml::table* t = r.table(root, "", "admin");
  if (t != nullptr) {
    r.checkKeys(
        *t, "admin",
        {"enabled", "address", "port", "tls_certificate", "tls_private_key", "initial_password",
         "allowed_hosts", "max_connections", "max_connections_per_source", "header_timeout_s",
         "body_timeout_s", "audit_retention_days", "audit_retention_rows"});
    r.boolean(*t, "admin", "enabled", &a.enabled);
    r.string(*t, "admin", "address", &a.address);
    if (!validAddress(a.address)) {
      r.error("admin.address", t->get("address"), "must be an IPv4 or IPv6 address");
    }
    r.integer(*t, "admin", "port", 0, 65535, &a.port);
    r.path(*t, "admin", "tls_certificate", base, &a.tls_certificate);
    r.path(*t, "admin", "tls_private_key", base, &a.tls_private_key);
    r.string(*t, "admin", "initial_password", &a.initial_password);
    r.integer(*t, "admin", "max_connections", 1, 100000, &a.max_connections);
    r.integer(*t, "admin", "max_connections_per_source", 1, 100000,
              &a.max_connections_per_source);
    r.integer(*t, "admin", "header_timeout_s", 1, 300, &a.header_timeout_s);
    r.integer(*t, "admin", "body_timeout_s", 1, 300, &a.body_timeout_s);
    r.integer(*t, "admin", "audit_retention_days", 1, 36500, &a.audit_retention_days);
    r.integer(*t, "admin", "audit_retention_rows", 1000, 100000000, &a.audit_retention_rows);
    if (const toml::node* h = t->get("allowed_hosts")) {
      if (!h->is_array()) {
        r.error("admin.allowed_hosts", h, "must be an array of host names or addresses");
      } else {
        size_t i = 0;
        for (const toml::node& e : *h->as_array()) {
          std::string key = "admin.allowed_hosts[" + std::to_string(i++) + "]";
          auto name = e.value<std::string>();
          sip::HostKind kind;
          if (!e.is_string() || !sip::parseHost(*name, &kind)) {
            r.error(key, &e, "must be a host name or an IP address (no port, no scheme)");
            continue;
          }
          a.allowed_hosts.push_back(*name);
        }
      }
    }
    if (t->get("initial_password") != nullptr) {
      if (auto why = adminPasswordProblem(a.initial_password); !why.empty()) {
        r.error("admin.initial_password", t->get("initial_password"), why);
      }
    }
    if (a.tls_certificate.empty() != a.tls_private_key.empty()) {
      r.error(a.tls_certificate.empty() ? "admin.tls_certificate" : "admin.tls_private_key", t,
              "tls_certificate and tls_private_key must be set together");
    }
    for (auto [key, p] : {std::pair{"admin.tls_certificate", &a.tls_certificate},
                          std::pair{"admin.tls_private_key", &a.tls_private_key}}) {
      std::error_code ec;
      if (!p->empty() && !std::filesystem::is_regular_file(*p, ec)) {
        r.error(key, t->get(std::string_view(key).substr(6)), "no such file: " + p->string());
      }
    }
    auto ep = Endpoint::fromAddress(a.address, 0);
    if (a.enabled && ep && !ep->isLoopback() && a.tls_certificate.empty() &&
        a.tls_private_key.empty()) {
      r.error("admin.tls_certificate", t,
              "required when admin.address (" + a.address +
                  ") is not a loopback address: the admin API carries passwords and tokens");
    }
  }
  if (const char* env = std::getenv("HERALD_ADMIN_PASSWORD"); env != nullptr && *env != '\0') {
    a.initial_password = env;
    if (auto why = adminPasswordProblem(a.initial_password); !why.empty()) {
      r.error("admin.initial_password", nullptr, "HERALD_ADMIN_PASSWORD " + why);
    }
  }
}

void readDns(Reader& r, const toml::table& root, Config* c) {
  const toml::table* t = r.table(root, "", "dns");
  if (t == nullptr) return;
  r.checkKeys(*t, "dns", {"servers", "timeout_ms", "attempts", "cache_entries"});
  r.integer(*t, "dns", "timeout_ms", 100, 30000, &c->dns.timeout_ms);
  r.integer(*t, "dns", "attempts", 1, 10, &c->dns.attempts);
  r.integer(*t, "dns", "cache_entries", 0, 10000000, &c->dns.cache_entries);
  if (const toml::node* s = t->get("servers")) {
    if (!s->is_array()) {
      r.error("dns.servers", s, "must be an array of \"address\" or \"address:port\" strings");
      return;
    }
    size_t i = 0;
    for (const toml::node& e : *s->as_array()) {
      std::string key = "dns.servers[" + std::to_string(i++) + "]";
      auto text = e.value<std::string>();
      std::optional<Endpoint> ep;
      if (e.is_string()) ep = Endpoint::parse(*text, 53);
      if (!ep || ep->port() == 0) {
        r.error(key, &e,
                "must be an IPv4 or IPv6 address with an optional port 1-65535, like "
                "\"192.0.2.53\", \"127.0.0.54:5353\" or \"[2001:db8::53]:53\"");
        continue;
      }
      c->dns.servers.push_back(*ep);
    }
  }
}

}  // namespace

std::string_view transportName(Transport t) {
  switch (t) {
    case Transport::Udp:
      return "udp";
    case Transport::Tcp:
      return "tcp";
    case Transport::Tls:
      return "tls";
  }
  return "?";
}

std::string ConfigError::toString(const std::filesystem::path& file) const {
  std::string out = file.string();
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
  }
  out += ": ";
  if (!key.empty()) {
    out += key;
    out += ": ";
  }
  out += message;
  return out;
}

ConfigLoad loadConfigText(std::string_view text, const std::filesystem::path& source) {
  ConfigLoad load;
  toml::table root;
  try {
    root = toml::parse(text, source.string());
  } catch (const toml::parse_error& e) {
    load.errors.push_back(
        ConfigError{"", std::string(e.description()), static_cast<int>(e.source().begin.line)});
    return load;
  }
  Reader r(&load.errors);
  Config c;
  c.source = source;
  std::filesystem::path base = source.parent_path();
  if (base.empty()) base = ".";
  readNode(r, root, base, &c);
  readLog(r, root, base, &c);
  readSip(r, root, &c);
  readRegistrar(r, root, &c);
  readTls(r, root, base, &c);
  readAdmin(r, root, base, &c);
  readDns(r, root, &c);
  r.checkKeys(root, "", {"node", "log", "sip", "registrar", "tls", "admin", "dns"});
  if (load.errors.empty()) load.config = std::move(c);
  return load;
}

ConfigLoad loadConfigFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigLoad load;
    load.errors.push_back(ConfigError{"", "cannot read the file", 0});
    return load;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return loadConfigText(ss.str(), path);
}

}  // namespace herald::config
