#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace herald::config {
namespace {

ConfigLoad load(std::string_view text) { return loadConfigText(text, "/etc/herald/herald.toml"); }

std::vector<std::string> errorKeys(const ConfigLoad& l) {
  std::vector<std::string> keys;
  for (const auto& e : l.errors) keys.push_back(e.key);
  return keys;
}

TEST(ConfigTest, EmptyFileGivesDefaults) {
  ConfigLoad l = load("");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l.config->node.name, "herald");
  EXPECT_EQ(l.config->node.data_dir, "/etc/herald/var");
  ASSERT_EQ(l.config->sip.listeners.size(), 3u);
  EXPECT_EQ(l.config->sip.listeners[2].transport, Transport::Tls);
  EXPECT_EQ(l.config->sip.listeners[2].port, 5061);
  EXPECT_EQ(l.config->sip.limits.max_message_bytes, 65536u);
  EXPECT_EQ(l.config->log.options.level, "info");
  EXPECT_EQ(l.config->sip.worker_scheduling, "batch");
}

TEST(ConfigTest, ReadsEveryKey) {
  ConfigLoad l = load(R"(
[node]
name = "edge-1"
data_dir = "/var/lib/herald"

[log]
level = "debug"
file = "herald.log"
[log.subsystems]
"sip.parser" = "trace"

[sip]
domains = ["Example.COM.", "example.org"]
worker_scheduling = "normal"
[[sip.listen]]
transport = "udp"
address = "127.0.0.1"
port = 5070
[[sip.listen]]
transport = "tls"
address = "::1"
[sip.limits]
max_message_bytes = 131072
max_header_count = 100
max_line_bytes = 4096
)");
  ASSERT_TRUE(l.ok()) << l.errors[0].toString("x");
  const Config& c = *l.config;
  EXPECT_EQ(c.node.name, "edge-1");
  EXPECT_EQ(c.node.data_dir, "/var/lib/herald");
  EXPECT_EQ(c.log.options.level, "debug");
  EXPECT_EQ(c.log.options.file, "/etc/herald/herald.log");
  EXPECT_EQ(c.log.subsystems.at("sip.parser"), "trace");
  EXPECT_EQ(c.sip.domains, (std::vector<std::string>{"example.com", "example.org"}));
  ASSERT_EQ(c.sip.listeners.size(), 2u);
  EXPECT_EQ(c.sip.listeners[0].port, 5070);
  EXPECT_EQ(c.sip.listeners[1].address, "::1");
  EXPECT_EQ(c.sip.listeners[1].port, 5061);
  EXPECT_EQ(c.sip.limits.max_message_bytes, 131072u);
  EXPECT_EQ(c.sip.limits.max_header_count, 100u);
  EXPECT_EQ(c.sip.limits.max_line_bytes, 4096u);
  EXPECT_EQ(c.sip.worker_scheduling, "normal");
}

TEST(ConfigTest, WorkerSchedulingIsBatchOrNormal) {
  ConfigLoad l = load("[sip]\nworker_scheduling = \"realtime\"\n");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(errorKeys(l), (std::vector<std::string>{"sip.worker_scheduling"}));
  EXPECT_EQ(l.errors[0].message, "must be \"batch\" or \"normal\"");
  EXPECT_EQ(l.errors[0].line, 2);
}

TEST(ConfigTest, TcpMessageTimeoutDefaultsTo10sAndNamesItsKey) {
  EXPECT_EQ(load("").config->sip.tcp_message_timeout_s, 10u);
  EXPECT_EQ(load("[sip]\ntcp_message_timeout = 3\n").config->sip.tcp_message_timeout_s, 3u);
  for (const char* bad : {"0", "3601", "\"10s\""}) {
    ConfigLoad l = load(std::string("[sip]\ntcp_message_timeout = ") + bad + "\n");
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(errorKeys(l), (std::vector<std::string>{"sip.tcp_message_timeout"})) << bad;
  }
}

TEST(ConfigTest, MaxConnectionsPerAddressDefaultsTo64AndNamesItsKey) {
  EXPECT_EQ(load("").config->sip.max_connections_per_address, 64u);
  EXPECT_EQ(load("[sip]\nmax_connections_per_address = 5\n").config->sip.max_connections_per_address,
            5u);
  for (const char* bad : {"0", "-1", "1000001", "true"}) {
    ConfigLoad l = load(std::string("[sip]\nmax_connections_per_address = ") + bad + "\n");
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(errorKeys(l), (std::vector<std::string>{"sip.max_connections_per_address"})) << bad;
  }
}

TEST(ConfigTest, MaxWriteQueueBytesDefaultsTo4MiBAndNamesItsKey) {
  EXPECT_EQ(load("").config->sip.max_write_queue_bytes, 4194304u);
  EXPECT_EQ(load("[sip]\nmax_write_queue_bytes = 65536\n").config->sip.max_write_queue_bytes,
            65536u);
  EXPECT_EQ(load("[sip]\nmax_write_queue_bytes = 1073741824\n").config->sip.max_write_queue_bytes,
            1073741824u);
  for (const char* bad : {"0", "65535", "-1", "1073741825", "\"4MiB\"", "true"}) {
    ConfigLoad l = load(std::string("[sip]\nmax_write_queue_bytes = ") + bad + "\n");
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(errorKeys(l), (std::vector<std::string>{"sip.max_write_queue_bytes"})) << bad;
  }
}

TEST(ConfigTest, DnsDefaultsToResolvConf) {
  ConfigLoad l = load("");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l.config->dns.servers.empty());
  EXPECT_EQ(l.config->dns.timeout_ms, 1000u);
  EXPECT_EQ(l.config->dns.attempts, 2u);
  EXPECT_EQ(l.config->dns.cache_entries, 100000u);
}

TEST(ConfigTest, ReadsTheDnsTable) {
  ConfigLoad l = load(R"([dns]
servers = ["127.0.0.54:5353", "192.0.2.53", "[2001:db8::53]:5300", "2001:db8::1"]
timeout_ms = 250
attempts = 3
cache_entries = 0
)");
  ASSERT_TRUE(l.ok()) << l.errors[0].toString("x");
  const DnsConfig& d = l.config->dns;
  ASSERT_EQ(d.servers.size(), 4u);
  EXPECT_EQ(d.servers[0].toString(), "127.0.0.54:5353");
  EXPECT_EQ(d.servers[1].toString(), "192.0.2.53:53");
  EXPECT_EQ(d.servers[2].toString(), "[2001:db8::53]:5300");
  EXPECT_EQ(d.servers[3].toString(), "[2001:db8::1]:53");
  EXPECT_EQ(d.timeout_ms, 250u);
  EXPECT_EQ(d.attempts, 3u);
  EXPECT_EQ(d.cache_entries, 0u);
}

TEST(ConfigTest, DnsErrorsNameTheirKeys) {
  struct Case {
    const char* text;
    const char* key;
  };
  for (const Case& c : std::vector<Case>{
           {"servers = \"127.0.0.1\"", "dns.servers"},
           {"servers = [\"127.0.0.1\", \"ns.example.com\"]", "dns.servers[1]"},
           {"servers = [\"127.0.0.1:0\"]", "dns.servers[0]"},
           {"servers = [\"127.0.0.1:70000\"]", "dns.servers[0]"},
           {"servers = [\"[::1\"]", "dns.servers[0]"},
           {"servers = [53]", "dns.servers[0]"},
           {"timeout_ms = 99", "dns.timeout_ms"},
           {"timeout_ms = 30001", "dns.timeout_ms"},
           {"attempts = 0", "dns.attempts"},
           {"attempts = 11", "dns.attempts"},
           {"cache_entries = -1", "dns.cache_entries"},
           {"cache_entries = \"many\"", "dns.cache_entries"},
           {"retries = 2", "dns.retries"},
       }) {
    ConfigLoad l = load(std::string("[dns]\n") + c.text + "\n");
    ASSERT_FALSE(l.ok()) << c.text;
    EXPECT_EQ(errorKeys(l), (std::vector<std::string>{c.key})) << c.text;
    EXPECT_EQ(l.errors[0].line, 2) << c.text;
  }
}

TEST(ConfigTest, DigestUriCheckIsABoolean) {
  EXPECT_TRUE(load("").config->registrar.digest_uri_check);
  ConfigLoad off = load("[registrar]\ndigest_uri_check = false\n");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off.config->registrar.digest_uri_check);
  ConfigLoad bad = load("[registrar]\ndigest_uri_check = \"no\"\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(errorKeys(bad), (std::vector<std::string>{"registrar.digest_uri_check"}));
  EXPECT_EQ(bad.errors[0].message, "must be true or false");
  EXPECT_EQ(bad.errors[0].line, 2);
}

TEST(ConfigTest, ReportsEveryErrorWithItsKeyAndLine) {
  ConfigLoad l = load(R"(
[node]
name = 5
colour = "blue"

[log]
level = "loud"
[log.subsystems]
"sip.nothing" = "debug"

[sip]
domains = ["ok.example", "not a domain", "OK.example"]
[[sip.listen]]
transport = "sctp"
[[sip.listen]]
transport = "udp"
address = "localhost"
port = 70000
[sip.limits]
max_message_bytes = "big"

[tls]
certificate = "/nonexistent/cert.pem"

[admin2]
)");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(errorKeys(l), (std::vector<std::string>{
                              "node.colour", "node.name", "log.level", "log.subsystems.sip.nothing",
                              "sip.domains[1]", "sip.domains[2]", "sip.listen[0].transport",
                              "sip.listen[1].address", "sip.listen[1].port",
                              "sip.limits.max_message_bytes", "tls", "tls.certificate", "admin2"}))
      << [&] {
           std::string s;
           for (auto& e : l.errors) s += e.toString("f") + "\n";
           return s;
         }();
  EXPECT_EQ(l.errors[0].line, 4);  // node.colour
  EXPECT_EQ(l.errors[8].message, "must be between 0 and 65535, got 70000");
  EXPECT_EQ(l.errors[8].toString("/etc/herald.toml"),
            "/etc/herald.toml:18: sip.listen[1].port: must be between 0 and 65535, got 70000");
}

TEST(ConfigTest, ReportsTomlSyntaxErrors) {
  ConfigLoad l = load("[node\nname = 1");
  ASSERT_FALSE(l.ok());
  ASSERT_EQ(l.errors.size(), 1u);
  EXPECT_EQ(l.errors[0].line, 1);
}

TEST(ConfigTest, MissingFileIsAnError) {
  ConfigLoad l = loadConfigFile("/nonexistent/herald.toml");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.errors[0].message, "cannot read the file");
}

TEST(ConfigTest, AdminDefaultsToLoopbackPort8080) {
  ConfigLoad l = load("");
  ASSERT_TRUE(l.ok());
  const AdminConfig& a = l.config->admin;
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.address, "127.0.0.1");
  EXPECT_EQ(a.port, 8080);
  EXPECT_TRUE(a.tls_certificate.empty());
  EXPECT_TRUE(a.tls_private_key.empty());
  EXPECT_TRUE(a.initial_password.empty());
}

// Two empty files standing for a certificate and its key.
class AdminTlsFiles {
 public:
  AdminTlsFiles() : dir_(std::filesystem::temp_directory_path() / "herald-config-test-admin") {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "admin.pem") << "x";
    std::ofstream(dir_ / "admin.key") << "x";
  }
  ~AdminTlsFiles() { std::filesystem::remove_all(dir_); }
  std::string cert() const { return (dir_ / "admin.pem").string(); }
  std::string key() const { return (dir_ / "admin.key").string(); }

 private:
  std::filesystem::path dir_;
};

TEST(ConfigTest, ReadsTheAdminTable) {
  AdminTlsFiles files;
  ConfigLoad l = load(R"(
[admin]
enabled = true
address = "0.0.0.0"
port = 9443
tls_certificate = ")" +
                      files.cert() + R"("
tls_private_key = ")" +
                      files.key() + R"("
initial_password = "correct horse battery"
)");
  ASSERT_TRUE(l.ok()) << l.errors[0].toString("x");
  const AdminConfig& a = l.config->admin;
  EXPECT_EQ(a.address, "0.0.0.0");
  EXPECT_EQ(a.port, 9443);
  EXPECT_EQ(a.tls_certificate, files.cert());
  EXPECT_EQ(a.tls_private_key, files.key());
  EXPECT_EQ(a.initial_password, "correct horse battery");
  EXPECT_FALSE(load("[admin]\nenabled = false\n").config->admin.enabled);
}

TEST(ConfigTest, AdminErrorsNameTheirKeys) {
  ConfigLoad l = load(R"(
[admin]
enabled = "yes"
address = "localhost"
port = 70000
tls_certificate = "/nonexistent/admin.pem"
initial_password = "short"
colour = "blue"
)");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(errorKeys(l),
            (std::vector<std::string>{"admin.colour", "admin.enabled", "admin.address",
                                      "admin.port", "admin.initial_password",
                                      "admin.tls_private_key", "admin.tls_certificate"}))
      << [&] {
           std::string s;
           for (auto& e : l.errors) s += e.toString("f") + "\n";
           return s;
         }();
  EXPECT_EQ(l.errors[4].message, "must have 12 to 128 characters");
  EXPECT_EQ(l.errors[6].message, "no such file: /nonexistent/admin.pem");
}

TEST(ConfigTest, AdminListenerLimits) {
  const AdminConfig defaults = load("").config->admin;
  EXPECT_TRUE(defaults.allowed_hosts.empty());
  EXPECT_EQ(defaults.max_connections, 128u);
  EXPECT_EQ(defaults.max_connections_per_source, 16u);
  EXPECT_EQ(defaults.header_timeout_s, 10u);
  EXPECT_EQ(defaults.body_timeout_s, 10u);
  EXPECT_EQ(defaults.audit_retention_days, 365u);
  EXPECT_EQ(defaults.audit_retention_rows, 100000u);
  ConfigLoad l = load(R"(
[admin]
allowed_hosts = ["console.example.org", "192.0.2.7"]
max_connections = 500
max_connections_per_source = 4
header_timeout_s = 5
body_timeout_s = 30
audit_retention_days = 30
audit_retention_rows = 5000
)");
  ASSERT_TRUE(l.ok()) << l.errors[0].toString("x");
  const AdminConfig& a = l.config->admin;
  EXPECT_EQ(a.allowed_hosts, (std::vector<std::string>{"console.example.org", "192.0.2.7"}));
  EXPECT_EQ(a.max_connections, 500u);
  EXPECT_EQ(a.max_connections_per_source, 4u);
  EXPECT_EQ(a.header_timeout_s, 5u);
  EXPECT_EQ(a.body_timeout_s, 30u);
  EXPECT_EQ(a.audit_retention_days, 30u);
  EXPECT_EQ(a.audit_retention_rows, 5000u);
  ConfigLoad bad = load(R"(
[admin]
allowed_hosts = ["https://console.example.org", 7]
max_connections = 0
header_timeout_s = 301
audit_retention_days = 0
audit_retention_rows = 999
)");
  EXPECT_EQ(errorKeys(bad),
            (std::vector<std::string>{"admin.max_connections", "admin.header_timeout_s",
                                      "admin.audit_retention_days", "admin.audit_retention_rows",
                                      "admin.allowed_hosts[0]", "admin.allowed_hosts[1]"}));
  EXPECT_EQ(errorKeys(load("[admin]\nallowed_hosts = \"x\"\n")),
            (std::vector<std::string>{"admin.allowed_hosts"}));
}

TEST(ConfigTest, AdminOnANonLoopbackAddressNeedsTls) {
  ConfigLoad l = load("[admin]\naddress = \"192.0.2.10\"\n");
  ASSERT_FALSE(l.ok());
  ASSERT_EQ(l.errors.size(), 1u);
  EXPECT_EQ(l.errors[0].key, "admin.tls_certificate");
  EXPECT_EQ(l.errors[0].message.rfind("required when admin.address (192.0.2.10) is not", 0), 0u);
  EXPECT_TRUE(load("[admin]\naddress = \"::1\"\n").ok());
  EXPECT_TRUE(load("[admin]\naddress = \"127.0.0.2\"\n").ok());
  EXPECT_TRUE(load("[admin]\naddress = \"0.0.0.0\"\nenabled = false\n").ok());
}

TEST(ConfigTest, AdminPasswordFromTheEnvironment) {
  setenv("HERALD_ADMIN_PASSWORD", "from the environment", 1);
  ConfigLoad l = load("[admin]\ninitial_password = \"from the config file\"\n");
  ConfigLoad bad_env = [] {
    setenv("HERALD_ADMIN_PASSWORD", "short", 1);
    return load("");
  }();
  unsetenv("HERALD_ADMIN_PASSWORD");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l.config->admin.initial_password, "from the environment");
  ASSERT_FALSE(bad_env.ok());
  EXPECT_EQ(bad_env.errors[0].key, "admin.initial_password");
  EXPECT_EQ(bad_env.errors[0].message, "HERALD_ADMIN_PASSWORD must have 12 to 128 characters");
}

TEST(ConfigTest, ShippedConfigIsValid) {
  ConfigLoad l = loadConfigFile(std::string(HERALD_SOURCE_DIR) + "/etc/herald.toml");
  ASSERT_TRUE(l.ok()) << l.errors[0].toString("etc/herald.toml");
  EXPECT_FALSE(l.config->sip.domains.empty());
}

}  // namespace
}  // namespace herald::config
