#pragma once

// Node: one running Herald, built from a validated Config. Owns the subsystems and their
// lifecycle: start() opens the store, binds the listeners and starts the workers; stop() tears
// down in reverse order. Both run on the main thread.

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace herald::server {

class Node {
 public:
  explicit Node(config::Config config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  [[nodiscard]] Result<void> start();
  void stop();

  // One line per bound listener, "udp 127.0.0.1:5060".
  std::vector<std::string> listenerDescriptions() const;

  struct Impl;

 private:
  config::Config config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::server
