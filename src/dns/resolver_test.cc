// Resolver tests against a real DNS server: dnsmasq on 127.0.0.1 and a free port, started by
// each test with a configuration file the test writes, and stopped by it (also on failure).
// A test fails, never skips, when dnsmasq is not installed.

#include "dns/resolver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "dns/cache.h"
#include "dns/srv_order.h"

namespace herald::dns {

void PrintTo(Status s, std::ostream* os) { *os << statusName(s); }

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string findDnsmasq() {
  for (const char* p : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sin;
}

uint16_t boundPort(int fd) {
  sockaddr_in sin{};
  socklen_t len = sizeof(sin);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  return ntohs(sin.sin_port);
}

// A port of 127.0.0.1 free for both UDP and TCP just now.
uint16_t freePort() {
  for (int i = 0; i < 50; ++i) {
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sin = loopback(0);
    bind(u, reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
    uint16_t port = boundPort(u);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    sin = loopback(port);
    bool ok = bind(t, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0;
    close(t);
    close(u);
    if (ok) return port;
  }
  return 0;
}

// dnsmasq serving the options of `records` (lines of its configuration file) for *.test;
// every other name under .test is NXDOMAIN (local=/test/).
class Dnsmasq {
 public:
  Dnsmasq() = default;
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;
  ~Dnsmasq() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // "" on success, otherwise what went wrong.
  std::string start(const std::vector<std::string>& records) {
    std::string binary = findDnsmasq();
    if (binary.empty()) {
      return "dnsmasq is not installed (Debian package dnsmasq-base; scripts/install-deps.sh "
             "installs it): the DNS tests need a real DNS server";
    }
    char tmpl[] = "/tmp/herald-dns-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return "mkdtemp failed";
    dir_ = tmpl;
    std::string why;
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = freePort();
      why = launch(binary, records);
      if (why.empty()) return "";
      stop();
    }
    return why;
  }

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  Endpoint endpoint() const { return *Endpoint::fromAddress("127.0.0.1", port_); }

  // Queries dnsmasq logged for `name` (log-queries), after the line of `barrier` appeared:
  // dnsmasq logs in the order it receives, so every earlier query is counted.
  int queriesFor(const std::string& name, const std::string& barrier) const {
    auto until = std::chrono::steady_clock::now() + seconds(3);
    for (;;) {
      int n = count(name);
      if (count(barrier) > 0 || std::chrono::steady_clock::now() > until) return n;
      std::this_thread::sleep_for(milliseconds(10));
    }
  }

  std::string log() const {
    std::ifstream in(dir_ / "dnsmasq.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  int count(const std::string& name) const {
    std::istringstream in(log());
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.find("query[") != std::string::npos &&
          line.find(" " + name + " from ") != std::string::npos) {
        ++n;
      }
    }
    return n;
  }

  std::string launch(const std::string& binary, const std::vector<std::string>& records) {
    fs::path conf = dir_ / "dnsmasq.conf";
    {
      std::ofstream out(conf);
      passwd* pw = getpwuid(getuid());
      group* gr = getgrgid(getgid());
      out << "port=" << port_ << "\n"
          << "listen-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n"
          << "local=/test/\nlog-queries\nlog-facility=" << (dir_ / "dnsmasq.log").string() << "\n"
          << "pid-file=" << (dir_ / "dnsmasq.pid").string() << "\n";
      // Keep our own user: the default (nobody) could not write the log in our directory.
      if (pw != nullptr) out << "user=" << pw->pw_name << "\n";
      if (gr != nullptr) out << "group=" << gr->gr_name << "\n";
      for (const auto& r : records) out << r << "\n";
    }
    fs::path output = dir_ / "dnsmasq.out";
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test must not leave it running
      if (getppid() != parent) _exit(1);
      int fd = open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      std::string conf_arg = "--conf-file=" + conf.string();
      execl(binary.c_str(), binary.c_str(), "--no-daemon", conf_arg.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    // Ready when it answers a query over UDP (its TCP socket may be open earlier).
    auto until = std::chrono::steady_clock::now() + seconds(5);
    while (std::chrono::steady_clock::now() < until) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        std::ifstream in(output);
        std::stringstream ss;
        ss << in.rdbuf();
        return "dnsmasq exited at start: " + ss.str();
      }
      if (answersUdp()) return "";
      std::this_thread::sleep_for(milliseconds(10));
    }
    return "dnsmasq did not open port " + std::to_string(port_) + " within 5 s";
  }

  // One A query for "ready.test" (RFC 1035 §4.1), any reply within 100 ms.
  bool answersUdp() const {
    static const unsigned char kQuery[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                           5,    'r',  'e',  'a',  'd', 'y', 4, 't', 'e', 's',
                                           't',  0,    0,    1,    0, 1};
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    timeval tv{0, 100'000};
    setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in sin = loopback(port_);
    sendto(u, kQuery, sizeof(kQuery), 0, reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
    unsigned char reply[512];
    bool ok = recv(u, reply, sizeof(reply), 0) > 0;
    close(u);
    return ok;
  }

  fs::path dir_;
  uint16_t port_ = 0;
  pid_t pid_ = 0;
};

// A UDP socket on 127.0.0.1 that nobody reads: a DNS server that never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sin = loopback(0);
    bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  }
  ~SilentServer() { close(fd_); }
  Endpoint endpoint() const { return *Endpoint::fromAddress("127.0.0.1", boundPort(fd_)); }
  // Datagrams received so far (read only now, at the end of a test).
  int drain() {
    int n = 0;
    char buf[1500];
    while (recv(fd_, buf, sizeof(buf), MSG_DONTWAIT) >= 0) ++n;
    return n;
  }

 private:
  int fd_ = -1;
};

const std::vector<std::string> kRecords = {
    "local-ttl=600",
    "srv-host=_sipfederationtls._tcp.b.test,sip1.b.test,5061,10,30",
    "srv-host=_sipfederationtls._tcp.b.test,sip2.b.test,5062,10,10",
    "srv-host=_sipfederationtls._tcp.b.test,sip3.b.test,5063,20,0",
    "host-record=sip1.b.test,127.0.0.3",
    "host-record=dual.b.test,127.0.0.4,fd00::4",
    "naptr-record=b.test,10,50,s,SIPS+D2T,,_sips._tcp.b.test",
    "naptr-record=b.test,20,50,s,SIP+D2T,,_sip._tcp.b.test",
};

// A second dnsmasq, authoritative for soa.test only: its negative answers carry an SOA (TTL
// and MINIMUM 45), and it refuses every other name (REFUSED).
const std::vector<std::string> kAuthRecords = {
    "auth-server=ns.soa.test,127.0.0.1",
    "auth-zone=soa.test",
    "auth-ttl=45",
    "host-record=h.soa.test,127.0.0.9",
};

// Waits for the callback of one resolve().
Answer resolveAndWait(Resolver& r, Query q) {
  std::promise<Answer> done;
  auto f = done.get_future();
  r.resolve(std::move(q), [&done](Answer a) { done.set_value(std::move(a)); });
  if (f.wait_for(seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "no callback within 10 s";
    return Answer{};
  }
  return f.get();
}

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = dns_.start(kRecords);
    ASSERT_EQ(why, "");
  }

  std::unique_ptr<Resolver> make(std::vector<Endpoint> servers, Duration timeout = milliseconds(1000),
                                 int attempts = 2, const Clock& clock = SystemClock::instance()) {
    Options o;
    o.servers = std::move(servers);
    o.timeout = timeout;
    o.attempts = attempts;
    auto r = Resolver::create(o, clock);
    EXPECT_TRUE(r) << r.error().toString();
    return r ? std::move(*r) : nullptr;
  }

  Dnsmasq dns_;
};

TEST_F(ResolverTest, SrvAnswerCarriesPrioritiesWeightsPortsTargetsAndTtl) {
  auto r = make({dns_.endpoint()});
  ASSERT_TRUE(r);
  Answer a = resolveAndWait(*r, {"_sipfederationtls._tcp.b.test", RecordType::SRV});
  ASSERT_EQ(a.status, Status::Ok) << a.error;
  EXPECT_FALSE(a.from_cache);
  ASSERT_TRUE(a.server);
  EXPECT_EQ(*a.server, dns_.endpoint());
  EXPECT_EQ(a.ttl, 600u);
  std::vector<SrvRecord> srv = a.srv;
  std::sort(srv.begin(), srv.end(),
            [](const SrvRecord& x, const SrvRecord& y) { return x.port < y.port; });
  ASSERT_EQ(srv.size(), 3u);
  EXPECT_EQ(srv[0], (SrvRecord{10, 30, 5061, "sip1.b.test", 600}));
  EXPECT_EQ(srv[1], (SrvRecord{10, 10, 5062, "sip2.b.test", 600}));
  EXPECT_EQ(srv[2], (SrvRecord{20, 0, 5063, "sip3.b.test", 600}));
  Rng rng(1);
  auto ordered = orderSrv(a.srv, rng);
  EXPECT_EQ(ordered[2].target, "sip3.b.test");
}

TEST_F(ResolverTest, AAndAaaaRecords) {
  auto r = make({dns_.endpoint()});
  ASSERT_TRUE(r);
  Answer a = resolveAndWait(*r, {"sip1.b.test", RecordType::A});
  ASSERT_EQ(a.status, Status::Ok) << a.error;
  ASSERT_EQ(a.addresses.size(), 1u);
  EXPECT_EQ(a.addresses[0].address.toString(), "127.0.0.3:0");
  EXPECT_EQ(a.addresses[0].ttl, 600u);

  Answer v6 = resolveAndWait(*r, {"dual.b.test", RecordType::AAAA});
  ASSERT_EQ(v6.status, Status::Ok) << v6.error;
  ASSERT_EQ(v6.addresses.size(), 1u);
  EXPECT_EQ(v6.addresses[0].address.address(), "fd00::4");
  EXPECT_EQ(v6.addresses[0].address.family(), Endpoint::Family::V6);
  Answer v4 = resolveAndWait(*r, {"DUAL.b.test.", RecordType::A});
  ASSERT_EQ(v4.status, Status::Ok) << v4.error;
  EXPECT_EQ(v4.addresses.at(0).address.address(), "127.0.0.4");
}

TEST_F(ResolverTest, NaptrRecords) {
  auto r = make({dns_.endpoint()});
  ASSERT_TRUE(r);
  Answer a = resolveAndWait(*r, {"b.test", RecordType::NAPTR});
  ASSERT_EQ(a.status, Status::Ok) << a.error;
  std::vector<NaptrRecord> n = a.naptr;
  std::sort(n.begin(), n.end(),
            [](const NaptrRecord& x, const NaptrRecord& y) { return x.order < y.order; });
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[0], (NaptrRecord{10, 50, "s", "SIPS+D2T", "", "_sips._tcp.b.test", 600}));
  EXPECT_EQ(n[1], (NaptrRecord{20, 50, "s", "SIP+D2T", "", "_sip._tcp.b.test", 600}));
}

TEST_F(ResolverTest, NxDomainIsCachedNegatively) {
  auto r = make({dns_.endpoint()});
  ASSERT_TRUE(r);
  Answer a = resolveAndWait(*r, {"nope.b.test", RecordType::SRV});
  EXPECT_EQ(a.status, Status::NxDomain) << a.error;
  EXPECT_FALSE(a.from_cache);
  EXPECT_EQ(a.ttl, kDefaultNegativeTtl) << "local=/test/ answers carry no SOA";
  EXPECT_TRUE(a.server);

  Answer again = resolveAndWait(*r, {"nope.b.test", RecordType::SRV});
  EXPECT_EQ(again.status, Status::NxDomain);
  EXPECT_TRUE(again.from_cache);
  auto sync = r->cached({"nope.b.test", RecordType::SRV});
  ASSERT_TRUE(sync);
  EXPECT_EQ(sync->status, Status::NxDomain);

  ASSERT_EQ(resolveAndWait(*r, {"sip1.b.test", RecordType::A}).status, Status::Ok);
  EXPECT_EQ(dns_.queriesFor("nope.b.test", "sip1.b.test"), 1) << dns_.log();
}

TEST_F(ResolverTest, NegativeTtlComesFromTheSoa) {
  Dnsmasq auth;
  ASSERT_EQ(auth.start(kAuthRecords), "");
  auto r = make({auth.endpoint()});
  ASSERT_TRUE(r);
  Answer nx = resolveAndWait(*r, {"nope.soa.test", RecordType::A});
  EXPECT_EQ(nx.status, Status::NxDomain) << nx.error;
  EXPECT_EQ(nx.ttl, 45u);
  Answer nodata = resolveAndWait(*r, {"h.soa.test", RecordType::AAAA});
  EXPECT_EQ(nodata.status, Status::NoRecords) << nodata.error;
  EXPECT_EQ(nodata.ttl, 45u);
  Answer a = resolveAndWait(*r, {"h.soa.test", RecordType::A});
  ASSERT_EQ(a.status, Status::Ok) << a.error;
  EXPECT_EQ(a.addresses.at(0).ttl, 45u);
}

TEST_F(ResolverTest, RefusedIsReportedAndNotCached) {
  Dnsmasq auth;
  ASSERT_EQ(auth.start(kAuthRecords), "");
  auto r = make({auth.endpoint()}, milliseconds(500), 1);
  ASSERT_TRUE(r);
  Answer a = resolveAndWait(*r, {"sip1.b.test", RecordType::A});
  EXPECT_EQ(a.status, Status::Refused) << a.error;
  EXPECT_EQ(a.ttl, 0u);
  EXPECT_FALSE(r->cached({"sip1.b.test", RecordType::A}));
}

TEST_F(ResolverTest, NegativeTtlIsCappedByMaxNegativeTtl) {
  Dnsmasq auth;
  ASSERT_EQ(auth.start(kAuthRecords), "");
  Options o;
  o.servers = {auth.endpoint()};
  o.max_negative_ttl_s = 10;
  o.max_ttl_s = 20;
  auto r = Resolver::create(o, SystemClock::instance());
  ASSERT_TRUE(r);
  EXPECT_EQ(resolveAndWait(**r, {"nope.soa.test", RecordType::A}).ttl, 10u);
  Answer a = resolveAndWait(**r, {"h.soa.test", RecordType::A});
  ASSERT_EQ(a.status, Status::Ok) << a.error;
  o.servers = {dns_.endpoint()};
  r = Resolver::create(o, SystemClock::instance());
  ASSERT_TRUE(r);
  EXPECT_EQ(resolveAndWait(**r, {"nope.b.test", RecordType::A}).ttl, 10u);
  a = resolveAndWait(**r, {"sip1.b.test", RecordType::A});
  EXPECT_EQ(a.ttl, 20u);
  EXPECT_EQ(a.addresses.at(0).ttl, 20u);
}

TEST_F(ResolverTest, NoDataIsNoRecordsAndCachedNegatively) {
  auto r = make({dns_.endpoint()});
  ASSERT_TRUE(r);
  Answer a = resolveAndWait(*r, {"sip1.b.test", RecordType::AAAA});
  EXPECT_EQ(a.status, Status::NoRecords) << a.error;
  EXPECT_TRUE(a.addresses.empty());
  EXPECT_GT(a.ttl, 0u);
  Answer again = resolveAndWait(*r, {"sip1.b.test", RecordType::AAAA});
  EXPECT_EQ(again.status, Status::NoRecords);
  EXPECT_TRUE(again.from_cache);
}

TEST_F(ResolverTest, CacheHitAvoidsASecondQueryUntilTheTtlEnds) {
  FakeClock clock;
  auto r = make({dns_.endpoint()}, milliseconds(1000), 2, clock);
  ASSERT_TRUE(r);
  Query q{"_sipfederationtls._tcp.b.test", RecordType::SRV};
  EXPECT_FALSE(r->cached(q));
  ASSERT_EQ(resolveAndWait(*r, q).status, Status::Ok);
  clock.advance(seconds(599));
  Answer hit = resolveAndWait(*r, q);
  EXPECT_EQ(hit.status, Status::Ok);
  EXPECT_TRUE(hit.from_cache);
  EXPECT_EQ(hit.ttl, 1u);
  EXPECT_EQ(hit.srv.size(), 3u);
  auto sync = r->cached(q);
  ASSERT_TRUE(sync);
  EXPECT_TRUE(sync->from_cache);
  ASSERT_EQ(resolveAndWait(*r, {"sip1.b.test", RecordType::A}).status, Status::Ok);
  EXPECT_EQ(dns_.queriesFor(q.name, "sip1.b.test"), 1) << dns_.log();

  clock.advance(seconds(1));  // the TTL is over: asked again
  EXPECT_FALSE(r->cached(q));
  Answer fresh = resolveAndWait(*r, q);
  EXPECT_EQ(fresh.status, Status::Ok);
  EXPECT_FALSE(fresh.from_cache);
  ASSERT_EQ(resolveAndWait(*r, {"dual.b.test", RecordType::A}).status, Status::Ok);
  EXPECT_EQ(dns_.queriesFor(q.name, "dual.b.test"), 2) << dns_.log();
  EXPECT_EQ(r->stats().cache_hits, 1u);
}

TEST_F(ResolverTest, CachedAnswerIsServedWhileTheServerIsDown) {
  auto r = make({dns_.endpoint()}, milliseconds(200), 1);
  ASSERT_TRUE(r);
  ASSERT_EQ(resolveAndWait(*r, {"sip1.b.test", RecordType::A}).status, Status::Ok);
  dns_.stop();
  Answer a = resolveAndWait(*r, {"sip1.b.test", RecordType::A});
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_TRUE(a.from_cache);
  EXPECT_EQ(a.addresses.at(0).address.address(), "127.0.0.3");
  Answer other = resolveAndWait(*r, {"dual.b.test", RecordType::A});
  EXPECT_NE(other.status, Status::Ok);  // not cached: the server is gone
  EXPECT_FALSE(other.from_cache);
}

TEST_F(ResolverTest, SilentServerTimesOutAfterTimeoutTimesAttemptsWithoutDelayingOthers) {
  SilentServer silent;
  auto slow = make({silent.endpoint()}, milliseconds(400), 2);
  auto fast = make({dns_.endpoint()});
  ASSERT_TRUE(slow && fast);
  auto start = std::chrono::steady_clock::now();
  std::promise<Answer> done;
  auto timed_out = done.get_future();
  slow->resolve({"sip1.b.test", RecordType::A}, [&done](Answer a) { done.set_value(std::move(a)); });

  // Meanwhile another resolver answers at once, and the slow one answers lookups at once.
  Answer quick = resolveAndWait(*fast, {"sip1.b.test", RecordType::A});
  EXPECT_EQ(quick.status, Status::Ok);
  EXPECT_LT(quick.elapsed, milliseconds(200));
  EXPECT_FALSE(slow->cached({"sip1.b.test", RecordType::A}));

  ASSERT_EQ(timed_out.wait_for(seconds(5)), std::future_status::ready);
  Answer a = timed_out.get();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(a.status, Status::Timeout) << a.error;
  EXPECT_FALSE(a.server);
  EXPECT_EQ(a.ttl, 0u);
  EXPECT_GE(took, milliseconds(780));
  EXPECT_LT(took, milliseconds(1500));
  EXPECT_GE(a.elapsed, milliseconds(780));
  EXPECT_FALSE(slow->cached({"sip1.b.test", RecordType::A})) << "timeouts are not cached";
  EXPECT_EQ(silent.drain(), 2) << "one datagram per attempt";
  EXPECT_EQ(slow->stats().timeouts, 1u);
}

TEST_F(ResolverTest, ConcurrentIdenticalQueriesShareOneDnsQuery) {
  SilentServer silent;
  auto r = make({silent.endpoint()}, milliseconds(300), 1);
  ASSERT_TRUE(r);
  constexpr int kCallers = 5;
  std::vector<std::promise<Answer>> done(kCallers);
  for (int i = 0; i < kCallers; ++i) {
    r->resolve({i % 2 == 0 ? "sip1.b.test" : "SIP1.B.TEST.", RecordType::A},
               [&done, i](Answer a) { done[i].set_value(std::move(a)); });
  }
  for (auto& d : done) {
    auto f = d.get_future();
    ASSERT_EQ(f.wait_for(seconds(5)), std::future_status::ready);
    EXPECT_EQ(f.get().status, Status::Timeout);
  }
  EXPECT_EQ(silent.drain(), 1);
  ResolverStats s = r->stats();
  EXPECT_EQ(s.requests, 5u);
  EXPECT_EQ(s.queries, 1u);
  EXPECT_EQ(s.coalesced, 4u);
}

TEST_F(ResolverTest, NextServerAnswersWhenTheFirstIsSilent) {
  SilentServer silent;
  auto r = make({silent.endpoint(), dns_.endpoint()}, milliseconds(300), 2);
  ASSERT_TRUE(r);
  Answer a = resolveAndWait(*r, {"sip1.b.test", RecordType::A});
  ASSERT_EQ(a.status, Status::Ok) << a.error;
  ASSERT_TRUE(a.server);
  EXPECT_EQ(*a.server, dns_.endpoint());
  EXPECT_GE(a.elapsed, milliseconds(280));
  EXPECT_LT(a.elapsed, milliseconds(1000));
}

TEST_F(ResolverTest, DestroyingTheResolverRunsPendingCallbacks) {
  SilentServer silent;
  auto r = make({silent.endpoint()}, milliseconds(5000), 2);
  ASSERT_TRUE(r);
  std::promise<Answer> done;
  auto f = done.get_future();
  r->resolve({"sip1.b.test", RecordType::A}, [&done](Answer a) { done.set_value(std::move(a)); });
  r.reset();
  ASSERT_EQ(f.wait_for(seconds(0)), std::future_status::ready);
  Answer a = f.get();
  EXPECT_EQ(a.status, Status::Error);
  EXPECT_EQ(a.error, "resolver stopped");
}

TEST(ResolverCreateTest, RejectsBadOptions) {
  Options o;
  o.attempts = 0;
  EXPECT_FALSE(Resolver::create(o, SystemClock::instance()));
  o.attempts = 2;
  o.servers = {Endpoint{}};
  EXPECT_FALSE(Resolver::create(o, SystemClock::instance()));
}

}  // namespace
}  // namespace herald::dns
