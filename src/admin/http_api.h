#pragma once

// HttpApi: the node's admin listener. It serves the REST API (docs/admin-api.md) and the web
// console on one TCP port with cpp-httplib: one accept thread and a bounded pool of worker
// threads, each request answered by HttpHandler; HTTPS when a certificate is configured (it is
// required for an address that is not loopback). One access-log line per request (subsystem
// "admin"), never a body or a token.
//
//   HttpApiOptions options;                 // from config::AdminConfig
//   options.address = "127.0.0.1";
//   HttpApi api(admin_service, options);
//   if (auto r = api.start(); !r) { report(r.error()); }   // bound and serving on return
//   ...
//   api.stop();   // before AdminService goes away; the destructor stops too
//
// start() and stop() are called from one thread (the node's); requests run on the pool.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "admin/admin_service.h"
#include "admin/http_handler.h"
#include "admin/node_control.h"
#include "common/result.h"

namespace httplib {
class Server;
}

namespace herald::admin {

struct HttpApiOptions {
  // Default: "127.0.0.1". IPv4 or IPv6 literal. An address that is not loopback needs
  // tls_certificate and tls_private_key.
  std::string address = "127.0.0.1";
  // Default: 8080. 0 binds any free port (tests); port() tells which.
  uint16_t port = 8080;
  // PEM files. Both set: HTTPS (TLS 1.2 or later). Both empty: plain HTTP.
  std::filesystem::path tls_certificate;
  std::filesystem::path tls_private_key;
  // Default: 4. Requests served at once; each holds its connection while it is kept alive.
  size_t threads = 4;
  // Default: 64. Accepted connections waiting for a thread; beyond it, accepting pauses and the
  // kernel's backlog holds new ones.
  size_t max_queued_connections = 64;
  // Default: 2 s. An idle kept-alive connection is closed after this.
  int keep_alive_timeout_s = 2;
};

class HttpApi {
 public:
  HttpApi(AdminService& service, HttpApiOptions options);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds the listener and starts serving. Errors: InvalidArgument naming the config key
  // ("admin.tls_certificate: required when admin.address ... is not a loopback address", a
  // certificate that does not load), Unavailable when the port cannot be bound.
  [[nodiscard]] Result<void> start();
  // Stops accepting, finishes the requests in progress and joins every thread; an idle
  // kept-alive connection delays it by up to keep_alive_timeout_s. Idempotent.
  void stop();

  // The bound port (after start()).
  uint16_t port() const { return port_; }
  // The listener for GET /status: {"tcp" or "tls", address, port, "admin"}.
  ListenerInfo listener() const;

 private:
  HttpHandler handler_;
  HttpApiOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread accept_thread_;
  std::atomic<bool> listen_returned_{false};
  uint16_t port_ = 0;
};

}  // namespace herald::admin
