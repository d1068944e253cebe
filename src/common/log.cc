#include "common/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <memory>

namespace herald::log {
namespace {

constexpr std::array<std::string_view, static_cast<int>(Subsystem::kCount)> kNames = {
    "main",      "config",    "server", "sip.parser", "sip.transport", "sip.transaction",
    "sip.proxy", "registrar", "im",     "presence",   "federation",    "dns",
    "store",     "admin",
};

constexpr const char* kPattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v";

struct Registry {
  std::array<std::shared_ptr<spdlog::logger>, kNames.size()> loggers;

  explicit Registry(spdlog::sink_ptr sink) { build(std::move(sink), spdlog::level::info); }

  void build(spdlog::sink_ptr sink, spdlog::level::level_enum level) {
    sink->set_pattern(kPattern);
    for (size_t i = 0; i < kNames.size(); ++i) {
      loggers[i] = std::make_shared<spdlog::logger>(std::string(kNames[i]), sink);
      loggers[i]->set_level(level);
      loggers[i]->flush_on(spdlog::level::warn);
    }
  }
};

Registry& registry() {
  static Registry r(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  return r;
}

}  // namespace

std::string_view subsystemName(Subsystem s) { return kNames[static_cast<int>(s)]; }

void init(const Options& options) {
  spdlog::sink_ptr sink;
  if (options.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
  }
  registry().build(std::move(sink), spdlog::level::from_str(options.level));
}

bool setLevel(std::string_view subsystem, std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  bool found = false;
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (subsystem == "*" || subsystem == kNames[i]) {
      registry().loggers[i]->set_level(lvl);
      found = true;
    }
  }
  return found;
}

spdlog::logger& logger(Subsystem s) { return *registry().loggers[static_cast<int>(s)]; }

}  // namespace herald::log
