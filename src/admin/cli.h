#pragma once

// AdminCli: the `herald` subcommands that talk to a node's admin REST API (docs/admin-api.md,
// "CLI"): login, logout, domain, user, param, service, status and audit. Readable aligned
// tables, or the API's JSON as it is with --json. The token from `herald login` is kept with
// its URL in $XDG_RUNTIME_DIR/herald/token (else ~/.config/herald/token), mode 0600;
// HERALD_URL and HERALD_TOKEN override it.
//
// Exit status: 0 success, 1 the API refused the request (its message is printed), 2 usage
// error, 3 the node cannot be reached or the token is not valid.
//
// `herald user add|list|delete|passwd --config FILE` keeps its offline form (the store opened
// directly, for recovery): with --config, AdminCli parses the command and hands it to the
// `offline` callback (src/server implements it) instead of calling the API.
//
//   CLI::App app{"herald"};
//   herald::admin::AdminCli admin(app);
//   app.parse(argc, argv);
//   if (admin.chosen()) return admin.run(herald::admin::processIo(), runOfflineUser);

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace herald::admin {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

// Where the CLI reads and writes; tests give string streams and a fake environment.
struct CliIo {
  std::istream* in = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  // The environment: HERALD_URL, HERALD_TOKEN, XDG_RUNTIME_DIR, HOME.
  std::function<std::optional<std::string>(const std::string& name)> getenv;
  // Asks on the terminal (a secret without echo); nullopt when there is no terminal.
  std::function<std::optional<std::string>(const std::string& prompt, bool secret)> ask;
};

// std::cin/cout/cerr, the process environment, prompts on /dev/tty.
CliIo processIo();

// An offline `herald user VERB ... --config FILE`.
struct OfflineUserCommand {
  std::string verb;  // "add", "list", "delete", "passwd"
  std::filesystem::path config;
  std::string address;
  std::string password;  // add, passwd
  std::string display_name;
  bool json = false;  // list
};
using OfflineUserRunner = std::function<int(const OfflineUserCommand&)>;

class AdminCli {
 public:
  // Adds the subcommands to `app`, which must outlive this object.
  explicit AdminCli(CLI::App& app);
  ~AdminCli();
  AdminCli(const AdminCli&) = delete;
  AdminCli& operator=(const AdminCli&) = delete;

  // True when the parsed command line chose one of these subcommands.
  bool chosen() const;
  // Runs the chosen subcommand; returns the exit status.
  int run(const CliIo& io, const OfflineUserRunner& offline) const;

  struct Options;

 private:
  std::unique_ptr<Options> o_;
};

// After a parse error of `app` on `args` (without the program name): when the error is a
// word that names no command where a command is needed ("herald nonsense", "herald domain
// frob"), the message that says so and lists the commands there; otherwise "". CLI11 itself
// says only "A subcommand is required" then.
std::string unknownCommandMessage(const CLI::App& app, const std::vector<std::string>& args);

// Parses `args` (without the program name) with an App that has only these subcommands and
// runs the chosen one, as main() does; usage errors print on io.err and give 2. For tests.
int runAdminCli(const std::vector<std::string>& args, const CliIo& io,
                const OfflineUserRunner& offline = nullptr);

}  // namespace herald::admin
