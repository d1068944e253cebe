#pragma once

// The herald subcommands that do not talk to a running node. main() parses the command line
// (CLI11) and calls these; tests call them directly. Each returns the process exit status.

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace herald::server {

// `herald serve --config FILE`: runs a node until SIGINT or SIGTERM. 0 after a clean stop,
// 1 on a config or start-up error (each reported on stderr).
int runServe(const std::filesystem::path& config_path);

// `herald check-config FILE`: 0 and "FILE: ok" when valid; 1 and one line per error otherwise.
int runCheckConfig(const std::filesystem::path& config_path, std::ostream& out, std::ostream& err);

// `herald sip-lint FILE...`: parses each file as one SIP message (as a UDP datagram) with full
// validation and prints one line per file:
//   FILE: ok REQUEST <METHOD> <Request-URI>
//   FILE: ok RESPONSE <code>
//   FILE: invalid <status> <reason>
// 0 when all are ok, 1 when any is invalid, 2 when a file cannot be read or none is given.
int runSipLint(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

// `herald user add|list|delete|passwd`: manage local users in the node's store (found through
// the config's data_dir), usable while the node runs (it notices within a second).
// Passwords are kept only as digest HA1 values (MD5 and SHA-256, realm = domain).
// 0 on success, 1 on a refused change (message on err), 2 on usage errors.
int runUserAdd(const std::filesystem::path& config_path, const std::string& address,
               const std::string& password, const std::string& display_name, std::ostream& out,
               std::ostream& err);
int runUserList(const std::filesystem::path& config_path, bool json, std::ostream& out,
                std::ostream& err);
int runUserDelete(const std::filesystem::path& config_path, const std::string& address,
                  std::ostream& out, std::ostream& err);
int runUserPassword(const std::filesystem::path& config_path, const std::string& address,
                    const std::string& password, std::ostream& out, std::ostream& err);

}  // namespace herald::server
