#pragma once

// Logging: one spdlog logger per subsystem, so an operator can raise one subsystem's level.
// Disabled levels cost one branch; arguments are not formatted.
//
//   HLOG_INFO(Server, "listening on {} {}", transport, endpoint);
//
// Log a one-line summary of a SIP message (method, Call-ID, CSeq, peer); whole messages only at
// trace. Never log credentials. Anything an operator watches is a counter, not a log line.

#include <spdlog/logger.h>

#include <string>
#include <string_view>

namespace herald::log {

enum class Subsystem : int {
  Main,
  Config,
  Server,
  SipParser,
  SipTransport,
  SipTransaction,
  SipProxy,
  Registrar,
  Im,
  Presence,
  Federation,
  Dns,
  Store,
  Admin,
  kCount,
};

// Name as shown in log lines and accepted in config ("sip.parser").
std::string_view subsystemName(Subsystem s);

struct Options {
  std::string level = "info";  // trace|debug|info|warn|error|critical|off
  std::string file;            // empty: stderr
};

// Initialises every subsystem logger. Call once at start-up before any worker starts; until
// then loggers write to stderr at info level.
void init(const Options& options);

// Sets the level of one subsystem ("sip.parser") or of all ("*"). False if the name is unknown.
bool setLevel(std::string_view subsystem, std::string_view level);

spdlog::logger& logger(Subsystem s);

}  // namespace herald::log

#define HERALD_LOG_AT(sub, lvl, ...)                                                         \
  do {                                                                                       \
    ::spdlog::logger& herald_logger_ = ::herald::log::logger(::herald::log::Subsystem::sub); \
    if (herald_logger_.should_log(lvl)) {                                                    \
      herald_logger_.log(lvl, __VA_ARGS__);                                                  \
    }                                                                                        \
  } while (false)

#define HLOG_TRACE(sub, ...) HERALD_LOG_AT(sub, ::spdlog::level::trace, __VA_ARGS__)
#define HLOG_DEBUG(sub, ...) HERALD_LOG_AT(sub, ::spdlog::level::debug, __VA_ARGS__)
#define HLOG_INFO(sub, ...) HERALD_LOG_AT(sub, ::spdlog::level::info, __VA_ARGS__)
#define HLOG_WARN(sub, ...) HERALD_LOG_AT(sub, ::spdlog::level::warn, __VA_ARGS__)
#define HLOG_ERROR(sub, ...) HERALD_LOG_AT(sub, ::spdlog::level::err, __VA_ARGS__)
