// herald: the one binary. Subcommands run a node, check a config, or lint SIP messages; the
// admin commands (login, domain, user, param, service, status, audit) talk to a node's REST API
// (src/admin/cli.h).

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "admin/cli.h"
#include "server/commands.h"

#ifndef HERALD_VERSION
#define HERALD_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  CLI::App app{"Herald: IM & Presence server with SIP federation", "herald"};
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

  // The admin commands (login, domain, user, param, service, status, audit) talk to a node's
  // admin API; `user ... --config FILE` opens the store directly.
  herald::admin::AdminCli admin_cli(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (std::string m = herald::admin::unknownCommandMessage(app, args); !m.empty()) {
      std::cerr << m << "\n";
      return 2;
    }
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (*serve) return herald::server::runServe(serve_config);
  if (*check) return herald::server::runCheckConfig(check_file, std::cout, std::cerr);
  if (*lint) return herald::server::runSipLint(lint_files, std::cout, std::cerr);
  if (admin_cli.chosen()) {
    return admin_cli.run(
        herald::admin::processIo(), [](const herald::admin::OfflineUserCommand& c) {
          using namespace herald::server;
          if (c.verb == "add") {
            return runUserAdd(c.config, c.address, c.password, c.display_name, std::cout,
                              std::cerr);
          }
          if (c.verb == "list") return runUserList(c.config, c.json, std::cout, std::cerr);
          if (c.verb == "delete") return runUserDelete(c.config, c.address, std::cout, std::cerr);
          return runUserPassword(c.config, c.address, c.password, std::cout, std::cerr);
        });
  }
  return 2;
}
