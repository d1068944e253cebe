#include "admin/http_api.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "common/inet.h"
#include "common/log.h"

namespace herald::admin {
namespace {

// Draining stops here: a body this much over the limit is not read further (the connection is
// then out of step and the client gets its 413 and nothing more).
constexpr size_t kMaxDrainBytes = 1024 * 1024;

// httplib's task queue, bounded: `threads` workers, at most `max_queued` connections waiting.
// When full, enqueue() blocks the accept thread, so the kernel's listen backlog takes the rest.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
    for (size_t i = 0; i < threads; ++i) {
      workers_.emplace_back([this] { work(); });
      pthread_setname_np(workers_.back().native_handle(), "herald-admin");
    }
  }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [this] { return jobs_.size() < max_queued_ || shutdown_; });
    if (shutdown_) {
      // The server is stopping: the job only closes its socket.
      lock.unlock();
      fn();
      return;
    }
    jobs_.push_back(std::move(fn));
    not_empty_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      shutdown_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void work() {
    while (true) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
        if (jobs_.empty()) return;
        fn = std::move(jobs_.front());
        jobs_.pop_front();
        not_full_.notify_one();
      }
      fn();
    }
  }

  const size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::function<void()>> jobs_;
  bool shutdown_ = false;
  std::vector<std::thread> workers_;
};

// The path of a request for the access log: no query (it may hold search text), at most 200
// characters, control characters shown as '?'.
std::string logPath(const std::string& target) {
  std::string out = target.substr(0, std::min(target.find('?'), size_t{200}));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  if (out.size() < target.size() && target.find('?') > 200) out += "...";
  return out;
}

void copyResponse(const HttpResponse& from, httplib::Response& to) {
  to.status = from.status;
  to.headers.clear();
  for (const auto& [k, v] : from.headers) {
    if (k != "Content-Type") to.headers.emplace(k, v);
  }
  std::string type = from.header("Content-Type");
  if (!from.body.empty()) {
    to.set_content(from.body, type.empty() ? "application/octet-stream" : type);
  } else {
    to.body.clear();
  }
}

HttpRequest makeRequest(const httplib::Request& req) {
  HttpRequest r;
  r.method = req.method;
  r.target = req.target;
  for (const auto& [k, v] : req.headers) {
    // httplib adds the peer as pseudo headers; they are not the client's.
    if (k == "REMOTE_ADDR" || k == "REMOTE_PORT" || k == "LOCAL_ADDR" || k == "LOCAL_PORT") {
      continue;
    }
    r.headers.emplace(k, v);
  }
  r.remote_address = req.remote_addr;
  return r;
}

void accessLog(const HttpRequest& req, const HttpResponse& res,
               std::chrono::steady_clock::time_point start) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  HLOG_INFO(Admin, "{} {} {} {} {}B {:.1f}ms{}{}", req.remote_address, req.method,
            logPath(req.target), res.status, res.body.size(), static_cast<double>(us) / 1000.0,
            res.actor.empty() ? "" : " admin=", res.actor);
}

bool isLoopback(const std::string& address) {
  auto ep = Endpoint::fromAddress(address, 0);
  return ep && ep->isLoopback();
}

}  // namespace

HttpApi::HttpApi(AdminService& service, HttpApiOptions options)
    : handler_(service), options_(std::move(options)) {}

HttpApi::~HttpApi() { stop(); }

ListenerInfo HttpApi::listener() const {
  return ListenerInfo{options_.tls_certificate.empty() ? "tcp" : "tls", options_.address, port_,
                      "admin"};
}

Result<void> HttpApi::start() {
  if (accept_thread_.joinable()) {
    return unexpected(Error{ErrorCode::FailedPrecondition, "admin API: already started"});
  }
  const HttpApiOptions& o = options_;
  if (!Endpoint::fromAddress(o.address, 0)) {
    return unexpected(
        invalidArgument("admin.address: must be an IPv4 or IPv6 address, got '" + o.address + "'"));
  }
  if (o.tls_certificate.empty() != o.tls_private_key.empty()) {
    return unexpected(invalidArgument(
        "admin.tls_certificate: tls_certificate and tls_private_key must be set together"));
  }
  const bool tls = !o.tls_certificate.empty();
  if (!tls && !isLoopback(o.address)) {
    return unexpected(
        invalidArgument("admin.tls_certificate: required when admin.address (" + o.address +
                        ") is not a loopback address: the API carries passwords and tokens"));
  }
  if (tls) {
    auto server =
        std::make_unique<httplib::SSLServer>(o.tls_certificate.c_str(), o.tls_private_key.c_str());
    if (!server->is_valid() || SSL_CTX_check_private_key(server->ssl_context()) != 1) {
      return unexpected(invalidArgument(
          "admin.tls_certificate: cannot load the certificate " + o.tls_certificate.string() +
          " with the key " + o.tls_private_key.string() + " (PEM, matching each other)"));
    }
    SSL_CTX_set_min_proto_version(server->ssl_context(), TLS1_2_VERSION);
    server_ = std::move(server);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }

  httplib::Server& s = *server_;
  const size_t threads = std::max<size_t>(1, o.threads);
  const size_t queued = std::max<size_t>(1, o.max_queued_connections);
  s.new_task_queue = [threads, queued] { return new BoundedPool(threads, queued); };
  s.set_payload_max_length(kMaxBodyBytes);
  s.set_keep_alive_timeout(o.keep_alive_timeout_s);
  s.set_keep_alive_max_count(100);
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  s.set_tcp_nodelay(true);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which lets a second process bind
  // the same port silently.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  // Requests without a body (GET, HEAD, OPTIONS, ...) are answered before httplib's routing.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
        req.method == "DELETE") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    auto start = std::chrono::steady_clock::now();
    HttpRequest r = makeRequest(req);
    HttpResponse out = handler_.handle(r);
    copyResponse(out, res);
    accessLog(r, out, start);
    return httplib::Server::HandlerResponse::Handled;
  });

  // Requests with a body: read it here, bounded, then answer.
  auto with_body = [this](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& read) {
    auto start = std::chrono::steady_clock::now();
    HttpRequest r = makeRequest(req);
    // RFC 9112 §6.3: without Content-Length or Transfer-Encoding a request has no body
    // (httplib 0.11 would wait for the connection to close).
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      size_t seen = 0;
      bool ok = read([&](const char* data, size_t len) {
        seen += len;
        if (seen > kMaxBodyBytes) {
          r.body_too_large = true;
          r.body.clear();
          return seen <= kMaxDrainBytes;
        }
        r.body.append(data, len);
        return true;
      });
      // httplib refuses a Content-Length over the limit itself (status 413).
      if (!ok && res.status == 413) r.body_too_large = true;
      if (!ok && !r.body_too_large) {
        HttpResponse out = transportErrorResponse(400);
        copyResponse(out, res);
        accessLog(r, out, start);
        return;
      }
    }
    HttpResponse out = handler_.handle(r);
    copyResponse(out, res);
    accessLog(r, out, start);
  };
  // Every path: HttpHandler routes. [\s\S] also matches the line breaks a decoded path may hold.
  const std::string any = R"([\s\S]*)";
  s.Post(any, with_body);
  s.Put(any, with_body);
  s.Patch(any, with_body);
  s.Delete(any, with_body);

  // Answers httplib makes itself (400 malformed request, 413, 414, 404 of no route) get the
  // API's error body; answers of HttpHandler pass unchanged.
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.has_header("Cache-Control")) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        HttpResponse out = transportErrorResponse(res.status);
        copyResponse(out, res);
        // A request refused this early may have no method or target yet.
        HLOG_INFO(Admin, "{} {} {} (refused by the HTTP layer)",
                  req.method.empty() ? "-" : logPath(req.method),
                  req.target.empty() ? "-" : logPath(req.target), out.status);
        return httplib::Server::HandlerResponse::Handled;
      }));

  int bound = o.port == 0 ? s.bind_to_any_port(o.address)
                          : (s.bind_to_port(o.address, o.port) ? o.port : -1);
  if (bound <= 0) {
    int err = errno;
    server_.reset();
    return unexpected(unavailable("admin API: cannot listen on " + o.address + " port " +
                                  std::to_string(o.port) + ": " + std::strerror(err)));
  }
  port_ = static_cast<uint16_t>(bound);
  listen_returned_ = false;
  accept_thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  pthread_setname_np(accept_thread_.native_handle(), "herald-admin-l");
  // stop() needs a running server: httplib's stop() does nothing before listening starts.
  while (!server_->is_running() && !listen_returned_) std::this_thread::yield();
  HLOG_INFO(Admin, "admin API and console on {}://{}:{}", tls ? "https" : "http",
            o.address.find(':') != std::string::npos ? "[" + o.address + "]" : o.address, port_);
  return {};
}

void HttpApi::stop() {
  if (!accept_thread_.joinable()) return;
  server_->stop();
  accept_thread_.join();
  HLOG_INFO(Admin, "admin API stopped");
}

}  // namespace herald::admin
