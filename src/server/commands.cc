#include "server/commands.h"

#include <signal.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "common/log.h"
#include "config/config.h"
#include "server/node.h"
#include "sip/parser/message_parser.h"

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

  Node node(std::move(*load.config));
  if (auto started = node.start(); !started) {
    HLOG_ERROR(Server, "cannot start: {}", started.error().toString());
    return 1;
  }
  HLOG_INFO(Server, "running; stop with Ctrl-C (SIGINT) or SIGTERM");
  int sig = 0;
  sigwait(&signals, &sig);
  HLOG_INFO(Server, "{} received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  node.stop();
  return 0;
}

}  // namespace herald::server
