#pragma once

// HttpApi: the node's admin listener. It serves the REST API (docs/admin-api.md) and the web
// console on one TCP port, HTTPS when a certificate is configured (required for an address that
// is not loopback). One access-log line per request (subsystem "admin"), never a body or a
// token.
//
// Threads: one I/O thread (asio) owns every connection: it accepts, runs TLS handshakes, reads
// and frames requests (http_parser) and writes answers, all asynchronously and each phase under
// a deadline. Only a request that has fully arrived goes to the pool of `threads` workers that
// run HttpHandler (password hashing and store calls are slow on purpose), so a client that
// sends slowly, or not at all, holds a socket and a few KiB, never a worker.
//
//   HttpApiOptions options;                 // from config::AdminConfig
//   options.address = "127.0.0.1";
//   HttpApi api(admin_service, options);
//   if (auto r = api.start(); !r) { report(r.error()); }   // bound and serving on return
//   ...
//   api.stop();   // before AdminService goes away; the destructor stops too
//
// start() and stop() are called from one thread (the node's).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "admin/admin_service.h"
#include "admin/node_control.h"
#include "common/result.h"

namespace herald::admin {

struct HttpApiOptions {
  // Default: "127.0.0.1". IPv4 or IPv6 literal. An address that is not loopback needs
  // tls_certificate and tls_private_key.
  std::string address = "127.0.0.1";
  // Default: 8080. 0 binds any free port (tests); port() tells which.
  uint16_t port = 8080;
  // PEM files. Both set: HTTPS (TLS 1.2 or later, with Strict-Transport-Security). Both empty:
  // plain HTTP.
  std::filesystem::path tls_certificate;
  std::filesystem::path tls_private_key;
  // Default: none. Names besides the listener's own address (and "localhost" on loopback)
  // that the Host header may carry, e.g. the name a reverse proxy or the operator's browser
  // uses. Any other Host gets 421: a DNS-rebound page cannot reach the console.
  std::vector<std::string> allowed_hosts;
  // Default: 4. Requests handled at once (each on its own thread).
  size_t threads = 4;
  // Default: 128. Open connections in all; a connection beyond it is closed at once.
  size_t max_connections = 128;
  // Default: 16. Open connections from one source (an IPv4 address, an IPv6 /64).
  size_t max_connections_per_source = 16;
  // Default: 10 s. From accept (or from the first byte of a kept-alive connection's next
  // request) until the request's headers are in, TLS handshake included.
  std::chrono::milliseconds header_timeout{10'000};
  // Default: 10 s. From the end of the headers until the whole body is in.
  std::chrono::milliseconds body_timeout{10'000};
  // Default: 10 s. Writing one answer.
  std::chrono::milliseconds write_timeout{10'000};
  // Default: 2 s. An idle kept-alive connection is closed after this.
  std::chrono::milliseconds keep_alive_timeout{2'000};
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
  // Stops accepting, closes every connection, lets the requests being handled finish and joins
  // every thread. Idempotent.
  void stop();

  // The bound port (after start()).
  uint16_t port() const;
  // The listener for GET /status: {"tcp" or "tls", address, port, "admin"}.
  ListenerInfo listener() const;

  // For tests and GET /status: connections open now, and those refused since start because a
  // limit was reached.
  size_t openConnections() const;
  uint64_t refusedConnections() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::admin
