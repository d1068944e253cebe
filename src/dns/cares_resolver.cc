// CaresResolver: dns::Resolver on c-ares 1.18, with one thread that owns the ares_channel.
//
// Event loop: ARES_OPT_SOCK_STATE_CB + epoll, not ares_fds()/select(). A node holds tens of
// thousands of SIP connections, so c-ares' sockets get descriptors far above FD_SETSIZE (1024),
// which select() cannot watch; the callback also tells us each change instead of a rebuild of
// the fd sets on every turn. An eventfd wakes the loop when a worker submits a query or the
// resolver stops.
//
//   workers --resolve()--> [mutex: submissions_] --eventfd--> resolver thread
//        resolver thread: cache hit? -> callback
//                         in flight? -> join its waiters (coalescing)
//                         else       -> ares_query(); answer -> cache -> every waiter's callback
//
// c-ares 1.18 doubles the per-try timeout on each round over the servers (1 s, then 2 s), so a
// deadline of our own gives up a query after timeout x attempts x servers, as Options promises.
// The c-ares query then runs to its end and a late answer still fills the cache.

#include <arpa/inet.h>
#include <ares.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/assert.h"
#include "common/log.h"
#include "dns/cache.h"
#include "dns/internal/message.h"
#include "dns/resolver.h"

namespace herald::dns {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

constexpr int kClassIn = 1;

std::once_flag g_library_once;
int g_library_status = ARES_SUCCESS;

std::optional<Endpoint> peerOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
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
    return Endpoint::v6(b, ntohs(sin6->sin6_port));
  }
  return std::nullopt;
}

Duration since(SteadyTime start) {
  return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start);
}

// Records of a successful answer, by type. Returns the c-ares parse status.
int parseRecords(RecordType type, const unsigned char* abuf, int alen, Answer* a) {
  switch (type) {
    case RecordType::A: {
      std::array<ares_addrttl, 256> ttls;
      int n = static_cast<int>(ttls.size());
      int st = ares_parse_a_reply(abuf, alen, nullptr, ttls.data(), &n);
      if (st != ARES_SUCCESS) return st;
      for (int i = 0; i < n; ++i) {
        std::array<uint8_t, 4> b;
        std::memcpy(b.data(), &ttls[i].ipaddr, 4);
        a->addresses.push_back({Endpoint::v4(b, 0), static_cast<uint32_t>(std::max(0, ttls[i].ttl))});
      }
      return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
    }
    case RecordType::AAAA: {
      std::array<ares_addr6ttl, 256> ttls;
      int n = static_cast<int>(ttls.size());
      int st = ares_parse_aaaa_reply(abuf, alen, nullptr, ttls.data(), &n);
      if (st != ARES_SUCCESS) return st;
      for (int i = 0; i < n; ++i) {
        std::array<uint8_t, 16> b;
        std::memcpy(b.data(), &ttls[i].ip6addr, 16);
        a->addresses.push_back({Endpoint::v6(b, 0), static_cast<uint32_t>(std::max(0, ttls[i].ttl))});
      }
      return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
    }
    case RecordType::SRV: {
      ares_srv_reply* head = nullptr;
      int st = ares_parse_srv_reply(abuf, alen, &head);
      if (st != ARES_SUCCESS) return st;
      for (ares_srv_reply* r = head; r != nullptr; r = r->next) {
        a->srv.push_back({r->priority, r->weight, r->port, r->host, 0});
      }
      ares_free_data(head);
      return a->srv.empty() ? ARES_ENODATA : ARES_SUCCESS;
    }
    case RecordType::NAPTR: {
      ares_naptr_reply* head = nullptr;
      int st = ares_parse_naptr_reply(abuf, alen, &head);
      if (st != ARES_SUCCESS) return st;
      for (ares_naptr_reply* r = head; r != nullptr; r = r->next) {
        NaptrRecord n;
        n.order = r->order;
        n.preference = r->preference;
        n.flags = reinterpret_cast<const char*>(r->flags);
        n.service = reinterpret_cast<const char*>(r->service);
        n.regexp = reinterpret_cast<const char*>(r->regexp);
        n.replacement = r->replacement;
        if (n.replacement == ".") n.replacement.clear();
        a->naptr.push_back(std::move(n));
      }
      ares_free_data(head);
      return a->naptr.empty() ? ARES_ENODATA : ARES_SUCCESS;
    }
  }
  return ARES_ENOTIMP;
}

// c-ares' parsers drop the TTLs of SRV and NAPTR: take them from the message, in order (all
// records of one RRset carry one TTL, RFC 2181 §5.2, so the lowest is used if counts differ).
template <class R>
void applyTtls(const std::vector<uint32_t>& ttls, std::vector<R>* records) {
  if (ttls.empty()) return;
  uint32_t lowest = *std::min_element(ttls.begin(), ttls.end());
  for (size_t i = 0; i < records->size(); ++i) {
    (*records)[i].ttl = ttls.size() == records->size() ? ttls[i] : lowest;
  }
}

class CaresResolver final : public Resolver {
 public:
  CaresResolver(Options options, const Clock& clock)
      : options_(std::move(options)),
        cache_(CachePolicy{options_.max_cache_entries, options_.max_ttl_s,
                           options_.max_negative_ttl_s},
               clock) {}

  ~CaresResolver() override {
    if (thread_.joinable()) {
      stopping_ = true;
      wake();
      thread_.join();
    }
    if (channel_ != nullptr) ares_destroy(channel_);  // only when the thread never started
    if (wake_fd_ >= 0) close(wake_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }

  Result<void> start() {
    std::call_once(g_library_once, [] { g_library_status = ares_library_init(ARES_LIB_INIT_ALL); });
    if (g_library_status != ARES_SUCCESS) {
      return unexpected(unavailable(std::string("c-ares: ") + ares_strerror(g_library_status)));
    }
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      return unexpected(unavailable(std::string("dns: ") + std::strerror(errno)));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd_;
    HERALD_CHECK(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) == 0);

    ares_options opts{};
    opts.sock_state_cb = &CaresResolver::onSocketState;
    opts.sock_state_cb_data = this;
    opts.timeout = static_cast<int>(options_.timeout.count());
    opts.tries = options_.attempts;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    int st = ares_init_options(&channel_, &opts, mask);
    if (st != ARES_SUCCESS) {
      channel_ = nullptr;
      return unexpected(unavailable(std::string("c-ares init: ") + ares_strerror(st)));
    }
    if (!options_.servers.empty()) {
      std::vector<ares_addr_port_node> nodes(options_.servers.size());
      for (size_t i = 0; i < nodes.size(); ++i) {
        const Endpoint& ep = options_.servers[i];
        ares_addr_port_node& n = nodes[i];
        n.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
        n.family = ep.family() == Endpoint::Family::V6 ? AF_INET6 : AF_INET;
        std::memcpy(n.family == AF_INET6 ? static_cast<void*>(&n.addr.addr6)
                                         : static_cast<void*>(&n.addr.addr4),
                    ep.bytes(), n.family == AF_INET6 ? 16 : 4);
        n.udp_port = n.tcp_port = ep.port() == 0 ? 53 : ep.port();
      }
      st = ares_set_servers_ports(channel_, nodes.data());
      if (st != ARES_SUCCESS) {
        return unexpected(unavailable(std::string("c-ares servers: ") + ares_strerror(st)));
      }
      server_count_ = static_cast<int>(nodes.size());
    } else {
      ares_addr_port_node* list = nullptr;
      if (ares_get_servers_ports(channel_, &list) == ARES_SUCCESS) {
        for (auto* n = list; n != nullptr; n = n->next) ++server_count_;
        ares_free_data(list);
      }
      if (server_count_ == 0) return unexpected(unavailable("dns: no servers in resolv.conf"));
    }
    query_deadline_ = options_.timeout * options_.attempts * server_count_;
    thread_ = std::thread([this] { run(); });
    return {};
  }

  void resolve(Query query, Callback cb) override {
    {
      std::lock_guard lock(submit_mu_);
      submissions_.push_back({std::move(query), std::move(cb), std::chrono::steady_clock::now()});
    }
    requests_.fetch_add(1, std::memory_order_relaxed);
    wake();
  }

  std::optional<Answer> cached(const Query& query) override { return cache_.lookup(query); }

  ResolverStats stats() const override {
    ResolverStats s;
    s.requests = requests_.load(std::memory_order_relaxed);
    s.cache_hits = cache_hits_.load(std::memory_order_relaxed);
    s.coalesced = coalesced_.load(std::memory_order_relaxed);
    s.queries = queries_.load(std::memory_order_relaxed);
    s.timeouts = timeouts_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  struct Submission {
    Query query;
    Callback cb;
    SteadyTime start;
  };
  struct Waiter {
    Callback cb;
    SteadyTime start;
  };
  // One DNS query in flight, shared by every identical request (coalescing). Resolver thread.
  struct Pending {
    uint64_t id = 0;
    Query query;
    std::vector<Waiter> waiters;
    SteadyTime deadline;
  };
  // ares_query's argument; freed by its callback, which c-ares always runs exactly once.
  struct Context {
    CaresResolver* self;
    std::string key;
    uint64_t id;
    Query query;
  };

  void wake() {
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof(one));
    (void)n;  // EAGAIN: the counter is already non-zero, the loop wakes anyway
  }

  static void onSocketState(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<CaresResolver*>(data);
    epoll_event ev{};
    ev.data.fd = fd;
    ev.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
    if (ev.events == 0) {
      epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      self->sockets_.erase(fd);
      return;
    }
    int op = self->sockets_.insert(fd).second ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    HERALD_CHECK(epoll_ctl(self->epoll_fd_, op, fd, &ev) == 0);
  }

  void run() {
    std::array<epoll_event, 64> events;
    while (!stopping_) {
      int timeout_ms = nextTimeoutMs();
      int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
      HERALD_CHECK(n >= 0 || errno == EINTR);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_fd_) {
          uint64_t count;
          ssize_t r = read(wake_fd_, &count, sizeof(count));
          (void)r;
          continue;
        }
        uint32_t e = events[i].events;
        bool readable = (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
        bool writable = (e & EPOLLOUT) != 0;
        answering_fd_ = readable ? fd : -1;
        ares_process_fd(channel_, readable ? fd : ARES_SOCKET_BAD,
                        writable ? fd : ARES_SOCKET_BAD);
        answering_fd_ = -1;
      }
      ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // c-ares' own timeouts
      takeSubmissions();
      expireDeadlines();
    }
    // Stopping: every callback still owed runs now, with an error.
    ares_destroy(channel_);  // runs each query's callback with ARES_EDESTRUCTION
    channel_ = nullptr;
    takeSubmissions();
    for (auto& [key, p] : pending_) finish(p, stopped(), /*cache=*/false);
    pending_.clear();
  }

  static Answer stopped() {
    Answer a;
    a.status = Status::Error;
    a.error = "resolver stopped";
    return a;
  }

  int nextTimeoutMs() {
    std::optional<std::chrono::milliseconds> wait;
    timeval tv{};
    if (ares_timeout(channel_, nullptr, &tv) != nullptr) {
      wait = std::chrono::milliseconds(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
    }
    if (!deadlines_.empty()) {
      auto d = std::chrono::ceil<std::chrono::milliseconds>(deadlines_.begin()->first -
                                                            std::chrono::steady_clock::now());
      d = std::max(d, std::chrono::milliseconds(0));
      wait = wait ? std::min(*wait, d) : d;
    }
    return wait ? static_cast<int>(wait->count()) : -1;
  }

  void takeSubmissions() {
    std::deque<Submission> batch;
    {
      std::lock_guard lock(submit_mu_);
      batch.swap(submissions_);
    }
    for (auto& s : batch) {
      if (channel_ == nullptr) {
        s.cb(stopped());
        continue;
      }
      if (auto hit = cache_.lookup(s.query)) {
        cache_hits_.fetch_add(1, std::memory_order_relaxed);
        hit->elapsed = since(s.start);
        s.cb(std::move(*hit));
        continue;
      }
      std::string key = Cache::key(s.query);
      if (auto it = pending_.find(key); it != pending_.end()) {
        coalesced_.fetch_add(1, std::memory_order_relaxed);
        it->second.waiters.push_back({std::move(s.cb), s.start});
        continue;
      }
      Pending& p = pending_[key];
      p.id = ++next_id_;
      p.query = s.query;
      p.waiters.push_back({std::move(s.cb), s.start});
      p.deadline = std::chrono::steady_clock::now() + query_deadline_;
      deadlines_.emplace(p.deadline, std::make_pair(key, p.id));
      queries_.fetch_add(1, std::memory_order_relaxed);
      HLOG_DEBUG(Dns, "query {} {}", recordTypeName(s.query.type), s.query.name);
      std::string name = s.query.name;
      auto* ctx = new Context{this, std::move(key), p.id, std::move(s.query)};
      // May call onAnswer at once (a bad name): pending_ is ready for it.
      ares_query(channel_, name.c_str(), kClassIn, static_cast<int>(ctx->query.type),
                 &CaresResolver::onAnswer, ctx);
    }
  }

  void expireDeadlines() {
    auto now = std::chrono::steady_clock::now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto [key, id] = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      auto it = pending_.find(key);
      if (it == pending_.end() || it->second.id != id) continue;
      Answer a;
      a.status = Status::Timeout;
      a.error = "no answer within " + std::to_string(query_deadline_.count()) + " ms";
      timeouts_.fetch_add(1, std::memory_order_relaxed);
      HLOG_DEBUG(Dns, "timeout {} {}", recordTypeName(it->second.query.type),
                 it->second.query.name);
      Pending p = std::move(it->second);
      pending_.erase(it);
      finish(p, std::move(a), /*cache=*/false);
    }
  }

  static void onAnswer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<Context> ctx(static_cast<Context*>(arg));
    CaresResolver* self = ctx->self;
    if (status == ARES_EDESTRUCTION) return;  // run() answers what is still pending
    Answer a = self->toAnswer(ctx->query.type, status, abuf, alen);
    auto it = self->pending_.find(ctx->key);
    if (it == self->pending_.end() || it->second.id != ctx->id) {
      // Answered after our deadline: nobody waits, but the answer is still good to keep.
      self->cache_.insert(ctx->query, a);
      return;
    }
    if (a.status == Status::Timeout) self->timeouts_.fetch_add(1, std::memory_order_relaxed);
    Pending p = std::move(it->second);
    self->pending_.erase(it);
    self->finish(p, std::move(a), /*cache=*/true);
  }

  void finish(Pending& p, Answer a, bool cache) {
    if (cache) cache_.insert(p.query, a);
    for (size_t i = 0; i < p.waiters.size(); ++i) {
      Answer copy = i + 1 < p.waiters.size() ? a : std::move(a);
      copy.elapsed = since(p.waiters[i].start);
      p.waiters[i].cb(std::move(copy));
    }
  }

  Answer toAnswer(RecordType type, int status, const unsigned char* abuf, int alen) {
    Answer a;
    bool answered = false;
    switch (status) {
      case ARES_SUCCESS: {
        answered = true;
        int st = parseRecords(type, abuf, alen, &a);
        if (st == ARES_SUCCESS) {
          a.status = Status::Ok;
        } else if (st == ARES_ENODATA) {
          a.status = Status::NoRecords;
          a.error = "no " + std::string(recordTypeName(type)) + " records";
        } else {
          a.status = Status::Error;
          a.error = std::string("malformed answer: ") + ares_strerror(st);
        }
        break;
      }
      case ARES_ENODATA:
        answered = true;
        a.status = Status::NoRecords;
        a.error = "no " + std::string(recordTypeName(type)) + " records";
        break;
      case ARES_ENOTFOUND:
        answered = true;
        a.status = Status::NxDomain;
        a.error = "no such domain";
        break;
      case ARES_ETIMEOUT:
        a.status = Status::Timeout;
        a.error = "no answer";
        break;
      case ARES_ESERVFAIL:
        answered = true;
        a.status = Status::ServFail;
        a.error = "server failure";
        break;
      case ARES_EREFUSED:
        answered = true;
        a.status = Status::Refused;
        a.error = "refused";
        break;
      case ARES_ECONNREFUSED:
        // c-ares 1.18 ends a query that every server REFUSED (or that met closed ports:
        // ICMP port unreachable) with this, and no message.
        a.status = Status::Refused;
        a.error = "refused by every server, or their ports are closed";
        break;
      default:
        a.status = Status::Error;
        a.error = ares_strerror(status);
        break;
    }
    std::optional<uint32_t> negative_ttl;
    if (answered && abuf != nullptr && alen > 0) {
      if (answering_fd_ >= 0) a.server = peerOf(answering_fd_);
      if (auto scan = detail::scanMessage(abuf, static_cast<size_t>(alen),
                                          static_cast<uint16_t>(type))) {
        negative_ttl = scan->negative_ttl;
        if (type == RecordType::SRV) applyTtls(scan->answer_ttls, &a.srv);
        if (type == RecordType::NAPTR) applyTtls(scan->answer_ttls, &a.naptr);
      }
    }
    a.ttl = cacheTtl(a, negative_ttl,
                     CachePolicy{options_.max_cache_entries, options_.max_ttl_s,
                                 options_.max_negative_ttl_s});
    if (a.ttl > 0) {
      // What is cached is what the caller sees: record TTLs at most the cache TTL.
      for (auto& r : a.srv) r.ttl = std::min(r.ttl, a.ttl);
      for (auto& r : a.naptr) r.ttl = std::min(r.ttl, a.ttl);
      for (auto& r : a.addresses) r.ttl = std::min(r.ttl, a.ttl);
    }
    return a;
  }

  const Options options_;
  Cache cache_;
  int server_count_ = 0;
  Duration query_deadline_{0};

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  ares_channel channel_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex submit_mu_;
  std::deque<Submission> submissions_;  // guarded by submit_mu_

  // Resolver thread only.
  std::unordered_set<int> sockets_;
  std::unordered_map<std::string, Pending> pending_;
  std::multimap<SteadyTime, std::pair<std::string, uint64_t>> deadlines_;
  uint64_t next_id_ = 0;
  int answering_fd_ = -1;  // the socket being read while c-ares runs callbacks

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> cache_hits_{0};
  std::atomic<uint64_t> coalesced_{0};
  std::atomic<uint64_t> queries_{0};
  std::atomic<uint64_t> timeouts_{0};
};

}  // namespace

Result<std::unique_ptr<Resolver>> Resolver::create(Options options, const Clock& clock) {
  if (options.attempts < 1 || options.timeout.count() < 1) {
    return unexpected(invalidArgument("dns: attempts and timeout must be positive"));
  }
  for (const auto& s : options.servers) {
    if (!s.valid()) return unexpected(invalidArgument("dns: a server address is not set"));
  }
  auto r = std::make_unique<CaresResolver>(std::move(options), clock);
  if (auto st = r->start(); !st) return unexpected(st.error());
  return std::unique_ptr<Resolver>(std::move(r));
}

}  // namespace herald::dns
