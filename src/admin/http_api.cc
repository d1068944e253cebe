#include "admin/http_api.h"

#include <fmt/format.h>
#include <http_parser.h>
#include <openssl/ssl.h>
#include <pthread.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "admin/http_handler.h"
#include "common/inet.h"
#include "common/log.h"

namespace herald::admin {
namespace {

using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A request-target longer than this gets 414.
constexpr size_t kMaxTargetBytes = 8 * 1024;
// The request line and header fields together; beyond it, 400.
constexpr size_t kMaxHeadBytes = 16 * 1024;
constexpr size_t kMaxHeaderFields = 100;
constexpr int kMaxRequestsPerConnection = 100;
constexpr size_t kReadChunk = 16 * 1024;
// After an answer that closes the connection, what the client still sends is read and dropped
// for this long (at most kMaxLingerBytes), so that closing with unread bytes does not reset the
// connection before the client has read the answer (a 413 to a body still on its way).
constexpr milliseconds kLinger{1000};
constexpr size_t kMaxLingerBytes = 1024 * 1024;
// Refused connections and timed-out clients are logged at most this often.
constexpr auto kLogEvery = std::chrono::seconds(10);

const char* reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

// The address as the rest of the admin plane names it: IPv4-mapped IPv6 as IPv4.
std::string addressText(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

// Connections are counted per source: an IPv4 address, or an IPv6 /64 (one host's share of a
// network: a single host can take a whole /64).
std::string sourceOf(const asio::ip::address& a) {
  if (a.is_v4() || a.to_v6().is_v4_mapped()) return addressText(a);
  auto bytes = a.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

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

void accessLog(const HttpRequest& req, const HttpResponse& res, SteadyClock::time_point start) {
  auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start).count();
  HLOG_INFO(Admin, "{} {} {} {} {}B {:.1f}ms{}{}", req.remote_address, req.method,
            logPath(req.target), res.status, res.body.size(), static_cast<double>(us) / 1000.0,
            res.actor.empty() ? "" : " admin=", res.actor);
}

bool hasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

bool equalsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The answer on the wire. Content-Length and Connection are this layer's; a header that would
// break the framing (a line break in it) is dropped.
std::string serialize(const HttpResponse& r, bool keep_alive, bool head, bool tls) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", r.status, reasonPhrase(r.status));
  bool typed = false;
  for (const auto& [k, v] : r.headers) {
    if (equalsNoCase(k, "Content-Length") || equalsNoCase(k, "Connection")) continue;
    if (hasLineBreak(k) || hasLineBreak(v)) {
      HLOG_ERROR(Admin, "answer header {} dropped: it holds a line break", logPath(k));
      continue;
    }
    typed = typed || equalsNoCase(k, "Content-Type");
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (!r.body.empty() && !typed) out += "Content-Type: application/octet-stream\r\n";
  if (r.status >= 200 && r.status != 204 && r.status != 304) {
    out += fmt::format("Content-Length: {}\r\n", r.body.size());
  }
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  // RFC 6797: the console is reached over HTTPS only, from now on.
  if (tls) out += "Strict-Transport-Security: max-age=31536000\r\n";
  out += "\r\n";
  if (!head && r.status != 204 && r.status != 304) out += r.body;
  return out;
}

// Runs complete requests: `threads` workers over one queue. The queue needs no bound of its
// own: each connection has at most one request in it, and connections are capped.
class WorkerPool {
 public:
  explicit WorkerPool(size_t threads) {
    for (size_t i = 0; i < threads; ++i) {
      workers_.emplace_back([this] { work(); });
      pthread_setname_np(workers_.back().native_handle(), "herald-admin");
    }
  }

  void enqueue(std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  // Runs what is queued, then joins the workers. Idempotent.
  void shutdown() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void work() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// At most one log line per kLogEvery for a recurring event; the line counts the events.
class ThrottledLog {
 public:
  // True when a line is due; *count is then the number of events since the last one.
  bool due(uint64_t* count) {
    ++events_;
    auto now = SteadyClock::now();
    if (now - last_ < kLogEvery) return false;
    last_ = now;
    *count = events_;
    events_ = 0;
    return true;
  }

 private:
  SteadyClock::time_point last_{};
  uint64_t events_ = 0;
};

class Connection;

}  // namespace

class HttpApi::Impl {
 public:
  Impl(AdminService& service, HttpApiOptions options)
      : options_(std::move(options)), handler_(service, options_.allowed_hosts) {}

  Result<void> start();
  void stop();

  // I/O thread.
  void accept();
  void onAccepted(tcp::socket socket);
  void release(const std::shared_ptr<Connection>& c, const std::string& source);
  void logSlowClient(const std::string& source, const char* what);

  const HttpApiOptions options_;
  HttpHandler handler_;
  bool tls_enabled_ = false;
  // Declared before io_: TLS streams die with io_'s pending handlers and need the context.
  std::optional<asio::ssl::context> tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  asio::steady_timer accept_retry_{io_};
  std::unique_ptr<WorkerPool> pool_;
  std::thread io_thread_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_{0};
  std::atomic<uint64_t> refused_{0};
  // I/O thread only.
  std::unordered_set<std::shared_ptr<Connection>> connections_;
  std::unordered_map<std::string, size_t> per_source_;
  ThrottledLog refused_log_;
  ThrottledLog slow_log_;
};

namespace {

// One client connection, on the I/O thread. Phases, each but Handling under a deadline:
// Head (TLS handshake, request line, headers) -> Body -> Handling (a worker runs the request)
// -> Writing -> Idle (kept alive, waiting for the next request) -> Head ...; Lingering after an
// answer that closes.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpApi::Impl& api, tcp::socket socket, std::string source)
      : api_(api), socket_(std::move(socket)), deadline_(api.io_), source_(std::move(source)) {
    asio::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    if (!ec) remote_address_ = addressText(remote.address());
    auto local = socket_.local_endpoint(ec);
    if (!ec) local_address_ = addressText(local.address());
    socket_.set_option(tcp::no_delay(true), ec);
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
  }

  void start() {
    phase_ = Phase::Head;
    arm(api_.options_.header_timeout);
    if (!api_.tls_enabled_) {
      readMore();
      return;
    }
    tls_.emplace(socket_, *api_.tls_);
    tls_->async_handshake(asio::ssl::stream_base::server,
                          [self = shared_from_this()](const asio::error_code& ec) {
                            if (self->closed_) return;
                            if (ec) {
                              HLOG_DEBUG(Admin, "{} TLS handshake failed: {}",
                                         self->remote_address_, ec.message());
                              self->close();
                              return;
                            }
                            self->handshake_done_ = true;
                            self->readMore();
                          });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    deadline_.cancel();
    asio::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    api_.release(shared_from_this(), source_);
  }

 private:
  enum class Phase { Head, Body, Handling, Writing, Idle, Lingering };

  template <class Buffers, class Handler>
  void readSome(const Buffers& b, Handler&& h) {
    if (tls_ && phase_ != Phase::Lingering) {
      tls_->async_read_some(b, std::forward<Handler>(h));
    } else {
      socket_.async_read_some(b, std::forward<Handler>(h));
    }
  }

  void arm(milliseconds after) {
    uint64_t generation = ++timer_generation_;
    deadline_.expires_after(after);
    deadline_.async_wait([self = shared_from_this(), generation](const asio::error_code& ec) {
      if (ec || self->closed_ || generation != self->timer_generation_) return;
      self->onDeadline();
    });
  }

  void disarm() {
    ++timer_generation_;
    deadline_.cancel();
  }

  void onDeadline() {
    switch (phase_) {
      case Phase::Head:
        if (!handshake_done_ && tls_) {
          api_.logSlowClient(remote_address_, "TLS handshake not complete");
        } else {
          api_.logSlowClient(remote_address_, "request headers not complete");
        }
        timedOut();
        return;
      case Phase::Body:
        api_.logSlowClient(remote_address_, "request body not complete");
        timedOut();
        return;
      case Phase::Handling:
        return;
      case Phase::Writing:
        api_.logSlowClient(remote_address_, "answer not taken");
        close();
        return;
      case Phase::Idle:
      case Phase::Lingering:
        close();
        return;
    }
  }

  // A request that did not arrive in time: 408 when some of it came over plain HTTP (a TLS
  // stream with a read pending is not written to), otherwise just closed.
  void timedOut() {
    if (tls_ || (phase_ == Phase::Head && !request_begun_)) {
      close();
      return;
    }
    timed_out_ = true;
    asio::error_code ec;
    socket_.cancel(ec);  // the pending read ends with operation_aborted, then 408 goes out
  }

  void readMore() {
    readSome(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec,
                                                               size_t n) { self->onRead(ec, n); });
  }

  void onRead(const asio::error_code& ec, size_t n) {
    if (closed_) return;
    if (phase_ == Phase::Lingering) {
      lingered_ += n;
      if (ec || lingered_ > kMaxLingerBytes) {
        close();
      } else {
        readMore();
      }
      return;
    }
    if (timed_out_) {
      answerAndClose(408);
      return;
    }
    if (ec) {
      // The client went away (EOF, reset); a request cut short has nobody to answer.
      close();
      return;
    }
    pending_.append(chunk_.data(), n);
    parse();
  }

  // Feeds pending_ to the parser until a request is complete, the bytes run out, or the
  // request is refused.
  void parse() {
    if (phase_ == Phase::Idle && !pending_.empty()) {
      phase_ = Phase::Head;
      arm(api_.options_.header_timeout);
    }
    static const http_parser_settings settings = makeSettings();
    size_t used = http_parser_execute(&parser_, &settings, pending_.data(), pending_.size());
    if (!headers_done_ && request_begun_) head_bytes_ += used;
    pending_.erase(0, used);
    auto err = HTTP_PARSER_ERRNO(&parser_);
    if (err == HPE_PAUSED) {
      http_parser_pause(&parser_, 0);
      if (message_done_) {
        dispatch();  // with Upgrade too: answered, then closed (only HTTP/1.1 is spoken here)
      } else if (send_continue_) {
        sendContinue();
      }
      return;
    }
    if (err != HPE_OK) {
      int status = refusal_ != 0 ? refusal_ : 400;
      HLOG_INFO(Admin, "{} {} {} {} (refused by the HTTP layer: {})", remote_address_,
                method_.empty() ? "-" : logPath(method_),
                request_.target.empty() ? "-" : logPath(request_.target), status,
                refusal_ != 0 ? refusal_reason_ : http_errno_description(err));
      answerAndClose(status);
      return;
    }
    if (!headers_done_ && head_bytes_ > kMaxHeadBytes) {
      HLOG_INFO(Admin, "{} - - 400 (refused by the HTTP layer: headers over {} bytes)",
                remote_address_, kMaxHeadBytes);
      answerAndClose(400);
      return;
    }
    readMore();
  }

  void sendContinue() {
    send_continue_ = false;
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    write(asio::buffer(kContinue), [self = shared_from_this()](const asio::error_code& ec) {
      if (self->closed_) return;
      if (ec) {
        self->close();
        return;
      }
      if (self->pending_.empty()) {
        self->readMore();
      } else {
        self->parse();
      }
    });
  }

  void dispatch() {
    phase_ = Phase::Handling;
    disarm();
    keep_alive_ = keep_alive_ && !parser_.upgrade && !api_.stopping_ &&
                  ++requests_ < kMaxRequestsPerConnection;
    HttpRequest req = std::move(request_);
    req.method = method_;
    req.remote_address = remote_address_;
    req.local_address = local_address_;
    req.tls = tls_.has_value();
    head_request_ = method_ == "HEAD";
    resetRequest();
    api_.pool_->enqueue([self = shared_from_this(), req = std::move(req)]() {
      auto start = SteadyClock::now();
      HttpResponse out = self->api_.handler_.handle(req);
      accessLog(req, out, start);
      asio::post(self->api_.io_, [self, out = std::move(out)]() { self->respond(out); });
    });
  }

  void respond(const HttpResponse& out) {
    if (closed_) return;
    sendAnswer(serialize(out, keep_alive_, head_request_, tls_.has_value()), keep_alive_);
  }

  void answerAndClose(int status) {
    keep_alive_ = false;
    head_request_ = false;
    sendAnswer(serialize(transportErrorResponse(status), false, false, tls_.has_value()), false);
  }

  void sendAnswer(std::string bytes, bool keep_alive) {
    phase_ = Phase::Writing;
    arm(api_.options_.write_timeout);
    out_ = std::move(bytes);
    write(asio::buffer(out_), [self = shared_from_this(), keep_alive](const asio::error_code& ec) {
      if (self->closed_) return;
      self->out_.clear();
      if (ec) {
        self->close();
      } else if (!keep_alive) {
        self->linger();
      } else {
        self->phase_ = Phase::Idle;
        self->arm(self->api_.options_.keep_alive_timeout);
        if (self->pending_.empty()) {
          self->readMore();
        } else {
          self->parse();
        }
      }
    });
  }

  template <class Handler>
  void write(const asio::const_buffer& b, Handler&& h) {
    auto done = [h = std::forward<Handler>(h)](const asio::error_code& ec, size_t) { h(ec); };
    if (tls_) {
      asio::async_write(*tls_, b, std::move(done));
    } else {
      asio::async_write(socket_, b, std::move(done));
    }
  }

  // The answer is out and the connection ends: stop sending, read and drop what still comes
  // for a moment, then close.
  void linger() {
    phase_ = Phase::Lingering;
    arm(kLinger);
    asio::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      close();
      return;
    }
    readMore();
  }

  void resetRequest() {
    request_ = HttpRequest{};
    method_.clear();
    field_.clear();
    value_.clear();
    in_value_ = false;
    headers_done_ = false;
    message_done_ = false;
    request_begun_ = false;
    send_continue_ = false;
    head_bytes_ = 0;
    refusal_ = 0;
  }

  // Refuses the request being parsed with `status`; the callback returns this to stop.
  int refuse(int status, const char* why) {
    refusal_ = status;
    refusal_reason_ = why;
    return -1;
  }

  void flushHeader() {
    if (!field_.empty() || !value_.empty()) request_.headers.emplace(field_, value_);
    field_.clear();
    value_.clear();
    in_value_ = false;
  }

  static Connection& of(http_parser* p) { return *static_cast<Connection*>(p->data); }

  static http_parser_settings makeSettings() {
    http_parser_settings s{};
    s.on_message_begin = [](http_parser* p) {
      of(p).request_begun_ = true;
      return 0;
    };
    s.on_url = [](http_parser* p, const char* at, size_t n) {
      Connection& c = of(p);
      if (c.request_.target.size() + n > kMaxTargetBytes) {
        return c.refuse(414, "request-target over 8 KiB");
      }
      c.request_.target.append(at, n);
      return 0;
    };
    s.on_header_field = [](http_parser* p, const char* at, size_t n) {
      Connection& c = of(p);
      if (c.in_value_) c.flushHeader();
      if (c.request_.headers.size() >= kMaxHeaderFields) {
        return c.refuse(400, "more than 100 header fields");
      }
      c.field_.append(at, n);
      return 0;
    };
    s.on_header_value = [](http_parser* p, const char* at, size_t n) {
      Connection& c = of(p);
      c.in_value_ = true;
      c.value_.append(at, n);
      return 0;
    };
    s.on_headers_complete = [](http_parser* p) {
      Connection& c = of(p);
      c.flushHeader();
      c.headers_done_ = true;
      c.method_ = http_method_str(static_cast<http_method>(p->method));
      c.keep_alive_ = http_should_keep_alive(p) != 0;
      const bool chunked = (p->flags & F_CHUNKED) != 0;
      const bool sized = (p->flags & F_CONTENTLENGTH) != 0 && p->content_length > 0;
      if (sized && p->content_length > kMaxBodyBytes) {
        return c.refuse(413, "Content-Length over 64 KiB");
      }
      if (chunked || sized) {
        c.phase_ = Phase::Body;
        c.arm(c.api_.options_.body_timeout);
        auto expect = c.request_.headers.find("Expect");
        if (expect != c.request_.headers.end() && equalsNoCase(expect->second, "100-continue")) {
          c.send_continue_ = true;
          http_parser_pause(p, 1);
        }
      }
      return 0;
    };
    s.on_body = [](http_parser* p, const char* at, size_t n) {
      Connection& c = of(p);
      // A body on GET, HEAD, OPTIONS ... is read like any other, so that it is never taken
      // for the next request; HttpHandler ignores it.
      if (c.request_.body.size() + n > kMaxBodyBytes) return c.refuse(413, "body over 64 KiB");
      c.request_.body.append(at, n);
      return 0;
    };
    s.on_message_complete = [](http_parser* p) {
      Connection& c = of(p);
      c.message_done_ = true;
      http_parser_pause(p, 1);
      return 0;
    };
    return s;
  }

  HttpApi::Impl& api_;
  tcp::socket socket_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  asio::steady_timer deadline_;
  const std::string source_;
  std::string remote_address_;
  std::string local_address_;
  Phase phase_ = Phase::Head;
  uint64_t timer_generation_ = 0;
  bool closed_ = false;
  bool handshake_done_ = false;
  bool timed_out_ = false;
  bool keep_alive_ = false;
  bool head_request_ = false;
  int requests_ = 0;
  size_t lingered_ = 0;
  std::array<char, kReadChunk> chunk_{};
  std::string pending_;  // read, not yet parsed (a pipelined request waits here)
  std::string out_;      // the answer being written

  // The request being parsed.
  http_parser parser_{};
  HttpRequest request_;
  std::string method_;
  std::string field_;
  std::string value_;
  bool in_value_ = false;
  bool request_begun_ = false;
  bool headers_done_ = false;
  bool message_done_ = false;
  bool send_continue_ = false;
  size_t head_bytes_ = 0;
  int refusal_ = 0;
  const char* refusal_reason_ = "";
};

bool isLoopback(const std::string& address) {
  auto ep = Endpoint::fromAddress(address, 0);
  return ep && ep->isLoopback();
}

}  // namespace

void HttpApi::Impl::accept() {
  acceptor_.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors or memory: try again shortly rather than spin.
      HLOG_WARN(Admin, "admin API: accept failed: {}", ec.message());
      accept_retry_.expires_after(milliseconds(100));
      accept_retry_.async_wait([this](const asio::error_code& e) {
        if (!e) accept();
      });
      return;
    }
    onAccepted(std::move(socket));
    accept();
  });
}

void HttpApi::Impl::onAccepted(tcp::socket socket) {
  asio::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) return;
  std::string source = sourceOf(remote.address());
  size_t& from_source = per_source_[source];
  const char* limit = nullptr;
  if (connections_.size() >= options_.max_connections) {
    limit = "admin.max_connections";
  } else if (from_source >= options_.max_connections_per_source) {
    limit = "admin.max_connections_per_source";
  }
  if (limit != nullptr) {
    if (from_source == 0) per_source_.erase(source);
    ++refused_;
    uint64_t count = 0;
    if (refused_log_.due(&count)) {
      HLOG_WARN(Admin, "admin API: {} connection(s) refused at the limit {} (last from {})",
                count, limit, addressText(remote.address()));
    }
    socket.close(ec);
    return;
  }
  ++from_source;
  auto c = std::make_shared<Connection>(*this, std::move(socket), std::move(source));
  connections_.insert(c);
  open_ = connections_.size();
  c->start();
}

void HttpApi::Impl::release(const std::shared_ptr<Connection>& c, const std::string& source) {
  connections_.erase(c);
  open_ = connections_.size();
  auto it = per_source_.find(source);
  if (it != per_source_.end() && --it->second == 0) per_source_.erase(it);
}

void HttpApi::Impl::logSlowClient(const std::string& source, const char* what) {
  uint64_t count = 0;
  if (slow_log_.due(&count)) {
    HLOG_INFO(Admin, "admin API: {} slow connection(s) closed: {} in time (last from {})", count,
              what, source);
  }
}

Result<void> HttpApi::Impl::start() {
  if (io_thread_.joinable()) {
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
  tls_enabled_ = !o.tls_certificate.empty();
  if (!tls_enabled_ && !isLoopback(o.address)) {
    return unexpected(
        invalidArgument("admin.tls_certificate: required when admin.address (" + o.address +
                        ") is not a loopback address: the API carries passwords and tokens"));
  }
  if (tls_enabled_) {
    tls_.emplace(asio::ssl::context::tls_server);
    asio::error_code ec1, ec2;
    tls_->use_certificate_chain_file(o.tls_certificate.string(), ec1);
    tls_->use_private_key_file(o.tls_private_key.string(), asio::ssl::context::pem, ec2);
    SSL_CTX* ctx = tls_->native_handle();
    if (ec1 || ec2 || SSL_CTX_check_private_key(ctx) != 1) {
      tls_.reset();
      return unexpected(invalidArgument(
          "admin.tls_certificate: cannot load the certificate " + o.tls_certificate.string() +
          " with the key " + o.tls_private_key.string() + " (PEM, matching each other)"));
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
  }

  asio::error_code ec;
  auto address = asio::ip::make_address(o.address, ec);
  tcp::endpoint endpoint(address, o.port);
  acceptor_.open(endpoint.protocol(), ec);
  // SO_REUSEADDR only: never SO_REUSEPORT, which would let a second process bind the port.
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && address.is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.close();
    return unexpected(unavailable("admin API: cannot listen on " + o.address + " port " +
                                  std::to_string(o.port) + ": " + ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  pool_ = std::make_unique<WorkerPool>(std::max<size_t>(1, o.threads));
  accept();
  io_thread_ = std::thread([this] { io_.run(); });
  pthread_setname_np(io_thread_.native_handle(), "herald-admin-io");
  HLOG_INFO(Admin, "admin API and console on {}://{}:{}", tls_enabled_ ? "https" : "http",
            o.address.find(':') != std::string::npos ? "[" + o.address + "]" : o.address, port_);
  return {};
}

void HttpApi::Impl::stop() {
  if (!io_thread_.joinable()) return;
  stopping_ = true;
  std::promise<void> closed;
  asio::post(io_, [this, &closed] {
    asio::error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
    auto all = connections_;
    for (const auto& c : all) c->close();
    closed.set_value();
  });
  closed.get_future().wait();
  // Requests being handled finish; their answers find their connections closed.
  pool_->shutdown();
  io_.stop();
  io_thread_.join();
  HLOG_INFO(Admin, "admin API stopped");
}

HttpApi::HttpApi(AdminService& service, HttpApiOptions options)
    : impl_(std::make_unique<Impl>(service, std::move(options))) {}

HttpApi::~HttpApi() { stop(); }

Result<void> HttpApi::start() { return impl_->start(); }
void HttpApi::stop() { impl_->stop(); }
uint16_t HttpApi::port() const { return impl_->port_; }
size_t HttpApi::openConnections() const { return impl_->open_.load(); }
uint64_t HttpApi::refusedConnections() const { return impl_->refused_.load(); }

ListenerInfo HttpApi::listener() const {
  return ListenerInfo{impl_->options_.tls_certificate.empty() ? "tcp" : "tls",
                      impl_->options_.address, impl_->port_, "admin"};
}

}  // namespace herald::admin
