// FederationRouter with a fake resolver and a fake transport: DNS answered later, targets
// tried in turn, failed targets remembered, every failure answered with a Warning.

#include "federation/federation_router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "sip/parser/message_parser.h"

namespace herald::fed {
namespace {

using ::testing::HasSubstr;

class FakeResolver : public dns::Resolver {
 public:
  void resolve(dns::Query q, Callback cb) override {
    ++resolved;
    waiting.emplace_back(std::move(q), std::move(cb));
  }
  std::optional<dns::Answer> cached(const dns::Query& q) override {
    auto it = cache.find(std::string(dns::recordTypeName(q.type)) + " " + q.name);
    if (it == cache.end()) return std::nullopt;
    return it->second;
  }
  dns::ResolverStats stats() const override { return {}; }
  // Answers every waiting query from `zone` (NXDOMAIN when absent), as the resolver thread.
  void answerAll() {
    while (!waiting.empty()) {
      auto [q, cb] = std::move(waiting.front());
      waiting.pop_front();
      auto it = zone.find(std::string(dns::recordTypeName(q.type)) + " " + q.name);
      dns::Answer a;
      a.status = dns::Status::NxDomain;
      if (it != zone.end()) a = it->second;
      cache[std::string(dns::recordTypeName(q.type)) + " " + q.name] = a;
      cb(std::move(a));
    }
  }
  std::map<std::string, dns::Answer> zone;
  std::map<std::string, dns::Answer> cache;
  std::deque<std::pair<dns::Query, Callback>> waiting;
  int resolved = 0;
};

struct Sent {
  sip::SendTarget to;
  std::string bytes;
  sip::TxId tx;
};

class FakeSender : public sip::MessageSender {
 public:
  void send(const sip::SendTarget& to, const sip::SharedBytes& bytes, sip::TxId tx) override {
    sent.push_back({to, *bytes, tx});
  }
  std::vector<Sent> sent;
};

class Router : public sip::RequestRouter {
 public:
  void route(sip::Proxy& proxy, sip::RequestContext& ctx) override {
    fed->route(proxy, ctx, snapshot, {"bob", "b.test"});
  }
  FederationRouter* fed = nullptr;
  RoutingSnapshotPtr snapshot;
};

dns::Answer srvAnswer(std::vector<dns::SrvRecord> records) {
  dns::Answer a;
  a.status = dns::Status::Ok;
  a.srv = std::move(records);
  a.ttl = 60;
  return a;
}

dns::Answer aAnswer(std::string address) {
  dns::Answer a;
  a.status = dns::Status::Ok;
  a.addresses.push_back({*Endpoint::fromAddress(address, 0), 60});
  a.ttl = 60;
  return a;
}

class FederationRouterTest : public ::testing::Test {
 protected:
  FederationRouterTest()
      : tm_(clock_, sip::TimerConfig{}, sender_, 0),
        local_({{sip::Transport::Udp, *Endpoint::parse("127.0.0.2:5060")}}, {"a.test"}),
        fed_(resolver_, health_, [this](std::function<void()> f) { posted_.push_back(f); },
             clock_, FederationRouterConfig{.no_answer = Duration(1000), .retry_after_s = 60,
                                            .warn_agent = "a.test"}),
        proxy_(tm_, local_, sip::ProxyConfig{}, router_, clock_, hops_) {
    tm_.setUser(&proxy_);
    router_.fed = &fed_;
    auto policy = std::make_shared<policy::Policy>();
    policy->local_domains = {"a.test"};
    policy->federated_domains["b.test"].name = "b.test";
    policy->static_routes.push_back(openFederationRoute());
    snapshot(policy);
    resolver_.zone["SRV _sipfederationtls._tcp.b.test"] =
        srvAnswer({{10, 0, 5061, "one.b.test", 60}, {20, 0, 5061, "two.b.test", 60}});
    resolver_.zone["A one.b.test"] = aAnswer("127.0.0.3");
    resolver_.zone["A two.b.test"] = aAnswer("127.0.0.4");
  }
  void snapshot(std::shared_ptr<policy::Policy> policy) {
    auto s = RoutingSnapshot::build(std::move(policy));
    ASSERT_TRUE(s.has_value());
    router_.snapshot = *s;
  }
  void send(std::string_view branch) {
    std::string bytes = std::string("MESSAGE sip:bob@b.test SIP/2.0\r\n"
                                    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK") +
                        std::string(branch) +
                        "\r\nMax-Forwards: 70\r\nFrom: <sip:alice@a.test>;tag=1\r\n"
                        "To: <sip:bob@b.test>\r\nCall-ID: c" +
                        std::string(branch) + "\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
    auto m = sip::MessageParser::parseDatagram(sip::Buffer::copyOf(bytes));
    ASSERT_TRUE(m.has_value());
    sip::Origin o;
    o.source = *Endpoint::parse("127.0.0.1:5070");
    o.local = *Endpoint::parse("127.0.0.2:5060");
    tm_.receiveRequest(std::make_unique<sip::SipMessage>(std::move(*m)), o);
  }
  // Resolver thread answers, then the worker runs what was posted.
  void dnsAnswers() {
    while (!resolver_.waiting.empty() || !posted_.empty()) {
      resolver_.answerAll();
      auto tasks = std::move(posted_);
      posted_.clear();
      for (auto& f : tasks) f();
    }
  }
  std::vector<std::string> requestTargets() {
    std::vector<std::string> out;
    for (const Sent& s : sender_.sent) {
      if (s.bytes.rfind("SIP/2.0 ", 0) != 0) {
        out.push_back(s.to.endpoint.toString() + " " + s.to.tls_name);
      }
    }
    return out;
  }
  std::vector<std::string> responses() {
    std::vector<std::string> out;
    for (const Sent& s : sender_.sent) {
      if (s.bytes.rfind("SIP/2.0 ", 0) == 0) out.push_back(s.bytes);
    }
    return out;
  }

  FakeClock clock_;
  FakeSender sender_;
  FakeResolver resolver_;
  TargetHealth health_{Duration(30000)};
  std::vector<std::function<void()>> posted_;
  Router router_;
  sip::NextHopResolver hops_;
  sip::TransactionManager tm_;
  sip::LocalAddresses local_;
  FederationRouter fed_;
  sip::Proxy proxy_;
};

TEST_F(FederationRouterTest, WaitsForDnsWithoutBlockingThenUsesTheCache) {
  send("r1");
  EXPECT_TRUE(sender_.sent.empty()) << "nothing goes out before DNS answers";
  EXPECT_EQ(resolver_.waiting.size(), 1u);
  dnsAnswers();
  ASSERT_EQ(requestTargets(), std::vector<std::string>{"127.0.0.3:5061 one.b.test"});
  EXPECT_EQ(sender_.sent.back().to.transport, sip::Transport::Tls);
  EXPECT_EQ(fed_.stats().dns_waits, 2u) << "SRV, then the targets' addresses";

  int before = resolver_.resolved;
  send("r2");
  EXPECT_EQ(resolver_.resolved, before) << "answered from the cache, no new query";
  EXPECT_EQ(requestTargets().size(), 2u);
}

TEST_F(FederationRouterTest, AFailedTargetFailsOverAndIsTriedLastNextTime) {
  send("f1");
  dnsAnswers();
  tm_.onTransportError(sender_.sent.back().tx);
  ASSERT_EQ(requestTargets(), (std::vector<std::string>{"127.0.0.3:5061 one.b.test",
                                                        "127.0.0.4:5061 two.b.test"}));
  EXPECT_TRUE(health_.recentlyFailed(sender_.sent[0].to, clock_.now()));

  sender_.sent.clear();
  send("f2");
  ASSERT_EQ(requestTargets().size(), 1u);
  EXPECT_EQ(requestTargets()[0], "127.0.0.4:5061 two.b.test") << "the failed one is demoted";

  // After the memory has passed, the first target is first again.
  clock_.advance(Duration(31000));
  sender_.sent.clear();
  send("f3");
  EXPECT_EQ(requestTargets()[0], "127.0.0.3:5061 one.b.test");
}

TEST_F(FederationRouterTest, EveryTargetFailedIs480WithAWarningOr408WhenNoneAnswered) {
  send("a1");
  dnsAnswers();
  tm_.onTransportError(sender_.sent.back().tx);
  tm_.onTransportError(sender_.sent.back().tx);
  ASSERT_EQ(responses().size(), 1u);
  EXPECT_THAT(responses()[0], HasSubstr("SIP/2.0 480 Temporarily Unavailable (every federation "
                                        "target failed)"));
  EXPECT_THAT(responses()[0], HasSubstr("Retry-After: 60\r\n"));
  EXPECT_THAT(responses()[0],
              HasSubstr("Warning: 399 a.test \"every target of b.test failed: 127.0.0.3:5061 TLS "
                        "(one.b.test): connection or TLS failed;"));

  sender_.sent.clear();
  clock_.advance(Duration(31000));  // forget the failures
  send("a2");
  for (int i = 0; i < 250; ++i) {
    clock_.advance(Duration(10));
    tm_.advance(clock_.now());
    proxy_.onTick(clock_.now());
  }
  ASSERT_EQ(requestTargets().size(), 2u) << "the second tried after 1 s of silence";
  ASSERT_EQ(responses().size(), 1u);
  EXPECT_THAT(responses()[0], HasSubstr("SIP/2.0 408 Request Timeout (no federation target "
                                        "answered)"));
  EXPECT_THAT(responses()[0], HasSubstr("(two.b.test): no answer\""));
}

TEST_F(FederationRouterTest, RejectionsCarryTheirReasonAndWarning) {
  auto policy = std::make_shared<policy::Policy>();
  policy->local_domains = {"a.test"};
  snapshot(policy);
  send("x1");
  ASSERT_EQ(responses().size(), 1u);
  EXPECT_THAT(responses()[0], HasSubstr("SIP/2.0 403 Forbidden (b.test is not a federated "
                                        "domain)\r\n"));
  EXPECT_THAT(responses()[0], HasSubstr("Warning: 399 a.test \"add it as a federated domain"));
  EXPECT_TRUE(resolver_.waiting.empty());
}

}  // namespace
}  // namespace herald::fed
