#include "config/config.h"

#include <gtest/gtest.h>

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

TEST(ConfigTest, ShippedConfigIsValid) {
  ConfigLoad l = loadConfigFile(std::string(HERALD_SOURCE_DIR) + "/etc/herald.toml");
  ASSERT_TRUE(l.ok()) << l.errors[0].toString("etc/herald.toml");
  EXPECT_FALSE(l.config->sip.domains.empty());
}

}  // namespace
}  // namespace herald::config
