// TransportLayer implementation: asio as the reactor (io_context, async_wait, timers, post),
// the socket calls themselves made directly (recvmmsg/sendmmsg, read/write, SSL_read/SSL_write)
// so that one wake-up serves many messages.
//
// Layout per worker:
//   Worker { io_context, UdpSocket per UDP listener, Acceptor per TCP/TLS listener,
//            connections (id -> Connection), inbox (cross-worker hand-off), 10 ms tick }
// Connection ids carry their worker: id = (worker + 1) << 48 | serial.
//
// Every handler of ours ends with Worker::flush(): UDP datagrams queued during the handler go
// out with one sendmmsg, stream connections written to are written once.

#include "sip/transport/transport_layer.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/assert.h"
#include "common/log.h"
#include "sip/message/chars.h"
#include "sip/parser/message_editor.h"
#include "sip/parser/message_parser.h"
#include "sip/parser/stream_framer.h"

namespace herald::sip {

using asio::ip::tcp;
using asio::ip::udp;

namespace {

thread_local int t_worker = -1;

constexpr size_t kUdpBatch = 32;
constexpr size_t kMaxDatagram = 65535;
constexpr Duration kTick{10};

uint32_t connectionWorker(uint64_t id) { return static_cast<uint32_t>((id >> 48) - 1); }

// sockaddr <-> Endpoint.
socklen_t toSockaddr(const Endpoint& ep, sockaddr_storage* ss) {
  std::memset(ss, 0, sizeof(*ss));
  if (ep.family() == Endpoint::Family::V4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(ep.port());
    std::memcpy(&sin->sin_addr, ep.bytes(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(ep.port());
  std::memcpy(&sin6->sin6_addr, ep.bytes(), 16);
  return sizeof(sockaddr_in6);
}

Endpoint fromSockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    std::array<uint8_t, 4> b;
    std::memcpy(b.data(), &sin->sin_addr, 4);
    return Endpoint::v4(b, ntohs(sin->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::array<uint8_t, 16> b;
    std::memcpy(b.data(), &sin6->sin6_addr, 16);
    // An IPv4-mapped address is reported as IPv4.
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b.data(), kMapped, 12) == 0) {
      return Endpoint::v4({b[12], b[13], b[14], b[15]}, ntohs(sin6->sin6_port));
    }
    return Endpoint::v6(b, ntohs(sin6->sin6_port));
  }
  return Endpoint();
}

Endpoint fromAsio(const asio::ip::address& a, uint16_t port) {
  if (a.is_v4()) return Endpoint::v4(a.to_v4().to_bytes(), port);
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped())
    return Endpoint::v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_bytes(), port);
  return Endpoint::v6(v6.to_bytes(), port);
}

asio::ip::address toAsio(const Endpoint& ep) {
  if (ep.family() == Endpoint::Family::V4) {
    std::array<uint8_t, 4> b;
    std::memcpy(b.data(), ep.bytes(), 4);
    return asio::ip::address_v4(b);
  }
  std::array<uint8_t, 16> b;
  std::memcpy(b.data(), ep.bytes(), 16);
  return asio::ip::address_v6(b);
}

bool setReusePort(int fd) {
  int one = 1;
  return ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0;
}

struct RegistryKey {
  Transport transport;
  Endpoint endpoint;
  bool operator==(const RegistryKey&) const = default;
};
struct RegistryKeyHash {
  size_t operator()(const RegistryKey& k) const {
    return k.endpoint.hash() * 3 + static_cast<size_t>(k.transport);
  }
};

}  // namespace

class Worker;

// ---------------------------------------------------------------------------------------------
// Stream connection (TCP, TLS). Owned by its worker's map; async operations hold a shared_ptr.

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  enum class State { Connecting, Handshaking, Open, Closed };

  Connection(Worker& worker, uint64_t id, Transport transport, tcp::socket socket, bool outbound);
  ~Connection();

  void startAccepted(const Endpoint& remote, const Endpoint& local);
  void startOutbound(const Endpoint& remote, const std::string& tls_name);
  // Appends bytes to the write queue; written at the next flush.
  void queue(const SharedBytes& bytes, TxId tx, uint32_t reply_worker);
  void flush();
  void close(const char* why);

  uint64_t id() const { return id_; }
  State state() const { return state_; }
  Transport transport() const { return transport_; }
  const Endpoint& remote() const { return remote_; }
  TimePoint lastActivity() const { return last_activity_; }

 private:
  struct Pending {
    size_t end;  // offset in out_ after this message
    TxId tx;
    uint32_t reply_worker;
  };

  void onConnected(const asio::error_code& ec);
  void beginTls();
  void driveHandshake();
  void waitReadable();
  void waitWritable();
  void onReadable();
  void processFramer();
  // Moves out_ bytes to the socket; returns false if the connection was closed.
  bool writeSome();
  void failPending();

  Worker& worker_;
  uint64_t id_;
  Transport transport_;
  tcp::socket socket_;
  bool outbound_;
  State state_ = State::Connecting;
  SSL* ssl_ = nullptr;
  std::string tls_name_;
  Endpoint remote_;
  Endpoint local_;
  StreamFramer framer_;
  std::string out_;
  size_t out_head_ = 0;
  std::deque<Pending> pending_;
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  bool tls_read_wants_write_ = false;
  bool dirty_ = false;
  asio::steady_timer connect_timer_;
  TimePoint last_activity_;

  friend class Worker;
};

// ---------------------------------------------------------------------------------------------

struct InboxItem {
  enum class Kind { Message, Send, Error, Task };
  Kind kind = Kind::Task;
  std::unique_ptr<SipMessage> msg;
  Origin origin;
  SendTarget target;
  SharedBytes bytes;
  TxId tx = 0;
  uint32_t reply_worker = 0;
  std::function<void()> task;
};

struct UdpSocket {
  explicit UdpSocket(asio::io_context& io) : socket(io) {}
  udp::socket socket;
  ListenerSpec spec;
  bool waiting_write = false;
};

struct Acceptor {
  explicit Acceptor(asio::io_context& io) : acceptor(io) {}
  tcp::acceptor acceptor;
  ListenerSpec spec;
};

class TransportLayer::Impl {
 public:
  Impl(TransportConfig config, const Clock& clock) : config_(std::move(config)), clock_(clock) {}

  TransportConfig config_;
  const Clock& clock_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<ListenerSpec> bound_;
  SslCtxPtr server_ctx_;
  SslCtxPtr client_ctx_;
  std::atomic<bool> running_{false};

  std::mutex registry_mu_;
  std::unordered_map<RegistryKey, uint64_t, RegistryKeyHash> registry_;
  std::atomic<uint32_t> open_connections_{0};

  void registerConnection(Transport t, const Endpoint& ep, uint64_t id) {
    std::lock_guard<std::mutex> lock(registry_mu_);
    registry_[RegistryKey{t, ep}] = id;
  }
  void unregisterConnection(Transport t, const Endpoint& ep, uint64_t id) {
    std::lock_guard<std::mutex> lock(registry_mu_);
    auto it = registry_.find(RegistryKey{t, ep});
    if (it != registry_.end() && it->second == id) registry_.erase(it);
  }
  // The connection to (t, ep), or `candidate` registered as it when there is none, atomically:
  // two workers sending to a new peer at once must end up on one connection.
  uint64_t claimConnection(Transport t, const Endpoint& ep, uint64_t candidate) {
    std::lock_guard<std::mutex> lock(registry_mu_);
    auto [it, inserted] = registry_.try_emplace(RegistryKey{t, ep}, candidate);
    return it->second;
  }
  uint64_t findConnection(Transport t, const Endpoint& ep) {
    std::lock_guard<std::mutex> lock(registry_mu_);
    auto it = registry_.find(RegistryKey{t, ep});
    return it == registry_.end() ? 0 : it->second;
  }
};

class Worker {
 public:
  struct Counters {
    std::atomic<uint64_t> received{0}, sent{0}, parse_errors{0}, handoffs{0},
        connections_rejected{0}, keepalive_pings{0}, send_failures{0};
  };

  Worker(TransportLayer::Impl& layer, uint32_t index)
      : layer_(layer),
        index_(index),
        tick_timer_(io_),
        sweep_timer_(io_),
        recv_buffers_(kUdpBatch * kMaxDatagram) {}

  uint32_t index() const { return index_; }
  asio::io_context& io() { return io_; }
  TransportLayer::Impl& layer() { return layer_; }
  const TransportConfig& config() const { return layer_.config_; }
  Counters& counters() { return counters_; }
  TimePoint now() const { return layer_.clock_.now(); }
  void setReceiver(TransportReceiver* r) { receiver_ = r; }

  Result<void> openListener(const ListenerSpec& spec, ListenerSpec* bound);
  void start();
  void stop();

  // --- called on this worker ---
  void send(const SendTarget& to, const SharedBytes& bytes, TxId tx, uint32_t reply_worker);
  void deliver(std::unique_ptr<SipMessage> msg, const Origin& origin);
  void reportError(uint32_t worker, TxId tx);
  void flush();
  void markDirty(Connection* c) {
    if (!c->dirty_) {
      c->dirty_ = true;
      dirty_.push_back(c->shared_from_this());
    }
  }
  void adopt(std::shared_ptr<Connection> c) { connections_[c->id()] = std::move(c); }
  void forget(uint64_t id) { connections_.erase(id); }
  uint64_t nextConnectionId() { return (static_cast<uint64_t>(index_) + 1) << 48 | ++conn_serial_; }
  // Handles one framed message from a stream connection or a datagram.
  void handleBytes(Buffer buffer, const Origin& origin, bool stream, Connection* conn);

  // --- any thread ---
  void push(InboxItem item);

 private:
  void drainInbox();
  void waitUdp(UdpSocket& s);
  void onUdpReadable(UdpSocket& s);
  void flushUdp();
  void accept(Acceptor& a);
  void tick();
  void sweep();
  void sendStream(const SendTarget& to, const SharedBytes& bytes, TxId tx, uint32_t reply_worker);
  void replyError(const Buffer& bytes, const ParseError& error, const Origin& origin,
                  Connection* conn);
  UdpSocket* udpFor(Endpoint::Family f);

  TransportLayer::Impl& layer_;
  uint32_t index_;
  asio::io_context io_;
  std::thread thread_;
  TransportReceiver* receiver_ = nullptr;
  std::vector<std::unique_ptr<UdpSocket>> udp_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_;
  std::vector<std::shared_ptr<Connection>> dirty_;
  asio::steady_timer tick_timer_;
  asio::steady_timer sweep_timer_;
  uint64_t conn_serial_ = 0;
  Counters counters_;

  // UDP receive: one arena for a recvmmsg batch.
  std::vector<char> recv_buffers_;
  // UDP send batch.
  struct UdpOut {
    UdpSocket* socket;
    sockaddr_storage addr;
    socklen_t addr_len;
    SharedBytes bytes;
    TxId tx;
    uint32_t reply_worker;
  };
  std::vector<UdpOut> udp_out_;
  std::vector<std::pair<uint32_t, TxId>> errors_;

  std::mutex inbox_mu_;
  std::vector<InboxItem> inbox_;
  bool inbox_scheduled_ = false;
  std::vector<InboxItem> draining_;
};

// ---------------------------------------------------------------------------------------------
// Worker

Result<void> Worker::openListener(const ListenerSpec& spec, ListenerSpec* bound) {
  asio::error_code ec;
  auto addr = toAsio(spec.address);
  if (spec.transport == Transport::Udp) {
    auto s = std::make_unique<UdpSocket>(io_);
    s->spec = spec;
    udp::endpoint ep(addr, spec.address.port());
    s->socket.open(ep.protocol(), ec);
    if (!ec && addr.is_v6()) s->socket.set_option(asio::ip::v6_only(true), ec);
    if (!ec && !setReusePort(s->socket.native_handle())) ec = asio::error::invalid_argument;
    if (!ec) s->socket.bind(ep, ec);
    if (ec) {
      return unexpected(
          unavailable("cannot bind udp " + spec.address.toString() + ": " + ec.message()));
    }
    s->socket.non_blocking(true, ec);
    int size = config().udp_buffer_bytes;
    ::setsockopt(s->socket.native_handle(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    ::setsockopt(s->socket.native_handle(), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    auto local = s->socket.local_endpoint(ec);
    bound->transport = spec.transport;
    bound->address = fromAsio(local.address(), local.port());
    s->spec = *bound;
    udp_.push_back(std::move(s));
    return {};
  }
  auto a = std::make_unique<Acceptor>(io_);
  tcp::endpoint ep(addr, spec.address.port());
  a->acceptor.open(ep.protocol(), ec);
  if (!ec && addr.is_v6()) a->acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) a->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && !setReusePort(a->acceptor.native_handle())) ec = asio::error::invalid_argument;
  if (!ec) a->acceptor.bind(ep, ec);
  if (!ec) a->acceptor.listen(1024, ec);
  if (ec) {
    return unexpected(unavailable("cannot listen on " + std::string(transportName(spec.transport)) +
                                  " " + spec.address.toString() + ": " + ec.message()));
  }
  a->acceptor.non_blocking(true, ec);
  auto local = a->acceptor.local_endpoint(ec);
  bound->transport = spec.transport;
  bound->address = fromAsio(local.address(), local.port());
  a->spec = *bound;
  acceptors_.push_back(std::move(a));
  return {};
}

void Worker::start() {
  thread_ = std::thread([this] {
    t_worker = static_cast<int>(index_);
    for (auto& s : udp_) waitUdp(*s);
    for (auto& a : acceptors_) accept(*a);
    tick();
    sweep();
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

void Worker::stop() {
  asio::post(io_, [this] {
    asio::error_code ec;
    for (auto& s : udp_) s->socket.close(ec);
    for (auto& a : acceptors_) a->acceptor.close(ec);
    std::vector<std::shared_ptr<Connection>> all;
    for (auto& [id, c] : connections_) all.push_back(c);
    for (auto& c : all) c->close("shutdown");
    tick_timer_.cancel();
    sweep_timer_.cancel();
    io_.stop();
  });
  if (thread_.joinable()) thread_.join();
}

void Worker::push(InboxItem item) {
  bool schedule = false;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    inbox_.push_back(std::move(item));
    if (!inbox_scheduled_) {
      inbox_scheduled_ = true;
      schedule = true;
    }
  }
  if (schedule) asio::post(io_, [this] { drainInbox(); });
}

void Worker::drainInbox() {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    draining_.swap(inbox_);
    inbox_scheduled_ = false;
  }
  for (InboxItem& item : draining_) {
    switch (item.kind) {
      case InboxItem::Kind::Message:
        if (receiver_ != nullptr) receiver_->onMessage(std::move(item.msg), item.origin);
        break;
      case InboxItem::Kind::Send:
        send(item.target, item.bytes, item.tx, item.reply_worker);
        break;
      case InboxItem::Kind::Error:
        if (receiver_ != nullptr) receiver_->onTransportError(item.tx);
        break;
      case InboxItem::Kind::Task:
        item.task();
        break;
    }
  }
  draining_.clear();
  flush();
}

void Worker::reportError(uint32_t worker, TxId tx) {
  counters_.send_failures.fetch_add(1, std::memory_order_relaxed);
  if (tx == 0) return;
  // Never call back into the stack from inside a send: deliver on the next turn.
  errors_.emplace_back(worker, tx);
}

void Worker::deliver(std::unique_ptr<SipMessage> msg, const Origin& origin) {
  uint32_t owner = owningWorker(*msg, static_cast<uint32_t>(layer_.workers_.size()));
  if (owner == index_) {
    if (receiver_ != nullptr) receiver_->onMessage(std::move(msg), origin);
    return;
  }
  counters_.handoffs.fetch_add(1, std::memory_order_relaxed);
  InboxItem item;
  item.kind = InboxItem::Kind::Message;
  item.msg = std::move(msg);
  item.origin = origin;
  layer_.workers_[owner]->push(std::move(item));
}

void Worker::replyError(const Buffer& bytes, const ParseError& error, const Origin& origin,
                        Connection* conn) {
  std::string_view view = bytes.view();
  // Never answer a response, and never answer what does not look like a request.
  size_t start = view.find_first_not_of("\r\n");
  if (start == std::string_view::npos || chars::istartsWith(view.substr(start), "SIP/")) return;
  auto salvaged = MessageParser::parseForErrorReply(Buffer::copyOf(view), config().limits);
  if (!salvaged || salvaged->find(HeaderId::Via) == nullptr) return;
  if (salvaged->method() == Method::Ack) return;  // an ACK is never answered
  ResponseSpec spec;
  spec.code = error.status;
  spec.reason = error.reason;
  std::string reply = buildResponse(*salvaged, spec);
  auto shared = makeBytes(std::move(reply));
  if (conn != nullptr) {
    conn->queue(shared, 0, index_);
    markDirty(conn);
    return;
  }
  SendTarget to;
  to.transport = origin.transport;
  to.endpoint = origin.source;
  send(to, shared, 0, index_);
}

void Worker::handleBytes(Buffer buffer, const Origin& origin, bool stream, Connection* conn) {
  counters_.received.fetch_add(1, std::memory_order_relaxed);
  auto parsed = stream ? MessageParser::parseStream(std::move(buffer), config().limits)
                       : MessageParser::parseDatagram(std::move(buffer), config().limits);
  if (!parsed) {
    // On failure the parser leaves the buffer with us: answer from it.
    counters_.parse_errors.fetch_add(1, std::memory_order_relaxed);
    HLOG_DEBUG(SipTransport, "unparsable message from {}: {}", origin.source.toString(),
               parsed.error().toString());
    replyError(buffer, parsed.error(), origin, conn);
    return;
  }
  auto valid = validate(*parsed, Validation::Basic);
  if (!valid) {
    counters_.parse_errors.fetch_add(1, std::memory_order_relaxed);
    HLOG_DEBUG(SipTransport, "invalid message from {}: {}", origin.source.toString(),
               valid.error().toString());
    if (parsed->isRequest()) {
      replyError(Buffer::copyOf(parsed->bytes()), valid.error(), origin, conn);
    }
    return;
  }
  deliver(std::make_unique<SipMessage>(std::move(*parsed)), origin);
}

UdpSocket* Worker::udpFor(Endpoint::Family f) {
  for (auto& s : udp_) {
    if (s->spec.address.family() == f) return s.get();
  }
  return nullptr;
}

void Worker::waitUdp(UdpSocket& s) {
  s.socket.async_wait(udp::socket::wait_read, [this, &s](const asio::error_code& ec) {
    if (ec) return;  // closed
    onUdpReadable(s);
    flush();
    waitUdp(s);
  });
}

void Worker::onUdpReadable(UdpSocket& s) {
  mmsghdr msgs[kUdpBatch];
  iovec iov[kUdpBatch];
  sockaddr_storage addrs[kUdpBatch];
  sockaddr_storage local_ss;
  std::memset(&local_ss, 0, sizeof(local_ss));
  Endpoint local = s.spec.address;
  // Bounded: at most 8 batches per wake, so that one flood cannot starve the other sockets.
  for (int round = 0; round < 8; ++round) {
    for (size_t i = 0; i < kUdpBatch; ++i) {
      iov[i].iov_base = recv_buffers_.data() + i * kMaxDatagram;
      iov[i].iov_len = kMaxDatagram;
      std::memset(&msgs[i], 0, sizeof(msgs[i]));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(addrs[i]);
    }
    int n = ::recvmmsg(s.socket.native_handle(), msgs, kUdpBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    for (int i = 0; i < n; ++i) {
      std::string_view bytes(static_cast<const char*>(iov[i].iov_base), msgs[i].msg_len);
      // RFC 5626 keep-alives and stray line ends carry nothing to parse.
      if (bytes.find_first_not_of("\r\n \t") == std::string_view::npos) {
        counters_.keepalive_pings.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      Origin origin;
      origin.transport = Transport::Udp;
      origin.source = fromSockaddr(addrs[i]);
      origin.local = local;
      if (bytes.size() > config().limits.max_message_bytes) {
        counters_.parse_errors.fetch_add(1, std::memory_order_relaxed);
        replyError(Buffer::copyOf(bytes.substr(0, config().limits.max_message_bytes)),
                   ParseError{513, "Message Too Large", ""}, origin, nullptr);
        continue;
      }
      auto parsed = MessageParser::parseDatagram(Buffer::copyOf(bytes), config().limits);
      if (!parsed) {
        counters_.received.fetch_add(1, std::memory_order_relaxed);
        counters_.parse_errors.fetch_add(1, std::memory_order_relaxed);
        HLOG_DEBUG(SipTransport, "unparsable datagram from {}: {}", origin.source.toString(),
                   parsed.error().toString());
        replyError(Buffer::copyOf(bytes), parsed.error(), origin, nullptr);
        continue;
      }
      // Parsed already: validate and deliver.
      counters_.received.fetch_add(1, std::memory_order_relaxed);
      auto valid = validate(*parsed, Validation::Basic);
      if (!valid) {
        counters_.parse_errors.fetch_add(1, std::memory_order_relaxed);
        if (parsed->isRequest()) replyError(Buffer::copyOf(bytes), valid.error(), origin, nullptr);
        continue;
      }
      deliver(std::make_unique<SipMessage>(std::move(*parsed)), origin);
    }
    if (n < static_cast<int>(kUdpBatch)) return;
  }
}

void Worker::send(const SendTarget& to, const SharedBytes& bytes, TxId tx, uint32_t reply_worker) {
  if (!to.endpoint.valid() && to.connection == 0) {
    reportError(reply_worker, tx);
    return;
  }
  if (to.transport != Transport::Udp) {
    sendStream(to, bytes, tx, reply_worker);
    return;
  }
  if (to.endpoint.isBroadcastOrMulticast() || to.endpoint.port() == 0) {
    reportError(reply_worker, tx);
    return;
  }
  UdpSocket* s = udpFor(to.endpoint.family());
  if (s == nullptr) {
    HLOG_DEBUG(SipTransport, "no UDP socket for {}", to.endpoint.toString());
    reportError(reply_worker, tx);
    return;
  }
  UdpOut out;
  out.socket = s;
  out.addr_len = toSockaddr(to.endpoint, &out.addr);
  out.bytes = bytes;
  out.tx = tx;
  out.reply_worker = reply_worker;
  udp_out_.push_back(std::move(out));
}

void Worker::flushUdp() {
  size_t done = 0;
  while (done < udp_out_.size()) {
    // One sendmmsg per socket run.
    UdpSocket* s = udp_out_[done].socket;
    size_t end = done;
    mmsghdr msgs[64];
    iovec iov[64];
    while (end < udp_out_.size() && end - done < 64 && udp_out_[end].socket == s) {
      size_t i = end - done;
      iov[i].iov_base = const_cast<char*>(udp_out_[end].bytes->data());
      iov[i].iov_len = udp_out_[end].bytes->size();
      std::memset(&msgs[i], 0, sizeof(msgs[i]));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &udp_out_[end].addr;
      msgs[i].msg_hdr.msg_namelen = udp_out_[end].addr_len;
      ++end;
    }
    int n = ::sendmmsg(s->socket.native_handle(), msgs, static_cast<unsigned>(end - done),
                       MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        // The socket buffer is full: keep the rest and wait for room.
        if (!s->waiting_write) {
          s->waiting_write = true;
          s->socket.async_wait(udp::socket::wait_write, [this, s](const asio::error_code& ec) {
            s->waiting_write = false;
            if (!ec) flush();
          });
        }
        udp_out_.erase(udp_out_.begin(), udp_out_.begin() + static_cast<long>(done));
        return;
      }
      // This datagram failed (unreachable, bad address): report it and go on.
      reportError(udp_out_[done].reply_worker, udp_out_[done].tx);
      ++done;
      continue;
    }
    counters_.sent.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    done += static_cast<size_t>(n);
  }
  udp_out_.clear();
}

void Worker::flush() {
  if (!udp_out_.empty()) flushUdp();
  while (!dirty_.empty()) {
    std::vector<std::shared_ptr<Connection>> dirty;
    dirty.swap(dirty_);
    for (auto& c : dirty) {
      c->dirty_ = false;
      c->flush();
    }
  }
  if (!errors_.empty()) {
    std::vector<std::pair<uint32_t, TxId>> errors;
    errors.swap(errors_);
    for (auto [worker, tx] : errors) {
      InboxItem item;
      item.kind = InboxItem::Kind::Error;
      item.tx = tx;
      layer_.workers_[worker]->push(std::move(item));
    }
  }
}

void Worker::sendStream(const SendTarget& to, const SharedBytes& bytes, TxId tx,
                        uint32_t reply_worker) {
  uint64_t id = to.connection;
  if (id == 0 && to.endpoint.valid()) id = layer_.findConnection(to.transport, to.endpoint);
  if (id != 0) {
    uint32_t owner = connectionWorker(id);
    if (owner != index_ && owner < layer_.workers_.size()) {
      InboxItem item;
      item.kind = InboxItem::Kind::Send;
      item.target = to;
      item.target.connection = id;
      item.bytes = bytes;
      item.tx = tx;
      item.reply_worker = reply_worker;
      layer_.workers_[owner]->push(std::move(item));
      return;
    }
    auto it = connections_.find(id);
    if (it != connections_.end() && it->second->state() != Connection::State::Closed) {
      it->second->queue(bytes, tx, reply_worker);
      markDirty(it->second.get());
      return;
    }
    // Gone: open a new connection to the endpoint, if there is one.
    if (to.endpoint.valid() && to.connection != 0) {
      uint64_t other = layer_.findConnection(to.transport, to.endpoint);
      if (other != 0 && other != id) {
        SendTarget again = to;
        again.connection = other;
        sendStream(again, bytes, tx, reply_worker);
        return;
      }
    }
  }
  if (!to.endpoint.valid() || to.endpoint.port() == 0 || to.endpoint.isBroadcastOrMulticast()) {
    reportError(reply_worker, tx);
    return;
  }
  if (to.transport == Transport::Tls && !layer_.client_ctx_) {
    reportError(reply_worker, tx);
    return;
  }
  uint64_t new_id = nextConnectionId();
  uint64_t claimed = layer_.claimConnection(to.transport, to.endpoint, new_id);
  if (claimed != new_id) {
    // Another worker opened one meanwhile: use it.
    SendTarget again = to;
    again.connection = claimed;
    sendStream(again, bytes, tx, reply_worker);
    return;
  }
  asio::error_code ec;
  tcp::socket socket(io_);
  socket.open(to.endpoint.family() == Endpoint::Family::V4 ? tcp::v4() : tcp::v6(), ec);
  if (ec) {
    layer_.unregisterConnection(to.transport, to.endpoint, new_id);
    reportError(reply_worker, tx);
    return;
  }
  auto conn = std::make_shared<Connection>(*this, new_id, to.transport, std::move(socket), true);
  adopt(conn);
  conn->queue(bytes, tx, reply_worker);
  conn->startOutbound(to.endpoint, to.tls_name);
}

void Worker::accept(Acceptor& a) {
  a.acceptor.async_accept([this, &a](const asio::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !a.acceptor.is_open()) return;
    if (!ec) {
      asio::error_code ignored;
      auto remote_ep = socket.remote_endpoint(ignored);
      auto local_ep = socket.local_endpoint(ignored);
      if (layer_.open_connections_.load() >= config().max_connections) {
        counters_.connections_rejected.fetch_add(1, std::memory_order_relaxed);
        HLOG_WARN(SipTransport, "connection limit ({}) reached, closing new connection",
                  config().max_connections);
        socket.close(ignored);
      } else {
        auto conn = std::make_shared<Connection>(*this, nextConnectionId(), a.spec.transport,
                                                 std::move(socket), false);
        adopt(conn);
        Endpoint remote = fromAsio(remote_ep.address(), remote_ep.port());
        layer_.registerConnection(a.spec.transport, remote, conn->id());
        conn->startAccepted(remote, fromAsio(local_ep.address(), local_ep.port()));
      }
    }
    flush();
    accept(a);
  });
}

void Worker::tick() {
  tick_timer_.expires_after(std::chrono::milliseconds(kTick.count()));
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    if (receiver_ != nullptr) receiver_->onTick(now());
    flush();
    tick();
  });
}

void Worker::sweep() {
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    TimePoint limit = now() - config().idle_timeout;
    std::vector<std::shared_ptr<Connection>> idle;
    for (auto& [id, c] : connections_) {
      if (c->lastActivity() < limit) idle.push_back(c);
    }
    for (auto& c : idle) c->close("idle timeout");
    flush();
    sweep();
  });
}

// ---------------------------------------------------------------------------------------------
// Connection

Connection::Connection(Worker& worker, uint64_t id, Transport transport, tcp::socket socket,
                       bool outbound)
    : worker_(worker),
      id_(id),
      transport_(transport),
      socket_(std::move(socket)),
      outbound_(outbound),
      framer_(worker.config().limits),
      connect_timer_(worker.io()),
      last_activity_(worker.now()) {
  worker_.layer().open_connections_.fetch_add(1);
}

Connection::~Connection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  worker_.layer().open_connections_.fetch_sub(1);
}

void Connection::startAccepted(const Endpoint& remote, const Endpoint& local) {
  remote_ = remote;
  local_ = local;
  asio::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(tcp::no_delay(true), ec);
  HLOG_DEBUG(SipTransport, "accepted {} connection {} from {}", transportName(transport_), id_,
             remote_.toString());
  if (transport_ == Transport::Tls) {
    beginTls();
  } else {
    state_ = State::Open;
    waitReadable();
  }
}

void Connection::startOutbound(const Endpoint& remote, const std::string& tls_name) {
  remote_ = remote;
  tls_name_ = tls_name;
  state_ = State::Connecting;
  connect_timer_.expires_after(std::chrono::milliseconds(worker_.config().connect_timeout.count()));
  connect_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec) return;
    if (self->state_ == State::Connecting || self->state_ == State::Handshaking) {
      self->close("connect timeout");
      self->worker_.flush();
    }
  });
  socket_.async_connect(tcp::endpoint(toAsio(remote), remote.port()),
                        [self = shared_from_this()](const asio::error_code& ec) {
                          self->onConnected(ec);
                          self->worker_.flush();
                        });
}

void Connection::onConnected(const asio::error_code& ec) {
  if (state_ == State::Closed) return;
  if (ec) {
    HLOG_DEBUG(SipTransport, "connect to {} failed: {}", remote_.toString(), ec.message());
    close("connect failed");
    return;
  }
  asio::error_code ignored;
  socket_.non_blocking(true, ignored);
  socket_.set_option(tcp::no_delay(true), ignored);
  auto local = socket_.local_endpoint(ignored);
  local_ = fromAsio(local.address(), local.port());
  if (transport_ == Transport::Tls) {
    beginTls();
    return;
  }
  connect_timer_.cancel();
  state_ = State::Open;
  worker_.markDirty(this);
  waitReadable();
}

void Connection::beginTls() {
  SSL_CTX* ctx = outbound_ ? worker_.layer().client_ctx_.get() : worker_.layer().server_ctx_.get();
  if (ctx == nullptr) {
    close("no TLS context");
    return;
  }
  ssl_ = SSL_new(ctx);
  SSL_set_fd(ssl_, socket_.native_handle());
  if (outbound_) {
    SSL_set_connect_state(ssl_);
    std::string name = tls_name_.empty() ? remote_.address() : tls_name_;
    auto is_ip = Endpoint::fromAddress(name, 0);
    if (!is_ip) {
      // SSL_set_tlsext_host_name, without the macro's C cast.
      SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(name.c_str()));
    }
    if (worker_.config().tls.verify_server) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
      if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
      }
    }
  } else {
    SSL_set_accept_state(ssl_);
  }
  state_ = State::Handshaking;
  driveHandshake();
}

void Connection::driveHandshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    connect_timer_.cancel();
    state_ = State::Open;
    HLOG_DEBUG(SipTransport, "TLS {} with {} ({}, {})", outbound_ ? "connected" : "accepted",
               remote_.toString(), SSL_get_version(ssl_), SSL_get_cipher(ssl_));
    worker_.markDirty(this);
    waitReadable();
    return;
  }
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    auto what = err == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write;
    socket_.async_wait(what, [self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->state_ != State::Handshaking) return;
      self->driveHandshake();
      self->worker_.flush();
    });
    return;
  }
  std::string why = takeOpenSslErrors();
  HLOG_INFO(SipTransport, "TLS handshake with {} failed: {}", remote_.toString(), why);
  close("TLS handshake failed");
}

void Connection::waitReadable() {
  if (read_waiting_ || state_ != State::Open) return;
  read_waiting_ = true;
  socket_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this()](const asio::error_code& ec) {
                       self->read_waiting_ = false;
                       if (ec || self->state_ != State::Open) return;
                       self->onReadable();
                       self->worker_.flush();
                       self->waitReadable();
                     });
}

void Connection::onReadable() {
  last_activity_ = worker_.now();
  // Bounded per wake: 16 reads of up to 64 KiB.
  for (int round = 0; round < 16 && state_ == State::Open; ++round) {
    auto space = framer_.prepare(64 * 1024);
    ssize_t n;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      int r = SSL_read(ssl_, space.data(), static_cast<int>(space.size()));
      if (r <= 0) {
        framer_.commit(0);
        int err = SSL_get_error(ssl_, r);
        if (err == SSL_ERROR_WANT_READ) break;
        if (err == SSL_ERROR_WANT_WRITE) {
          waitWritable();
          break;
        }
        close(err == SSL_ERROR_ZERO_RETURN ? "closed by peer" : "TLS read error");
        return;
      }
      n = r;
    } else {
      n = ::recv(socket_.native_handle(), space.data(), space.size(), MSG_DONTWAIT);
      if (n < 0) {
        framer_.commit(0);
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        close("read error");
        return;
      }
      if (n == 0) {
        framer_.commit(0);
        close("closed by peer");
        return;
      }
    }
    framer_.commit(static_cast<size_t>(n));
    processFramer();
    if (static_cast<size_t>(n) < space.size() && (ssl_ == nullptr || SSL_pending(ssl_) == 0)) {
      break;
    }
  }
}

void Connection::processFramer() {
  while (state_ == State::Open) {
    StreamFramer::Item item = framer_.next();
    switch (item.kind) {
      case StreamFramer::Kind::NeedMore:
        return;
      case StreamFramer::Kind::Ping: {
        // RFC 5626 §3.5.1: answer a double-CRLF ping with a single CRLF pong.
        worker_.counters().keepalive_pings.fetch_add(1, std::memory_order_relaxed);
        static const SharedBytes kPong = makeBytes("\r\n");
        queue(kPong, 0, worker_.index());
        worker_.markDirty(this);
        break;
      }
      case StreamFramer::Kind::Error: {
        worker_.counters().parse_errors.fetch_add(1, std::memory_order_relaxed);
        HLOG_INFO(SipTransport, "framing error from {}: {}; closing", remote_.toString(),
                  item.error.toString());
        // RFC 4475 ncl/mcl01: the stream cannot be resynchronised; close it.
        close("framing error");
        return;
      }
      case StreamFramer::Kind::Message: {
        Origin origin;
        origin.transport = transport_;
        origin.source = remote_;
        origin.local = local_;
        origin.connection = id_;
        worker_.handleBytes(std::move(item.message), origin, true, this);
        break;
      }
    }
  }
}

void Connection::queue(const SharedBytes& bytes, TxId tx, uint32_t reply_worker) {
  if (state_ == State::Closed) {
    worker_.reportError(reply_worker, tx);
    return;
  }
  if (out_.size() - out_head_ + bytes->size() > worker_.config().max_write_queue_bytes) {
    // Back-pressure: a peer that does not read its data is cut off.
    HLOG_WARN(SipTransport, "{} does not read its data ({} bytes queued); disconnecting",
              remote_.toString(), out_.size() - out_head_);
    worker_.reportError(reply_worker, tx);
    close("write queue full");
    return;
  }
  out_.append(*bytes);
  pending_.push_back(Pending{out_.size(), tx, reply_worker});
}

void Connection::flush() {
  if (state_ != State::Open || write_waiting_) return;
  if (out_head_ < out_.size()) writeSome();
}

bool Connection::writeSome() {
  while (out_head_ < out_.size()) {
    const char* data = out_.data() + out_head_;
    size_t len = out_.size() - out_head_;
    ssize_t n;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      int r = SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(len, 1 << 30)));
      if (r <= 0) {
        int err = SSL_get_error(ssl_, r);
        if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
          waitWritable();
          return true;
        }
        close("TLS write error");
        return false;
      }
      n = r;
    } else {
      n = ::send(socket_.native_handle(), data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          waitWritable();
          return true;
        }
        close("write error");
        return false;
      }
    }
    out_head_ += static_cast<size_t>(n);
    last_activity_ = worker_.now();
    while (!pending_.empty() && pending_.front().end <= out_head_) {
      worker_.counters().sent.fetch_add(1, std::memory_order_relaxed);
      pending_.pop_front();
    }
  }
  // All written: reset the buffer.
  out_.clear();
  out_head_ = 0;
  for (auto& p : pending_) p.end = 0;
  pending_.clear();
  return true;
}

void Connection::waitWritable() {
  if (write_waiting_) return;
  write_waiting_ = true;
  socket_.async_wait(tcp::socket::wait_write,
                     [self = shared_from_this()](const asio::error_code& ec) {
                       self->write_waiting_ = false;
                       if (ec || self->state_ != State::Open) return;
                       if (self->writeSome() && self->ssl_ != nullptr) {
                         // A TLS read may have been waiting for this write (renegotiation).
                         self->onReadable();
                       }
                       self->worker_.flush();
                     });
}

void Connection::failPending() {
  for (const Pending& p : pending_) worker_.reportError(p.reply_worker, p.tx);
  pending_.clear();
  out_.clear();
  out_head_ = 0;
}

void Connection::close(const char* why) {
  if (state_ == State::Closed) return;
  HLOG_DEBUG(SipTransport, "closing {} connection {} to {}: {}", transportName(transport_), id_,
             remote_.toString(), why);
  state_ = State::Closed;
  failPending();
  asio::error_code ec;
  connect_timer_.cancel();
  if (ssl_ != nullptr) SSL_shutdown(ssl_);
  socket_.close(ec);
  worker_.layer().unregisterConnection(transport_, remote_, id_);
  // Keep this object alive until pending handlers have run.
  auto self = shared_from_this();
  worker_.forget(id_);
  asio::post(worker_.io(), [self] {});
}

// ---------------------------------------------------------------------------------------------
// TransportLayer

TransportLayer::TransportLayer(TransportConfig config, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(config), clock)) {
  // Writes to a closed peer must fail with EPIPE, not kill the process.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, nullptr);
  uint32_t n = impl_->config_.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  for (uint32_t i = 0; i < n; ++i) impl_->workers_.push_back(std::make_unique<Worker>(*impl_, i));
}

TransportLayer::~TransportLayer() { stop(); }

uint32_t TransportLayer::workers() const { return static_cast<uint32_t>(impl_->workers_.size()); }

Result<void> TransportLayer::bind() {
  bool need_tls = false;
  for (const auto& l : impl_->config_.listeners)
    need_tls = need_tls || l.transport == Transport::Tls;
  if (need_tls) {
    auto server = makeServerContext(impl_->config_.tls);
    if (!server) return unexpected(server.error());
    impl_->server_ctx_ = std::move(*server);
  }
  auto client = makeClientContext(impl_->config_.tls);
  if (client) {
    impl_->client_ctx_ = std::move(*client);
  } else {
    HLOG_WARN(SipTransport, "no TLS client context: {}", client.error().toString());
  }
  for (const auto& spec : impl_->config_.listeners) {
    ListenerSpec actual = spec;
    for (auto& w : impl_->workers_) {
      ListenerSpec bound;
      auto r = w->openListener(actual, &bound);
      if (!r) return r;
      actual = bound;  // port 0: every worker binds the port the first one got
    }
    impl_->bound_.push_back(actual);
  }
  return {};
}

void TransportLayer::setReceiver(uint32_t worker, TransportReceiver* receiver) {
  impl_->workers_.at(worker)->setReceiver(receiver);
}

void TransportLayer::start() {
  if (impl_->running_.exchange(true)) return;
  for (auto& w : impl_->workers_) w->start();
}

void TransportLayer::stop() {
  if (!impl_->running_.exchange(false)) return;
  for (auto& w : impl_->workers_) w->stop();
}

std::vector<ListenerSpec> TransportLayer::boundListeners() const { return impl_->bound_; }

std::optional<ListenerSpec> TransportLayer::listenerFor(Transport t,
                                                        Endpoint::Family family) const {
  std::optional<ListenerSpec> any;
  for (const auto& l : impl_->bound_) {
    if (l.transport != t) continue;
    if (l.address.family() == family) return l;
    if (!any) any = l;
  }
  return any;
}

void TransportLayer::send(const SendTarget& to, const SharedBytes& bytes, TxId tx) {
  int w = t_worker;
  HERALD_CHECK(w >= 0 && static_cast<size_t>(w) < impl_->workers_.size());
  impl_->workers_[static_cast<size_t>(w)]->send(to, bytes, tx, static_cast<uint32_t>(w));
}

void TransportLayer::post(uint32_t worker, std::function<void()> f) {
  InboxItem item;
  item.kind = InboxItem::Kind::Task;
  item.task = std::move(f);
  impl_->workers_.at(worker)->push(std::move(item));
}

int TransportLayer::currentWorker() { return t_worker; }

TransportLayer::Stats TransportLayer::stats() const {
  Stats s;
  for (auto& w : impl_->workers_) {
    auto& c = w->counters();
    s.received += c.received.load(std::memory_order_relaxed);
    s.sent += c.sent.load(std::memory_order_relaxed);
    s.parse_errors += c.parse_errors.load(std::memory_order_relaxed);
    s.handoffs += c.handoffs.load(std::memory_order_relaxed);
    s.connections_rejected += c.connections_rejected.load(std::memory_order_relaxed);
    s.keepalive_pings += c.keepalive_pings.load(std::memory_order_relaxed);
    s.send_failures += c.send_failures.load(std::memory_order_relaxed);
  }
  s.connections_open = impl_->open_connections_.load();
  return s;
}

uint32_t owningWorker(const SipMessage& msg, uint32_t workers) {
  if (workers <= 1) return 0;
  if (msg.isResponse()) {
    auto via = msg.topVia();
    if (via) {
      auto w = TransactionManager::workerOfBranch((*via)->branch);
      if (w && *w < workers) return *w;
    }
  }
  auto call_id = msg.callId();
  std::string_view id = call_id ? *call_id : std::string_view();
  return static_cast<uint32_t>(std::hash<std::string_view>{}(id) % workers);
}

}  // namespace herald::sip
