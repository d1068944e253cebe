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
};

struct TlsConfig {
  // PEM certificate chain and key. Default: empty, meaning a self-signed development
  // certificate generated on first start under <data_dir>/tls/.
  std::filesystem::path certificate;
  std::filesystem::path private_key;
  // PEM CA bundle for verifying peers. Default: empty (system store).
  std::filesystem::path ca_file;
};

struct Config {
  std::filesystem::path source;  // the file it was read from
  NodeConfig node;
  LogConfig log;
  SipConfig sip;
  TlsConfig tls;
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

ConfigLoad loadConfigFile(const std::filesystem::path& path);
// Parses text as if read from `source` (relative paths resolve against its folder).
ConfigLoad loadConfigText(std::string_view text, const std::filesystem::path& source);

}  // namespace herald::config
