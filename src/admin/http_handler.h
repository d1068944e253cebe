#pragma once

// HttpHandler: the admin REST API of docs/admin-api.md and the console's files, as a function
// from one HTTP request to its answer. It knows no sockets (HttpApi feeds it from
// cpp-httplib), so that every rule of the contract is testable and fuzzable without a listener:
// the Host header (421 unless it names this listener: DNS rebinding) and Origin (403 on a
// change from another site), routing (the path split on '/' before percent-decoding), methods
// (405 + Allow), bearer
// tokens (401 + WWW-Authenticate), Content-Type (415), body size (413), JSON objects without
// duplicate keys (400 bad_json), If-Match (412), query checks, envelopes, ETag and Location,
// security headers. Thread-safe: it keeps no state of its own; AdminService is thread-safe.
//
//   HttpHandler handler(service);
//   HttpResponse r = handler.handle({.method = "GET", .target = "/api/v1/status", ...});

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "admin/admin_service.h"

namespace herald::admin {

// Bodies over this many bytes get 413 before they are parsed (docs/admin-api.md).
inline constexpr size_t kMaxBodyBytes = 64 * 1024;

// Header names compare without case (RFC 9110 §5.1).
struct HeaderNameLess {
  bool operator()(const std::string& a, const std::string& b) const;
};
using HttpHeaders = std::multimap<std::string, std::string, HeaderNameLess>;

struct HttpRequest {
  std::string method;  // "GET"
  // The request-target as sent, path and query still percent-encoded:
  // "/api/v1/users/alice%40example.org?limit=5".
  std::string target;
  HttpHeaders headers;
  std::string body;             // at most kMaxBodyBytes
  bool body_too_large = false;  // the body was longer than kMaxBodyBytes and was not kept
  std::string remote_address;   // the client's IP address
  std::string local_address;    // the listener's IP address the client reached ("" in tests)
  bool tls = false;             // the request came over HTTPS
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // in the order they were set
  std::string body;
  std::string actor;  // the authenticated administrator, for the access log; "" when none

  // The value of header `name` (any case), or "".
  std::string header(const std::string& name) const;
};

class HttpHandler {
 public:
  // allowed_hosts: names the Host header may carry besides the listener's address (and
  // "localhost" when that is loopback); compared without case.
  explicit HttpHandler(AdminService& service, std::vector<std::string> allowed_hosts = {})
      : service_(service), allowed_hosts_(std::move(allowed_hosts)) {}

  HttpResponse handle(const HttpRequest& request) const;

 private:
  AdminService& service_;
  const std::vector<std::string> allowed_hosts_;
};

// The JSON error answer {"error": {...}} of `error`, with the headers every answer carries.
HttpResponse errorResponse(const ApiError& error);

// The answer to a request that cpp-httplib refused before HttpHandler saw it: 400 for a
// malformed request, 413 for a body over the limit, 414 for a URI over 8 KiB.
HttpResponse transportErrorResponse(int status);

// Headers every answer carries (Content-Security-Policy, X-Content-Type-Options,
// X-Frame-Options, Referrer-Policy).
const std::vector<std::pair<std::string, std::string>>& securityHeaders();

}  // namespace herald::admin
