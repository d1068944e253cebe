// herald: the one binary. Subcommands run a node, check a config, or lint SIP messages; the
// admin commands (domain, user, service...) talk to a node's REST API.

#include <CLI/CLI.hpp>

#include <iostream>

#include "server/commands.h"

#ifndef HERALD_VERSION
#define HERALD_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  CLI::App app{"Herald: IM & Presence server with SIP federation"};
  app.set_version_flag("--version", std::string("herald ") + HERALD_VERSION);
  app.require_subcommand(1);

  std::string serve_config;
  auto* serve = app.add_subcommand("serve", "Run a node until SIGINT or SIGTERM");
  serve->add_option("-c,--config", serve_config, "Configuration file (TOML)")
      ->required()
      ->check(CLI::ExistingFile);

  std::string check_file;
  auto* check = app.add_subcommand(
      "check-config", "Validate a configuration file; print every error with its key and line");
  check->add_option("FILE", check_file, "Configuration file (TOML)")->required();

  std::vector<std::string> lint_files;
  auto* lint = app.add_subcommand(
      "sip-lint",
      "Parse each file as one SIP message and report 'ok REQUEST <METHOD> <URI>', "
      "'ok RESPONSE <code>' or 'invalid <status> <reason>'. Exit 0: all ok, 1: any invalid, "
      "2: usage error");
  lint->add_option("FILE", lint_files, "Files holding one SIP message each")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (*serve) return herald::server::runServe(serve_config);
  if (*check) return herald::server::runCheckConfig(check_file, std::cout, std::cerr);
  if (*lint) return herald::server::runSipLint(lint_files, std::cout, std::cerr);
  return 2;
}
