#pragma once

// Node: one running Herald, built from a validated Config. Owns the subsystems and their
// lifecycle; start() prepares everything and returns, stop() tears down in reverse order.
// Both run on the main thread.

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

  // Creates the data directory, loads or generates the TLS certificate, and logs the listeners.
  [[nodiscard]] Result<void> start();
  void stop();

  // One line per listener, "udp 0.0.0.0:5060".
  std::vector<std::string> listenerDescriptions() const;

 private:
  config::Config config_;
  bool started_ = false;
};

}  // namespace herald::server
