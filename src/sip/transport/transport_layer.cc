// TransportLayer implementation on one Reactor (edge-triggered epoll) per worker, with the
// socket calls made directly (recvmmsg/sendmmsg, recv/send, SSL_read/SSL_write) so that one
// wake-up serves many messages.
//
// Layout per worker:
//   Worker { Reactor, UdpSocket per UDP listener, Acceptor per TCP/TLS listener,
//            connections (id -> Connection), inbox (cross-worker hand-off), 10 ms tick }
// Connection ids carry their worker: id = (worker + 1) << 48 | serial.
//
// After every batch of events the worker flushes: UDP datagrams queued during the batch go out
// with one sendmmsg per socket, each stream connection written to is written once.
//
// Hand-off: a request is handled by the worker that read it unless that worker is saturated
// (busy at least TransportConfig::spill_load of its time); then requests whose Call-ID hashes
// elsewhere go to that worker, and the Call-ID is remembered so that retransmissions, ACK and
// CANCEL follow. Responses go to the worker named in our branch. Below saturation nothing crosses
// threads.

#include "sip/transport/transport_layer.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <unistd.h>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <absl/container/flat_hash_map.h>

#include "common/assert.h"
#include "common/log.h"
#include "sip/message/chars.h"
#include "sip/parser/message_editor.h"
#include "sip/parser/message_parser.h"
#include "sip/parser/stream_framer.h"
#include "sip/transport/reactor.h"

namespace herald::sip {

namespace {

thread_local int t_worker = -1;

constexpr size_t kUdpBatch = 32;
constexpr size_t kMaxDatagram = 65535;
constexpr Duration kTick{10};
// How long a spilled Call-ID keeps following its worker: the life of its transactions.
constexpr Duration kSpillMemory{40000};
// A stream connection's write buffer drops its written prefix once that is this large (and
// half the buffer), and is freed when drained if it grew beyond this.
constexpr size_t kCompactBytes = 64 * 1024;

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

// A classic BPF program for the reuseport group: "always the first socket", the one worker 0
// bound first. Sockets leave the group only at shutdown, so the index stays right.
void steerToFirstSocket(int fd) {
  static sock_filter code[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
  sock_fprog prog{1, code};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0) {
    HLOG_WARN(SipTransport, "UDP datagrams are spread by the kernel (SO_ATTACH_REUSEPORT_CBPF: {})",
              std::strerror(errno));
  }
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
struct EndpointHash {
  size_t operator()(const Endpoint& e) const { return e.hash(); }
};
struct RegistryKeyHash {
  size_t operator()(const RegistryKey& k) const {
    return k.endpoint.hash() * 3 + static_cast<size_t>(k.transport);
  }
};

}  // namespace

class Worker;

// ---------------------------------------------------------------------------------------------
// Stream connection (TCP, TLS). Owned by its worker's map; a closed one waits in the worker's
// graveyard until the end of the batch.

class Connection final : public Reactor::Handler, public std::enable_shared_from_this<Connection> {
 public:
  enum class State { Connecting, Handshaking, Open, Closed };

  Connection(Worker& worker, uint64_t id, Transport transport, int fd, bool outbound);
  ~Connection() override;

  void startAccepted(const Endpoint& remote, const Endpoint& local);
  // REQUIRES: fd is a fresh non-blocking socket.
  void startOutbound(const Endpoint& remote, const std::string& tls_name);
  // Appends bytes to the write queue; written at the next flush.
  void queue(const SharedBytes& bytes, TxId tx, uint32_t reply_worker);
  void flush();
  void close(const char* why);
  bool onEvents(uint32_t events) override;

  uint64_t id() const { return id_; }
  State state() const { return state_; }
  bool outbound() const { return outbound_; }
  Transport transport() const { return transport_; }
  const Endpoint& remote() const { return remote_; }
  TimePoint lastActivity() const { return last_activity_; }
  // TimePoint::max() when nothing is awaited; see TransportConfig::message_timeout.
  TimePoint messageDeadline() const { return message_deadline_; }
  bool dirty = false;

 private:
  struct Pending {
    size_t end;  // offset in out_ after this message
    TxId tx;
    uint32_t reply_worker;
  };

  void onConnected();
  void beginTls();
  void driveHandshake();
  // Reads what is there; true when stopped early with more to read.
  bool readSome();
  // Delivers what the framer holds; true when that included a complete message.
  bool processFramer();
  // Moves out_ bytes to the socket; false if the connection closed.
  bool writeSome();
  void failPending();
  // Drops the written prefix of out_ once it is large (see kCompactBytes).
  void compact();
  // Brings TransportLayer::Impl::write_buffer_bytes_ up to date with out_.capacity().
  void accountBuffer();

  Worker& worker_;
  uint64_t id_;
  Transport transport_;
  int fd_;
  bool outbound_;
  State state_ = State::Connecting;
  SSL* ssl_ = nullptr;
  std::string tls_name_;
  Endpoint remote_;
  Endpoint local_;
  StreamFramer framer_;
  // Bytes to write: out_[out_head_, size) is still unwritten; pending_ ends are offsets in out_.
  std::string out_;
  size_t out_head_ = 0;
  std::deque<Pending> pending_;
  size_t accounted_ = 0;   // out_.capacity() as counted in write_buffer_bytes_
  bool writable_ = false;  // edge-triggered: the socket accepted all we wrote last time
  Reactor::TimerId connect_timer_ = 0;
  TimePoint last_activity_;
  TimePoint message_deadline_ = TimePoint::max();
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

struct UdpSocket final : public Reactor::Handler {
  UdpSocket(Worker& w, int f) : worker(w), fd(f) {}
  ~UdpSocket() override {
    if (fd >= 0) ::close(fd);
  }
  bool onEvents(uint32_t events) override;
  Worker& worker;
  int fd;
  ListenerSpec spec;
  bool blocked = false;  // a send hit EAGAIN: wait for EPOLLOUT
};

struct Acceptor final : public Reactor::Handler {
  Acceptor(Worker& w, int f) : worker(w), fd(f) {}
  ~Acceptor() override {
    if (fd >= 0) ::close(fd);
  }
  bool onEvents(uint32_t events) override;
  Worker& worker;
  int fd;
  ListenerSpec spec;
};

class TransportLayer::Impl {
 public:
  Impl(TransportConfig config, const Clock& clock)
      : config_(std::move(config)),
        clock_(clock),
        idle_timeout_ms_(config_.idle_timeout.count()),
        max_connections_(config_.max_connections) {}

  TransportConfig config_;
  const Clock& clock_;
  // Accepted connections per remote IP address (port 0). Before workers_: connections, which
  // release their count when destroyed, must go first.
  std::mutex per_address_mu_;
  std::unordered_map<Endpoint, uint32_t, EndpointHash> per_address_;
  // Capacity of every stream connection's write buffer (Stats::write_buffer_bytes). Before
  // workers_, for the same reason. Changes only when a buffer grows or is freed.
  std::atomic<uint64_t> write_buffer_bytes_{0};
  // Open connections and the connection registry: before workers_ too (a connection destroyed
  // with its worker counts itself out and leaves the registry).
  std::atomic<uint32_t> open_connections_{0};
  std::mutex registry_mu_;
  std::unordered_map<RegistryKey, uint64_t, RegistryKeyHash> registry_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<ListenerSpec> bound_;
  SslCtxPtr server_ctx_;
  SslCtxPtr client_ctx_;
  std::atomic<bool> running_{false};
  // Changed at run time (setConnectionLimits), read by every worker.
  std::atomic<int64_t> idle_timeout_ms_;
  std::atomic<uint32_t> max_connections_;
  std::atomic<bool> listening_{false};

  // Runs f on worker w and waits for it. REQUIRES: not on a worker thread.
  void runOn(uint32_t w, std::function<void()> f);

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
  // Counts an accepted connection from `remote`'s address; false (nothing counted) when that
  // address has max_connections_per_address already. Once per accept, not per message.
  bool admitFrom(const Endpoint& remote) {
    Endpoint address = remote;
    address.setPort(0);
    std::lock_guard<std::mutex> lock(per_address_mu_);
    uint32_t& n = per_address_[address];
    if (n >= config_.max_connections_per_address) {
      if (n == 0) per_address_.erase(address);
      return false;
    }
    ++n;
    return true;
  }
  void releaseFrom(const Endpoint& remote) {
    Endpoint address = remote;
    address.setPort(0);
    std::lock_guard<std::mutex> lock(per_address_mu_);
    auto it = per_address_.find(address);
    HERALD_ASSERT(it != per_address_.end());
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
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
        connections_rejected{0}, keepalive_pings{0}, send_failures{0}, message_timeouts{0},
        connections_rejected_per_address{0};
  };

  Worker(TransportLayer::Impl& layer, uint32_t index)
      : layer_(layer),
        index_(index),
        reactor_(layer.clock_),
        recv_buffers_(kUdpBatch * kMaxDatagram) {}

  uint32_t index() const { return index_; }
  Reactor& reactor() { return reactor_; }
  TransportLayer::Impl& layer() { return layer_; }
  const TransportConfig& config() const { return layer_.config_; }
  Counters& counters() { return counters_; }
  TimePoint now() const { return layer_.clock_.now(); }
  void setReceiver(TransportReceiver* r) { receiver_ = r; }
  uint32_t workers() const { return static_cast<uint32_t>(layer_.workers_.size()); }

  Result<void> openListener(const ListenerSpec& spec, ListenerSpec* bound);
  // --- on this worker, at run time ---
  // Registers listeners opened by openListener() since the loop started.
  void watchListeners();
  // Closes the listeners and the connections accepted on them (outbound ones stay).
  void closeListeners();
  void start();
  void stop();
  // The thread's scheduling policy (SCHED_*), -1 if it cannot be read. After start().
  int schedulingPolicy();

  // --- called on this worker ---
  void send(const SendTarget& to, const SharedBytes& bytes, TxId tx, uint32_t reply_worker);
  // A valid message read here: process it here or hand it to its owner. saturated: the read
  // batch it came in was full.
  void dispatch(std::unique_ptr<SipMessage> msg, const Origin& origin, bool saturated);
  void reportError(uint32_t worker, TxId tx);
  // End of a reactor batch: sendQueued(), then free the connections closed in the batch.
  void flush();
  // Sends what is queued (hand-offs, datagrams, connection writes). Safe inside a handler:
  // connections it closes stay alive until flush().
  void sendQueued();
  void markDirty(Connection* c) {
    if (c->state() == Connection::State::Closed) return;
    if (!c->dirty) {
      c->dirty = true;
      dirty_.push_back(c->shared_from_this());
    }
  }
  void adopt(std::shared_ptr<Connection> c) { connections_[c->id()] = std::move(c); }
  // Moves a closed connection out of the map; it is destroyed after this batch.
  void bury(uint64_t id) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    reactor_.forget(it->second.get());
    graveyard_.push_back(std::move(it->second));
    connections_.erase(it);
  }
  uint64_t nextConnectionId() { return (static_cast<uint64_t>(index_) + 1) << 48 | ++conn_serial_; }
  // One framed message from a stream connection.
  void handleStreamMessage(Buffer buffer, const Origin& origin, Connection* conn, bool saturated);
  bool readUdp(UdpSocket& s);
  bool acceptSome(Acceptor& a);
  void replyError(const Buffer& bytes, const ParseError& error, const Origin& origin,
                  Connection* conn);

  // --- any thread ---
  void push(InboxItem item);

 private:
  void drainInbox();
  void flushUdp();
  void tick();
  // Spilled Call-IDs to forget, or a receiver with timers to run.
  bool needsTick() const {
    return !spilled_.empty() || (receiver_ != nullptr && !receiver_->idle());
  }
  bool tick_armed_ = false;
  void sweep();
  void sendStream(const SendTarget& to, const SharedBytes& bytes, TxId tx, uint32_t reply_worker);
  void deliverHere(std::unique_ptr<SipMessage> msg, const Origin& origin);
  UdpSocket* udpFor(Endpoint::Family f);

  TransportLayer::Impl& layer_;
  uint32_t index_;
  Reactor reactor_;
  std::thread thread_;
  TransportReceiver* receiver_ = nullptr;
  std::vector<std::unique_ptr<UdpSocket>> udp_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  // Listeners closed during this batch: freed in flush(), after what they had queued.
  std::vector<std::unique_ptr<Reactor::Handler>> retired_;
  size_t watched_udp_ = 0, watched_acceptors_ = 0;  // how many are registered with reactor_
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_;
  std::vector<std::shared_ptr<Connection>> dirty_;
  std::vector<std::shared_ptr<Connection>> graveyard_;
  uint64_t conn_serial_ = 0;
  Counters counters_;

  // Call-IDs handed to another worker while saturated: hash of the Call-ID -> (worker, expiry).
  struct Spill {
    uint32_t worker;
    TimePoint until;
  };
  // Keyed by a 64-bit hash of the Call-ID: no allocation per lookup, and two Call-IDs that
  // collide only share a worker. spill_order_ holds keys in the order their memory ends, so
  // expiry is amortised O(1) per entry instead of a scan of the whole map.
  absl::flat_hash_map<uint64_t, Spill> spilled_;
  std::deque<std::pair<uint64_t, TimePoint>> spill_order_;
  void purgeSpills(TimePoint t);

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
  // Hand-offs collected during a batch, pushed once per target at flush.
  std::vector<std::vector<InboxItem>> outgoing_;

  std::mutex inbox_mu_;
  std::vector<InboxItem> inbox_;
  std::vector<InboxItem> draining_;
};

// ---------------------------------------------------------------------------------------------
// Worker

// SO_REUSEPORT lets any socket of the same user with the option share the port, so a second
// Herald started on the same address would silently take half the traffic. Before the first
// worker binds, a probe without SO_REUSEPORT makes sure nobody holds the port.
Result<void> probePortFree(const ListenerSpec& spec) {
  if (spec.address.port() == 0) return {};
  int family = spec.address.family() == Endpoint::Family::V4 ? AF_INET : AF_INET6;
  bool udp = spec.transport == Transport::Udp;
  int fd = ::socket(family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  int one = 1;
  if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (!udp) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage ss;
  socklen_t len = toSockaddr(spec.address, &ss);
  int r = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
  int err = errno;
  ::close(fd);
  if (r != 0) {
    return unexpected(unavailable(std::string(udp ? "cannot bind " : "cannot listen on ") +
                                  std::string(transportName(spec.transport)) + " " +
                                  spec.address.toString() + ": " + std::strerror(err) +
                                  " (another process holds the port)"));
  }
  return {};
}

Result<void> Worker::openListener(const ListenerSpec& spec, ListenerSpec* bound) {
  int family = spec.address.family() == Endpoint::Family::V4 ? AF_INET : AF_INET6;
  bool udp = spec.transport == Transport::Udp;
  if (index_ == 0) HERALD_TRY(probePortFree(spec));
  int fd = ::socket(family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  auto fail = [&](const char* what) -> Result<void> {
    std::string err = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return unexpected(unavailable(std::string(what) + " " +
                                  std::string(transportName(spec.transport)) + " " +
                                  spec.address.toString() + ": " + err));
  };
  if (fd < 0) return fail("cannot open");
  int one = 1;
  if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (!udp) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (!setReusePort(fd)) return fail("cannot set SO_REUSEPORT on");
  sockaddr_storage ss;
  socklen_t len = toSockaddr(spec.address, &ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return fail(udp ? "cannot bind" : "cannot listen on");
  }
  if (!udp && ::listen(fd, 1024) != 0) return fail("cannot listen on");
  len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  bound->transport = spec.transport;
  bound->address = fromSockaddr(ss);
  if (udp) {
    int size = config().udp_buffer_bytes;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    if (index_ == 0 && workers() > 1 && config().udp_single_reader) steerToFirstSocket(fd);
    auto s = std::make_unique<UdpSocket>(*this, fd);
    s->spec = *bound;
    udp_.push_back(std::move(s));
  } else {
    auto a = std::make_unique<Acceptor>(*this, fd);
    a->spec = *bound;
    acceptors_.push_back(std::move(a));
  }
  return {};
}

void Worker::start() {
  outgoing_.resize(workers());
  thread_ = std::thread([this] {
    t_worker = static_cast<int>(index_);
    watchListeners();
    tick();
    sweep();
    reactor_.run([this] { drainInbox(); }, [this] { flush(); });
    // Shutdown on this thread: close everything it owns.
    std::vector<std::shared_ptr<Connection>> all;
    for (auto& [id, c] : connections_) all.push_back(c);
    for (auto& c : all) c->close("shutdown");
    graveyard_.clear();
    udp_.clear();
    acceptors_.clear();
  });
  if (config().batch_scheduling) {
    // Set from here rather than by the thread itself, so that it holds when start() returns.
    sched_param param{};
    int rc = ::pthread_setschedparam(thread_.native_handle(), SCHED_BATCH, &param);
    if (rc != 0) {
      HLOG_WARN(SipTransport, "worker {} keeps the default scheduling (SCHED_BATCH: {})", index_,
                std::strerror(rc));
    }
  }
}

int Worker::schedulingPolicy() {
  int policy = -1;
  sched_param param{};
  if (::pthread_getschedparam(thread_.native_handle(), &policy, &param) != 0) return -1;
  return policy;
}

void Worker::watchListeners() {
  for (; watched_udp_ < udp_.size(); ++watched_udp_) {
    reactor_.add(udp_[watched_udp_]->fd, udp_[watched_udp_].get());
  }
  for (; watched_acceptors_ < acceptors_.size(); ++watched_acceptors_) {
    reactor_.add(acceptors_[watched_acceptors_]->fd, acceptors_[watched_acceptors_].get());
  }
}

void Worker::closeListeners() {
  std::vector<std::shared_ptr<Connection>> accepted;
  for (auto& [id, c] : connections_) {
    if (!c->outbound()) accepted.push_back(c);
  }
  for (auto& c : accepted) c->close("listeners closed");
  // What is queued goes out first; then the descriptors close now, so that the port is free
  // when the caller hears back. The objects live until flush(): the reactor may still hold
  // their pointers in this batch.
  sendQueued();
  udp_out_.clear();  // left by EAGAIN; every UDP socket of this worker is closing
  for (auto& u : udp_) {
    reactor_.remove(u->fd);
    reactor_.forget(u.get());
    ::close(u->fd);
    u->fd = -1;
    retired_.push_back(std::move(u));
  }
  for (auto& a : acceptors_) {
    reactor_.remove(a->fd);
    reactor_.forget(a.get());
    ::close(a->fd);
    a->fd = -1;
    retired_.push_back(std::move(a));
  }
  udp_.clear();
  acceptors_.clear();
  watched_udp_ = watched_acceptors_ = 0;
}

void Worker::stop() {
  reactor_.stop();
  if (thread_.joinable()) thread_.join();
}

void Worker::push(InboxItem item) {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    inbox_.push_back(std::move(item));
  }
  reactor_.wake();
}

void Worker::drainInbox() {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    draining_.swap(inbox_);
  }
  for (InboxItem& item : draining_) {
    switch (item.kind) {
      case InboxItem::Kind::Message:
        deliverHere(std::move(item.msg), item.origin);
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
}

void Worker::reportError(uint32_t worker, TxId tx) {
  counters_.send_failures.fetch_add(1, std::memory_order_relaxed);
  if (tx == 0) return;
  // Never call back into the stack from inside a send: deliver on the next turn.
  errors_.emplace_back(worker, tx);
}

void Worker::deliverHere(std::unique_ptr<SipMessage> msg, const Origin& origin) {
  if (receiver_ != nullptr) receiver_->onMessage(std::move(msg), origin);
}

void Worker::dispatch(std::unique_ptr<SipMessage> msg, const Origin& origin, bool saturated) {
  uint32_t n = workers();
  uint32_t owner = index_;
  if (n > 1) {
    if (msg->isResponse()) {
      owner = owningWorker(*msg, n);
    } else {
      auto call_id = msg->callId();
      std::string_view id = call_id ? *call_id : std::string_view();
      const bool spilling = saturated || !spilled_.empty();
      const uint64_t key = spilling ? std::hash<std::string_view>{}(id) : 0;
      if (!spilled_.empty()) {
        auto it = spilled_.find(key);
        if (it != spilled_.end()) {
          owner = it->second.worker;
          it->second.until = now() + kSpillMemory;
        }
      }
      if (owner == index_ && saturated) {
        uint32_t hashed = static_cast<uint32_t>(key % n);
        if (hashed != index_) {
          owner = hashed;
          TimePoint until = now() + kSpillMemory;
          spilled_[key] = Spill{owner, until};
          spill_order_.emplace_back(key, until);
        }
      }
    }
  }
  if (owner == index_) {
    deliverHere(std::move(msg), origin);
    return;
  }
  counters_.handoffs.fetch_add(1, std::memory_order_relaxed);
  InboxItem item;
  item.kind = InboxItem::Kind::Message;
  item.msg = std::move(msg);
  item.origin = origin;
  outgoing_[owner].push_back(std::move(item));
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
  auto shared = makeBytes(buildResponse(*salvaged, spec));
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

void Worker::handleStreamMessage(Buffer buffer, const Origin& origin, Connection* conn,
                                 bool saturated) {
  counters_.received.fetch_add(1, std::memory_order_relaxed);
  auto parsed = MessageParser::parseStreamPtr(std::move(buffer), config().limits);
  if (!parsed) {
    // On failure the parser leaves the buffer with us: answer from it.
    counters_.parse_errors.fetch_add(1, std::memory_order_relaxed);
    HLOG_DEBUG(SipTransport, "unparsable message from {}: {}", origin.source.toString(),
               parsed.error().toString());
    replyError(buffer, parsed.error(), origin, conn);
    return;
  }
  auto valid = validate(**parsed, Validation::Basic);
  if (!valid) {
    counters_.parse_errors.fetch_add(1, std::memory_order_relaxed);
    HLOG_DEBUG(SipTransport, "invalid message from {}: {}", origin.source.toString(),
               valid.error().toString());
    if ((*parsed)->isRequest()) {
      replyError(Buffer::copyOf((*parsed)->bytes()), valid.error(), origin, conn);
    }
    return;
  }
  dispatch(std::move(*parsed), origin, saturated);
}

UdpSocket* Worker::udpFor(Endpoint::Family f) {
  for (auto& s : udp_) {
    if (s->spec.address.family() == f) return s.get();
  }
  return nullptr;
}

bool UdpSocket::onEvents(uint32_t events) {
  if ((events & EPOLLOUT) != 0 && blocked) {
    blocked = false;  // flush() at the end of the batch sends what is queued
  }
  if (events != 0 && (events & (EPOLLIN | EPOLLERR)) == 0) return false;
  return worker.readUdp(*this);
}

bool Worker::readUdp(UdpSocket& s) {
  mmsghdr msgs[kUdpBatch];
  iovec iov[kUdpBatch];
  sockaddr_storage addrs[kUdpBatch];
  const Endpoint local = s.spec.address;
  // Bounded: 4 batches per turn, then the other descriptors get theirs.
  for (int round = 0; round < 4; ++round) {
    for (size_t i = 0; i < kUdpBatch; ++i) {
      iov[i].iov_base = recv_buffers_.data() + i * kMaxDatagram;
      iov[i].iov_len = kMaxDatagram;
      std::memset(&msgs[i], 0, sizeof(msgs[i]));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(addrs[i]);
    }
    int n = ::recvmmsg(s.fd, msgs, kUdpBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return false;
    const bool saturated = reactor_.load() >= config().spill_load;
    for (int i = 0; i < n; ++i) {
      std::string_view bytes(static_cast<const char*>(iov[i].iov_base), msgs[i].msg_len);
      // RFC 5626 keep-alives and stray line ends carry nothing to parse.
      if (bytes.find_first_not_of("\r\n \t") == std::string_view::npos) {
        counters_.keepalive_pings.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      counters_.received.fetch_add(1, std::memory_order_relaxed);
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
      auto msg = MessageParser::parseDatagramPtr(Buffer::copyOf(bytes), config().limits);
      if (!msg) {
        counters_.parse_errors.fetch_add(1, std::memory_order_relaxed);
        HLOG_DEBUG(SipTransport, "unparsable datagram from {}: {}", origin.source.toString(),
                   msg.error().toString());
        replyError(Buffer::copyOf(bytes), msg.error(), origin, nullptr);
        continue;
      }
      auto valid = validate(**msg, Validation::Basic);
      if (!valid) {
        counters_.parse_errors.fetch_add(1, std::memory_order_relaxed);
        if ((*msg)->isRequest()) replyError(Buffer::copyOf(bytes), valid.error(), origin, nullptr);
        continue;
      }
      dispatch(std::move(*msg), origin, saturated);
    }
    // Send what this batch produced before reading the next: under load a message otherwise
    // waits for every message read after it in the same turn (up to 4 batches, ~4 ms).
    sendQueued();
    if (n < static_cast<int>(kUdpBatch)) return false;
  }
  return true;  // more may be waiting
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
    // One sendmmsg per run of datagrams for the same socket.
    UdpSocket* s = udp_out_[done].socket;
    if (s->blocked) {
      // Wait for EPOLLOUT; keep the rest.
      udp_out_.erase(udp_out_.begin(), udp_out_.begin() + static_cast<long>(done));
      return;
    }
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
    int n = ::sendmmsg(s->fd, msgs, static_cast<unsigned>(end - done), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        s->blocked = true;
        continue;
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
  sendQueued();
  graveyard_.clear();
  if (!tick_armed_ && needsTick()) tick();
  if (!retired_.empty()) {
    // Datagrams queued for a closed socket since closeListeners() go with it.
    std::erase_if(udp_out_, [](const UdpOut& o) { return o.socket->fd < 0; });
    retired_.clear();
  }
}

void Worker::sendQueued() {
  // Hand-offs first, one push per target worker.
  for (uint32_t w = 0; w < outgoing_.size(); ++w) {
    if (outgoing_[w].empty()) continue;
    Worker& target = *layer_.workers_[w];
    {
      std::lock_guard<std::mutex> lock(target.inbox_mu_);
      for (auto& item : outgoing_[w]) target.inbox_.push_back(std::move(item));
    }
    outgoing_[w].clear();
    target.reactor_.wake();
  }
  if (!udp_out_.empty()) flushUdp();
  while (!dirty_.empty()) {
    std::vector<std::shared_ptr<Connection>> dirty;
    dirty.swap(dirty_);
    for (auto& c : dirty) {
      c->dirty = false;
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
    if (owner != index_ && owner < workers()) {
      InboxItem item;
      item.kind = InboxItem::Kind::Send;
      item.target = to;
      item.target.connection = id;
      item.bytes = bytes;
      item.tx = tx;
      item.reply_worker = reply_worker;
      outgoing_[owner].push_back(std::move(item));
      return;
    }
    auto it = connections_.find(id);
    if (it != connections_.end() && it->second->state() != Connection::State::Closed) {
      // queue() may close the connection (back-pressure), which erases the map entry; the
      // connection itself lives in the graveyard until the end of the batch.
      Connection* conn = it->second.get();
      conn->queue(bytes, tx, reply_worker);
      markDirty(conn);
      return;
    }
    // Gone: use another connection to the endpoint, or open one.
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
  int family = to.endpoint.family() == Endpoint::Family::V4 ? AF_INET : AF_INET6;
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    layer_.unregisterConnection(to.transport, to.endpoint, new_id);
    reportError(reply_worker, tx);
    return;
  }
  auto conn = std::make_shared<Connection>(*this, new_id, to.transport, fd, true);
  adopt(conn);
  conn->queue(bytes, tx, reply_worker);
  conn->startOutbound(to.endpoint, to.tls_name);
}

bool Acceptor::onEvents(uint32_t events) {
  if (events != 0 && (events & EPOLLIN) == 0) return false;
  return worker.acceptSome(*this);
}

bool Worker::acceptSome(Acceptor& a) {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = ::accept4(a.fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return false;  // EAGAIN, or a transient error: wait for the next edge
    const uint32_t limit = layer_.max_connections_.load(std::memory_order_relaxed);
    if (layer_.open_connections_.load() >= limit) {
      counters_.connections_rejected.fetch_add(1, std::memory_order_relaxed);
      HLOG_WARN(SipTransport, "connection limit ({}) reached, closing new connection", limit);
      ::close(fd);
      continue;
    }
    Endpoint remote = fromSockaddr(ss);
    if (!layer_.admitFrom(remote)) {
      counters_.connections_rejected_per_address.fetch_add(1, std::memory_order_relaxed);
      HLOG_DEBUG(SipTransport, "{} has {} connections already; closing new connection",
                 remote.address(), layer_.config_.max_connections_per_address);
      ::close(fd);
      continue;
    }
    sockaddr_storage local_ss;
    socklen_t local_len = sizeof(local_ss);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local_ss), &local_len);
    auto conn =
        std::make_shared<Connection>(*this, nextConnectionId(), a.spec.transport, fd, false);
    adopt(conn);
    layer_.registerConnection(a.spec.transport, remote, conn->id());
    conn->startAccepted(remote, fromSockaddr(local_ss));
  }
  return true;
}

void Worker::tick() {
  tick_armed_ = true;
  reactor_.addTimer(kTick, [this] {
    TimePoint t = now();
    if (receiver_ != nullptr) receiver_->onTick(t);
    purgeSpills(t);
    if (!needsTick()) {
      tick_armed_ = false;  // flush() starts it again once there is work
      return;
    }
    tick();
  });
}

void Worker::purgeSpills(TimePoint t) {
  // Each tick forgets what expired since the last: a few entries, never a scan of the map.
  while (!spill_order_.empty() && spill_order_.front().second < t) {
    auto [key, queued_until] = spill_order_.front();
    spill_order_.pop_front();
    auto it = spilled_.find(key);
    if (it == spilled_.end()) continue;
    if (it->second.until < t) {
      spilled_.erase(it);
    } else if (it->second.until != queued_until) {
      spill_order_.emplace_back(key, it->second.until);  // used since: look again then
    }
  }
}

void Worker::sweep() {
  reactor_.addTimer(Duration(1000), [this] {
    TimePoint t = now();
    TimePoint limit = t - Duration(layer_.idle_timeout_ms_.load(std::memory_order_relaxed));
    std::vector<std::shared_ptr<Connection>> idle;
    std::vector<std::shared_ptr<Connection>> late;
    for (auto& [id, c] : connections_) {
      if (c->lastActivity() < limit) {
        idle.push_back(c);
      } else if (c->messageDeadline() < t) {
        late.push_back(c);
      }
    }
    for (auto& c : idle) c->close("idle timeout");
    for (auto& c : late) {
      counters_.message_timeouts.fetch_add(1, std::memory_order_relaxed);
      HLOG_INFO(SipTransport, "{} sent no complete message in time; closing", c->remote().toString());
      c->close("message timeout");
    }
    sweep();
  });
}

// ---------------------------------------------------------------------------------------------
// Connection

Connection::Connection(Worker& worker, uint64_t id, Transport transport, int fd, bool outbound)
    : worker_(worker),
      id_(id),
      transport_(transport),
      fd_(fd),
      outbound_(outbound),
      framer_(worker.config().limits),
      last_activity_(worker.now()) {
  worker_.layer().open_connections_.fetch_add(1);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Connection::~Connection() {
  if (!outbound_) worker_.layer().releaseFrom(remote_);  // admitFrom() counted it
  worker_.layer().write_buffer_bytes_.fetch_sub(accounted_, std::memory_order_relaxed);
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
  worker_.layer().open_connections_.fetch_sub(1);
}

void Connection::startAccepted(const Endpoint& remote, const Endpoint& local) {
  remote_ = remote;
  local_ = local;
  // Slow or silent clients (TLS handshake, first message) must not hold the connection until
  // the idle timeout.
  message_deadline_ = last_activity_ + worker_.config().message_timeout;
  HLOG_DEBUG(SipTransport, "accepted {} connection {} from {}", transportName(transport_), id_,
             remote_.toString());
  worker_.reactor().add(fd_, this);
  if (transport_ == Transport::Tls) {
    beginTls();
  } else {
    state_ = State::Open;
    writable_ = true;
  }
}

void Connection::startOutbound(const Endpoint& remote, const std::string& tls_name) {
  remote_ = remote;
  tls_name_ = tls_name;
  state_ = State::Connecting;
  std::weak_ptr<Connection> weak = shared_from_this();
  connect_timer_ = worker_.reactor().addTimer(worker_.config().connect_timeout, [weak] {
    auto self = weak.lock();
    if (self && (self->state_ == State::Connecting || self->state_ == State::Handshaking)) {
      self->connect_timer_ = 0;
      self->close("connect timeout");
    }
  });
  sockaddr_storage ss;
  socklen_t len = toSockaddr(remote, &ss);
  worker_.reactor().add(fd_, this);
  int r = ::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len);
  if (r == 0) {
    onConnected();
  } else if (errno != EINPROGRESS) {
    HLOG_DEBUG(SipTransport, "connect to {} failed: {}", remote_.toString(), std::strerror(errno));
    close("connect failed");
  }
  // else: EPOLLOUT tells when the connection is up.
}

void Connection::onConnected() {
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  local_ = fromSockaddr(ss);
  writable_ = true;
  if (transport_ == Transport::Tls) {
    beginTls();
    return;
  }
  if (connect_timer_ != 0) worker_.reactor().cancelTimer(connect_timer_);
  connect_timer_ = 0;
  state_ = State::Open;
  worker_.markDirty(this);
}

bool Connection::onEvents(uint32_t events) {
  auto self = shared_from_this();  // closing inside must not destroy us mid-call
  if (state_ == State::Closed) return false;
  if (state_ == State::Connecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return false;
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      HLOG_DEBUG(SipTransport, "connect to {} failed: {}", remote_.toString(), std::strerror(err));
      close("connect failed");
      return false;
    }
    onConnected();
    if (state_ != State::Handshaking) return false;
  }
  if (state_ == State::Handshaking) {
    driveHandshake();
    return false;
  }
  if ((events & EPOLLOUT) != 0) {
    writable_ = true;
    if (out_head_ < out_.size()) writeSome();
  }
  if (events == 0 || (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    return readSome();
  }
  return false;
}

void Connection::beginTls() {
  SSL_CTX* ctx = outbound_ ? worker_.layer().client_ctx_.get() : worker_.layer().server_ctx_.get();
  if (ctx == nullptr) {
    close("no TLS context");
    return;
  }
  ssl_ = SSL_new(ctx);
  SSL_set_fd(ssl_, fd_);
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
    if (connect_timer_ != 0) worker_.reactor().cancelTimer(connect_timer_);
    connect_timer_ = 0;
    state_ = State::Open;
    HLOG_DEBUG(SipTransport, "TLS {} with {} ({}, {})", outbound_ ? "connected" : "accepted",
               remote_.toString(), SSL_get_version(ssl_), SSL_get_cipher(ssl_));
    writable_ = true;
    worker_.markDirty(this);
    readSome();  // application data may have come with the last handshake flight
    return;
  }
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;  // next edge
  std::string why = takeOpenSslErrors();
  HLOG_INFO(SipTransport, "TLS handshake with {} failed: {}", remote_.toString(), why);
  close("TLS handshake failed");
}

bool Connection::readSome() {
  last_activity_ = worker_.now();
  // Bounded per turn: 16 reads of up to 64 KiB.
  for (int round = 0; round < 16 && state_ == State::Open; ++round) {
    auto space = framer_.prepare(64 * 1024);
    ssize_t n;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      int r = SSL_read(ssl_, space.data(), static_cast<int>(space.size()));
      if (r <= 0) {
        framer_.commit(0);
        int err = SSL_get_error(ssl_, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
        close(err == SSL_ERROR_ZERO_RETURN ? "closed by peer" : "TLS read error");
        return false;
      }
      n = r;
    } else {
      n = ::recv(fd_, space.data(), space.size(), MSG_DONTWAIT);
      if (n < 0) {
        framer_.commit(0);
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        close("read error");
        return false;
      }
      if (n == 0) {
        framer_.commit(0);
        close("closed by peer");
        return false;
      }
    }
    framer_.commit(static_cast<size_t>(n));
    const bool framed = processFramer();
    // The next message is due message_timeout after its first bytes (on an accepted
    // connection, the first one after accept); nothing is due with nothing buffered.
    if (framed || message_deadline_ == TimePoint::max()) {
      message_deadline_ = framer_.buffered() == 0
                              ? TimePoint::max()
                              : last_activity_ + worker_.config().message_timeout;
    }
    // As for UDP: what this read produced leaves before the next read is handled. This may
    // close this connection (a write error); it stays alive until the end of the batch.
    worker_.sendQueued();
  }
  return state_ == State::Open;  // stopped early: more may be waiting
}

bool Connection::processFramer() {
  bool framed = false;
  while (state_ == State::Open) {
    StreamFramer::Item item = framer_.next();
    switch (item.kind) {
      case StreamFramer::Kind::NeedMore:
        return framed;
      case StreamFramer::Kind::Ping: {
        // RFC 5626 §3.5.1: answer a double-CRLF ping with a single CRLF pong.
        worker_.counters().keepalive_pings.fetch_add(1, std::memory_order_relaxed);
        static const SharedBytes kPong = makeBytes("\r\n");
        queue(kPong, 0, worker_.index());
        worker_.markDirty(this);
        break;
      }
      case StreamFramer::Kind::Error:
        worker_.counters().parse_errors.fetch_add(1, std::memory_order_relaxed);
        HLOG_INFO(SipTransport, "framing error from {}: {}; closing", remote_.toString(),
                  item.error.toString());
        // RFC 4475 ncl/mcl01: the stream cannot be resynchronised; close it.
        close("framing error");
        return framed;
      case StreamFramer::Kind::Message: {
        framed = true;
        Origin origin;
        origin.transport = transport_;
        origin.source = remote_;
        origin.local = local_;
        origin.connection = id_;
        worker_.handleStreamMessage(std::move(item.message), origin, this,
                                    worker_.reactor().load() >= worker_.config().spill_load);
        break;
      }
    }
  }
  return framed;
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
  compact();
  out_.append(*bytes);
  pending_.push_back(Pending{out_.size(), tx, reply_worker});
  accountBuffer();
}

// out_ is emptied only when everything is written, so a peer that reads steadily but never
// lets the queue run dry would make it grow without bound, though the unwritten part stays
// under max_write_queue_bytes. Dropping the written prefix once it is at least kCompactBytes
// and half of out_ keeps out_ under twice that limit plus kCompactBytes, and costs O(1)
// amortised per byte: the bytes moved (and the pending_ entries shifted, one per message of at
// least one byte) are no more than were written since the last compaction. The unwritten bytes
// move, as they do when append() reallocates: a TLS write retried after WANT_WRITE may pass a
// new address (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, tls_context.cc) with the same bytes.
void Connection::compact() {
  if (out_head_ < kCompactBytes || out_head_ * 2 < out_.size()) return;
  out_.erase(0, out_head_);
  for (Pending& p : pending_) p.end -= out_head_;
  out_head_ = 0;
}

void Connection::accountBuffer() {
  static const size_t kInline = std::string().capacity();  // no allocation up to this
  size_t now = out_.capacity() > kInline ? out_.capacity() : 0;
  if (now == accounted_) return;
  auto& gauge = worker_.layer().write_buffer_bytes_;
  if (now > accounted_) {
    gauge.fetch_add(now - accounted_, std::memory_order_relaxed);
  } else {
    gauge.fetch_sub(accounted_ - now, std::memory_order_relaxed);
  }
  accounted_ = now;
}

void Connection::flush() {
  if (state_ != State::Open || !writable_) return;
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
          writable_ = false;  // EPOLLOUT (or input) resumes
          return true;
        }
        close("TLS write error");
        return false;
      }
      n = r;
    } else {
      n = ::send(fd_, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          writable_ = false;
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
  // Drained. A buffer grown by a burst is freed rather than held for the connection's life.
  if (out_.capacity() > kCompactBytes) {
    std::string().swap(out_);
  } else {
    out_.clear();
  }
  out_head_ = 0;
  pending_.clear();
  accountBuffer();
  return true;
}

void Connection::failPending() {
  for (const Pending& p : pending_) worker_.reportError(p.reply_worker, p.tx);
  pending_.clear();
  std::string().swap(out_);
  out_head_ = 0;
  accountBuffer();
}

void Connection::close(const char* why) {
  if (state_ == State::Closed) return;
  HLOG_DEBUG(SipTransport, "closing {} connection {} to {}: {}", transportName(transport_), id_,
             remote_.toString(), why);
  state_ = State::Closed;
  failPending();
  if (connect_timer_ != 0) worker_.reactor().cancelTimer(connect_timer_);
  connect_timer_ = 0;
  if (ssl_ != nullptr) SSL_shutdown(ssl_);
  worker_.reactor().remove(fd_);
  ::close(fd_);
  fd_ = -1;
  worker_.layer().unregisterConnection(transport_, remote_, id_);
  worker_.bury(id_);
}

// ---------------------------------------------------------------------------------------------
// TransportLayer

TransportLayer::TransportLayer(TransportConfig config, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(config), clock)) {
  // Writes to a closed peer must fail with EPIPE, not kill the process (TLS writes use write()).
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
  impl_->listening_.store(true);
  for (auto& w : impl_->workers_) w->start();
}

void TransportLayer::stop() {
  if (!impl_->running_.exchange(false)) return;
  for (auto& w : impl_->workers_) w->stop();
}

void TransportLayer::Impl::runOn(uint32_t w, std::function<void()> f) {
  std::promise<void> done;
  InboxItem item;
  item.kind = InboxItem::Kind::Task;
  item.task = [&] {
    f();
    done.set_value();
  };
  workers_.at(w)->push(std::move(item));
  done.get_future().wait();
}

void TransportLayer::closeListeners() {
  HERALD_CHECK(t_worker < 0);
  if (!impl_->listening_.exchange(false)) return;
  for (uint32_t w = 0; w < impl_->workers_.size(); ++w) {
    Worker* worker = impl_->workers_[w].get();
    impl_->runOn(w, [worker] { worker->closeListeners(); });
  }
}

Result<void> TransportLayer::reopenListeners() {
  HERALD_CHECK(t_worker < 0);
  if (impl_->listening_.load()) return {};
  // Worker by worker, in order: the first socket of each reuseport group is worker 0's, the
  // one the UDP steering program names.
  Result<void> result;
  for (uint32_t w = 0; w < impl_->workers_.size() && result; ++w) {
    Worker* worker = impl_->workers_[w].get();
    impl_->runOn(w, [&, worker] {
      for (const auto& spec : impl_->bound_) {
        ListenerSpec bound;
        auto r = worker->openListener(spec, &bound);
        if (!r) {
          result = r;
          break;
        }
      }
      worker->watchListeners();
    });
  }
  if (!result) {
    for (uint32_t w = 0; w < impl_->workers_.size(); ++w) {
      Worker* worker = impl_->workers_[w].get();
      impl_->runOn(w, [worker] { worker->closeListeners(); });
    }
    return result;
  }
  impl_->listening_.store(true);
  return {};
}

bool TransportLayer::listening() const { return impl_->listening_.load(); }

void TransportLayer::setConnectionLimits(Duration idle_timeout, uint32_t max_connections) {
  impl_->idle_timeout_ms_.store(idle_timeout.count());
  impl_->max_connections_.store(max_connections);
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

int TransportLayer::schedulingPolicy(uint32_t worker) const {
  HERALD_CHECK(worker < impl_->workers_.size());
  return impl_->workers_[worker]->schedulingPolicy();
}

TransportLayer::Stats TransportLayer::stats() const {
  Stats s;
  for (auto& w : impl_->workers_) {
    auto& c = w->counters();
    s.received += c.received.load(std::memory_order_relaxed);
    s.sent += c.sent.load(std::memory_order_relaxed);
    s.parse_errors += c.parse_errors.load(std::memory_order_relaxed);
    s.handoffs += c.handoffs.load(std::memory_order_relaxed);
    s.connections_rejected += c.connections_rejected.load(std::memory_order_relaxed);
    s.message_timeouts += c.message_timeouts.load(std::memory_order_relaxed);
    s.connections_rejected_per_address +=
        c.connections_rejected_per_address.load(std::memory_order_relaxed);
    s.keepalive_pings += c.keepalive_pings.load(std::memory_order_relaxed);
    s.send_failures += c.send_failures.load(std::memory_order_relaxed);
  }
  s.connections_open = impl_->open_connections_.load();
  s.write_buffer_bytes = impl_->write_buffer_bytes_.load(std::memory_order_relaxed);
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
