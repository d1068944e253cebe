// herald: the one binary. Subcommands run a node, check a config, or lint SIP messages; the
// admin commands (domain, user, service...) talk to a node's REST API.

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

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

  // herald user add|list|delete|passwd
  std::string user_config = "etc/herald.toml";
  auto* user = app.add_subcommand("user", "Manage local users (stored with digest HA1 only)");
  user->require_subcommand(1);
  user->add_option("-c,--config", user_config, "Configuration file of the node")
      ->capture_default_str();
  std::string user_address, user_password, user_display;
  bool password_stdin = false;
  bool list_json = false;
  auto* user_add = user->add_subcommand("add", "Add a user: herald user add alice@example.com");
  user_add->add_option("ADDRESS", user_address, "USER@DOMAIN (DOMAIN must be a local domain)")
      ->required();
  user_add->add_option("-p,--password", user_password, "Password (or use --password-stdin)");
  user_add->add_flag("--password-stdin", password_stdin, "Read the password from standard input");
  user_add->add_option("-n,--display-name", user_display, "Display name");
  auto* user_list = user->add_subcommand("list", "List users");
  user_list->add_flag("--json", list_json, "JSON output for scripts");
  auto* user_delete = user->add_subcommand("delete", "Delete a user");
  user_delete->add_option("ADDRESS", user_address, "USER@DOMAIN")->required();
  auto* user_passwd = user->add_subcommand("passwd", "Set a user's password");
  user_passwd->add_option("ADDRESS", user_address, "USER@DOMAIN")->required();
  user_passwd->add_option("-p,--password", user_password, "Password (or use --password-stdin)");
  user_passwd->add_flag("--password-stdin", password_stdin,
                        "Read the password from standard input");
  // --config may come after the verb ("herald user add x@y -c node.toml").
  for (auto* sub : {user_add, user_list, user_delete, user_passwd}) sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (*serve) return herald::server::runServe(serve_config);
  if (*check) return herald::server::runCheckConfig(check_file, std::cout, std::cerr);
  if (*lint) return herald::server::runSipLint(lint_files, std::cout, std::cerr);
  if (*user) {
    if ((*user_add || *user_passwd) && password_stdin) std::getline(std::cin, user_password);
    if ((*user_add || *user_passwd) && user_password.empty()) {
      std::cerr << "user: give --password or --password-stdin\n";
      return 2;
    }
    if (*user_add) {
      return herald::server::runUserAdd(user_config, user_address, user_password, user_display,
                                        std::cout, std::cerr);
    }
    if (*user_list)
      return herald::server::runUserList(user_config, list_json, std::cout, std::cerr);
    if (*user_delete) {
      return herald::server::runUserDelete(user_config, user_address, std::cout, std::cerr);
    }
    if (*user_passwd) {
      return herald::server::runUserPassword(user_config, user_address, user_password, std::cout,
                                             std::cerr);
    }
  }
  return 2;
}
