#include "server/commands.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "common/log.h"
#include "config/config.h"
#include "registrar/digest.h"
#include "server/node.h"
#include "sip/message/chars.h"
#include "sip/message/uri.h"
#include "sip/parser/message_parser.h"
#include "store/file_modes.h"
#include "store/store.h"

namespace herald::server {

int runCheckConfig(const std::filesystem::path& config_path, std::ostream& out, std::ostream& err) {
  config::ConfigLoad load = config::loadConfigFile(config_path);
  if (!load.ok()) {
    for (const auto& e : load.errors) err << e.toString(config_path) << "\n";
    return 1;
  }
  out << config_path.string() << ": ok\n";
  return 0;
}

int runSipLint(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  if (files.empty()) {
    err << "sip-lint: no files given\n";
    return 2;
  }
  int status = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      err << file << ": cannot read\n";
      status = 2;
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string bytes = ss.str();
    auto msg = sip::MessageParser::parseDatagram(sip::Buffer::copyOf(bytes));
    sip::ParseResult<void> valid;
    if (msg) valid = sip::validate(*msg, sip::Validation::Full);
    if (!msg || !valid) {
      const sip::ParseError& e = msg ? valid.error() : msg.error();
      out << file << ": invalid " << e.status << " " << e.toString() << "\n";
      if (status == 0) status = 1;
      continue;
    }
    if (msg->isRequest()) {
      out << file << ": ok REQUEST " << msg->requestLine().method_text << " "
          << msg->requestLine().uri << "\n";
    } else {
      out << file << ": ok RESPONSE " << msg->statusCode() << "\n";
    }
  }
  return status;
}

int runServe(const std::filesystem::path& config_path) {
  config::ConfigLoad load = config::loadConfigFile(config_path);
  if (!load.ok()) {
    for (const auto& e : load.errors) std::cerr << e.toString(config_path) << "\n";
    std::cerr << "herald: " << load.errors.size() << " configuration error(s), not starting\n";
    return 1;
  }
  log::init(load.config->log.options);
  for (const auto& [subsystem, level] : load.config->log.subsystems) {
    log::setLevel(subsystem, level);
  }

  // Signals are taken synchronously by this thread; block them before any thread starts so
  // that workers never receive them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::filesystem::path password_file =
      load.config->node.data_dir / "initial-admin-password";
  const bool had_password_file = std::filesystem::exists(password_file);
  Node node(std::move(*load.config));
  if (auto started = node.start(); !started) {
    HLOG_ERROR(Server, "cannot start: {}", started.error().toString());
    return 1;
  }
  // First start with a generated administrator password: show it once to the person at the
  // terminal (`make run`), never to the log; a service manager finds it in the file.
  if (!had_password_file && std::filesystem::exists(password_file) && ::isatty(1) == 1) {
    std::ifstream in(password_file);
    std::string password;
    std::getline(in, password);
    std::cout << "\n  Administrator: admin   password: " << password << "\n  (kept in "
              << password_file.string() << "; sign in and change it)\n\n"
              << std::flush;
  }
  HLOG_INFO(Server, "running; stop with Ctrl-C (SIGINT) or SIGTERM");
  int sig = 0;
  sigwait(&signals, &sig);
  HLOG_INFO(Server, "{} received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  node.stop();
  return 0;
}

namespace {

struct Address {
  std::string user;
  std::string domain;
};

// "alice@example.com": a SIP user part (no escapes needed) and a domain name.
std::optional<Address> parseAddress(const std::string& text, std::string* why) {
  size_t at = text.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == text.size()) {
    *why = "expected USER@DOMAIN, got '" + text + "'";
    return std::nullopt;
  }
  Address a{text.substr(0, at), text.substr(at + 1)};
  for (char& c : a.domain) c = sip::chars::toLower(c);
  sip::HostKind kind;
  if (!sip::parseHost(a.domain, &kind) || kind != sip::HostKind::Name) {
    *why = "'" + a.domain + "' is not a domain name";
    return std::nullopt;
  }
  // The user part as a SIP URI writes it; %HH escapes stand for any other octet.
  if (a.user.size() > 128 ||
      !sip::chars::allOf(a.user, sip::chars::kUnreserved | sip::chars::kUserExtra, true)) {
    *why = "'" + a.user +
           "' is not a valid user name (letters, digits, - _ . ! ~ * ' ( ) & = + $ , ; ? / and "
           "%HH escapes)";
    return std::nullopt;
  }
  a.user = sip::unescape(a.user);
  return a;
}

bool validPassword(const std::string& p, std::string* why) {
  if (p.empty() || p.size() > 256) {
    *why = "the password must have 1 to 256 characters";
    return false;
  }
  for (char c : p) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      *why = "the password must not contain control characters";
      return false;
    }
  }
  return true;
}

// Opens the store of the node configured in config_path.
Result<std::unique_ptr<store::Store>> openNodeStore(const std::filesystem::path& config_path,
                                                    config::Config* config, std::ostream& err) {
  config::ConfigLoad load = config::loadConfigFile(config_path);
  if (!load.ok()) {
    for (const auto& e : load.errors) err << e.toString(config_path) << "\n";
    return unexpected(invalidArgument("configuration errors"));
  }
  *config = *load.config;
  HERALD_TRY(store::ensurePrivateDirectory(config->node.data_dir));
  return store::openSqliteStore(config->node.data_dir / "herald.db");
}

}  // namespace

int runUserAdd(const std::filesystem::path& config_path, const std::string& address,
               const std::string& password, const std::string& display_name, std::ostream& out,
               std::ostream& err) {
  std::string why;
  auto a = parseAddress(address, &why);
  if (!a || !validPassword(password, &why)) {
    err << "user add: " << why << "\n";
    return 2;
  }
  config::Config config;
  auto s = openNodeStore(config_path, &config, err);
  if (!s) {
    err << "user add: " << s.error().toString() << "\n";
    return 1;
  }
  if (std::find(config.sip.domains.begin(), config.sip.domains.end(), a->domain) ==
      config.sip.domains.end()) {
    err << "user add: " << a->domain << " is not a local domain of this node (sip.domains)\n";
    return 1;
  }
  store::UserRecord u;
  u.username = a->user;
  u.domain = a->domain;
  u.display_name = display_name;
  u.ha1_md5 = registrar::computeHa1(registrar::DigestAlgorithm::Md5, a->user, a->domain, password);
  u.ha1_sha256 =
      registrar::computeHa1(registrar::DigestAlgorithm::Sha256, a->user, a->domain, password);
  u.created_at = SystemClock::instance().unixSeconds();
  auto added = (*s)->addUser(u);
  if (!added) {
    err << "user add: " << added.error().detail << "\n";
    return 1;
  }
  out << "added " << address << "\n";
  return 0;
}

int runUserList(const std::filesystem::path& config_path, bool json, std::ostream& out,
                std::ostream& err) {
  config::Config config;
  auto s = openNodeStore(config_path, &config, err);
  if (!s) {
    err << "user list: " << s.error().toString() << "\n";
    return 1;
  }
  auto users = (*s)->listUsers();
  if (!users) {
    err << "user list: " << users.error().toString() << "\n";
    return 1;
  }
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& u : *users) {
      list.push_back({{"address", u.username + "@" + u.domain},
                      {"display_name", u.display_name},
                      {"created_at", u.created_at}});
    }
    out << list.dump() << "\n";
    return 0;
  }
  out << "ADDRESS" << std::string(34, ' ') << "DISPLAY NAME\n";
  for (const auto& u : *users) {
    std::string addr = u.username + "@" + u.domain;
    out << addr << std::string(addr.size() < 41 ? 41 - addr.size() : 1, ' ') << u.display_name
        << "\n";
  }
  return 0;
}

int runUserDelete(const std::filesystem::path& config_path, const std::string& address,
                  std::ostream& out, std::ostream& err) {
  std::string why;
  auto a = parseAddress(address, &why);
  if (!a) {
    err << "user delete: " << why << "\n";
    return 2;
  }
  config::Config config;
  auto s = openNodeStore(config_path, &config, err);
  if (!s) {
    err << "user delete: " << s.error().toString() << "\n";
    return 1;
  }
  auto r = (*s)->deleteUser(a->user, a->domain);
  if (!r) {
    err << "user delete: " << r.error().detail << "\n";
    return 1;
  }
  out << "deleted " << address << "\n";
  return 0;
}

int runUserPassword(const std::filesystem::path& config_path, const std::string& address,
                    const std::string& password, std::ostream& out, std::ostream& err) {
  std::string why;
  auto a = parseAddress(address, &why);
  if (!a || !validPassword(password, &why)) {
    err << "user passwd: " << why << "\n";
    return 2;
  }
  config::Config config;
  auto s = openNodeStore(config_path, &config, err);
  if (!s) {
    err << "user passwd: " << s.error().toString() << "\n";
    return 1;
  }
  auto r = (*s)->setCredentials(
      a->user, a->domain,
      registrar::computeHa1(registrar::DigestAlgorithm::Md5, a->user, a->domain, password),
      registrar::computeHa1(registrar::DigestAlgorithm::Sha256, a->user, a->domain, password));
  if (!r) {
    err << "user passwd: " << r.error().detail << "\n";
    return 1;
  }
  out << "password changed for " << address << "\n";
  return 0;
}

}  // namespace herald::server
