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

}  // namespace herald::server
