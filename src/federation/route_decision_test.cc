#include "federation/route_decision.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "federation/static_route.h"

namespace herald::fed {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A DNS zone for the tests: answers by (type, name); anything else is NXDOMAIN.
class Zone {
 public:
  Zone& srv(std::string name, std::vector<dns::SrvRecord> records) {
    dns::Answer a;
    a.status = dns::Status::Ok;
    a.srv = std::move(records);
    a.ttl = 300;
    answers_[{dns::RecordType::SRV, std::move(name)}] = std::move(a);
    return *this;
  }
  Zone& a(std::string name, std::vector<std::string> addresses) {
    dns::Answer a;
    a.status = dns::Status::Ok;
    for (const std::string& text : addresses) {
      a.addresses.push_back({*Endpoint::fromAddress(text, 0), 300});
    }
    a.ttl = 300;
    answers_[{dns::RecordType::A, std::move(name)}] = std::move(a);
    return *this;
  }
  Zone& naptr(std::string name, std::vector<dns::NaptrRecord> records) {
    dns::Answer a;
    a.status = dns::Status::Ok;
    a.naptr = std::move(records);
    answers_[{dns::RecordType::NAPTR, std::move(name)}] = std::move(a);
    return *this;
  }
  Zone& fail(dns::RecordType type, std::string name, dns::Status status) {
    dns::Answer a;
    a.status = status;
    a.error = "test";
    answers_[{type, std::move(name)}] = std::move(a);
    return *this;
  }
  dns::Answer answer(const dns::Query& q) const {
    auto it = answers_.find({q.type, q.name});
    if (it != answers_.end()) {
      return it->second;
    }
    dns::Answer nx;
    nx.status = q.type == dns::RecordType::AAAA ? dns::Status::NoRecords : dns::Status::NxDomain;
    return nx;
  }

 private:
  std::map<std::pair<dns::RecordType, std::string>, dns::Answer> answers_;
};

struct Trace {
  Decision decision;
  std::vector<dns::Query> asked;  // every query, in the order asked
  int rounds = 0;
};

// Drives decide() the way the data path does: answer what it asks, call again.
Trace drive(const RoutingSnapshot& snap, Destination dest, const Zone& zone, uint64_t seed = 1,
        bool record = true) {
  Trace r;
  DnsAnswers answers;
  for (;;) {
    r.decision = decide(snap, dest, answers, seed, record);
    if (r.decision.outcome != Outcome::NeedDns) {
      return r;
    }
    ++r.rounds;
    EXPECT_LT(r.rounds, 10) << "decide() keeps asking";
    if (r.rounds >= 10) {
      return r;
    }
    for (const dns::Query& q : r.decision.queries) {
      EXPECT_EQ(answers.find(q), nullptr) << "asked twice: " << q.name;
      r.asked.push_back(q);
      answers.add(q, zone.answer(q));
    }
  }
}

std::string queryText(const dns::Query& q) {
  return std::string(dns::recordTypeName(q.type)) + " " + q.name;
}

std::vector<std::string> asked(const Trace& r) {
  std::vector<std::string> out;
  for (const dns::Query& q : r.asked) {
    out.push_back(queryText(q));
  }
  return out;
}

std::vector<std::string> targets(const Decision& d) {
  std::vector<std::string> out;
  for (const Target& t : d.targets) {
    out.push_back(t.address.toString() + " " + std::string(routeProtocolName(t.protocol)) + " " +
                  t.host);
  }
  return out;
}

std::string steps(const Decision& d) {
  std::string out;
  for (const Step& s : d.steps) {
    out += s.step + " " + s.text + "\n";
  }
  return out;
}

StaticRoute staticRoute(int64_t id, std::string pattern, std::string next_hop, int port = 5061,
                  RouteProtocol protocol = RouteProtocol::TLS) {
  return StaticRoute{.id = id,
                     .pattern = std::move(pattern),
                     .type = RouteType::Domain,
                     .next_hop = std::move(next_hop),
                     .port = port,
                     .protocol = protocol};
}

policy::FederatedDomain federated(std::string name,
                                  policy::Integration integration = policy::Integration::Sip,
                                  policy::Discovery discovery = policy::Discovery::Both) {
  policy::FederatedDomain d;
  d.name = std::move(name);
  d.integration = integration;
  d.discovery = discovery;
  return d;
}

class RouteDecisionTest : public ::testing::Test {
 protected:
  RouteDecisionTest() {
    policy_.local_domains = {"a.test"};
    policy_.static_routes.push_back(openFederationRoute());
    policy_.static_routes.back().id = 1;
  }
  void federate(policy::FederatedDomain d) {
    std::string name = d.name;
    policy_.federated_domains[name] = std::move(d);
  }
  void addRoute(StaticRoute r) { policy_.static_routes.push_back(std::move(r)); }
  void openFederation(std::string next_hop = "", int port = 5061) {
    StaticRoute& open = policy_.static_routes.front();
    open.blocked = false;
    open.in_service = true;
    open.next_hop = std::move(next_hop);
    open.port = port;
  }
  RoutingSnapshotPtr snapshot() {
    auto s = RoutingSnapshot::build(std::make_shared<policy::Policy>(policy_));
    EXPECT_TRUE(s.has_value()) << s.error().detail;
    return *s;
  }
  Trace decideFor(std::string user, std::string domain, uint64_t seed = 1) {
    snap_ = snapshot();
    return drive(*snap_, {std::move(user), std::move(domain)}, zone_, seed);
  }

  policy::Policy policy_;
  Zone zone_;
  RoutingSnapshotPtr snap_;
};

TEST_F(RouteDecisionTest, ALocalDomainIsNotFederation) {
  Trace r = decideFor("bob", "A.Test.");
  EXPECT_EQ(r.decision.outcome, Outcome::Local);
  EXPECT_EQ(r.decision.domain, "a.test");
  EXPECT_THAT(r.asked, IsEmpty());
}

TEST_F(RouteDecisionTest, ADomainThatIsNotFederatedIs403AndSaysHowToFixIt) {
  Trace r = decideFor("bob", "x.test");
  EXPECT_EQ(r.decision.outcome, Outcome::Reject);
  EXPECT_EQ(r.decision.code, 403);
  EXPECT_EQ(r.decision.reason, "Forbidden (x.test is not a federated domain)");
  EXPECT_THAT(r.decision.warning, HasSubstr("add it as a federated domain"));
  EXPECT_THAT(r.asked, IsEmpty());
}

TEST_F(RouteDecisionTest, AMalformedDomainIs400) {
  Trace r = decideFor("bob", "a..test");
  EXPECT_EQ(r.decision.code, 400);
  EXPECT_THAT(r.decision.reason, HasSubstr("malformed domain"));
}

TEST_F(RouteDecisionTest, SrvOfSipFederationTlsGivesTargetsInPriorityOrder) {
  federate(federated("b.test"));
  zone_.srv("_sipfederationtls._tcp.b.test",
            {{20, 0, 5061, "backup.b.test", 300}, {10, 0, 5062, "edge.b.test", 300}})
      .a("edge.b.test", {"127.0.0.3"})
      .a("backup.b.test", {"127.0.0.4", "127.0.0.5"});
  Trace r = decideFor("bob", "b.test");
  ASSERT_EQ(r.decision.outcome, Outcome::Route) << steps(r.decision);
  EXPECT_THAT(targets(r.decision),
              ElementsAre("127.0.0.3:5062 TLS edge.b.test", "127.0.0.4:5061 TLS backup.b.test",
                          "127.0.0.5:5061 TLS backup.b.test"));
  EXPECT_EQ(r.decision.targets[0].source, "SRV _sipfederationtls._tcp.b.test");
  // SRV first, then both targets' addresses in one round.
  EXPECT_EQ(r.rounds, 2);
  EXPECT_THAT(asked(r), ElementsAre("SRV _sipfederationtls._tcp.b.test", "A edge.b.test",
                                    "AAAA edge.b.test", "A backup.b.test", "AAAA backup.b.test"));
}

TEST_F(RouteDecisionTest, Rfc3263FollowsNaptrThenSrvThenAddressesOn5061) {
  federate(federated("b.test"));
  // No _sipfederationtls record: NAPTR names the SIPS SRV.
  zone_
      .naptr("b.test",
             {{10, 10, "s", "SIP+D2U", "", "_sip._udp.b.test", 60},
              {20, 10, "s", "SIPS+D2T", "", "_sips._tcp.sip.b.test", 60}})
      .srv("_sips._tcp.sip.b.test", {{0, 0, 5061, "tls.b.test", 60}})
      .a("tls.b.test", {"127.0.0.3"});
  Trace r = decideFor("bob", "b.test");
  ASSERT_EQ(r.decision.outcome, Outcome::Route) << steps(r.decision);
  EXPECT_THAT(targets(r.decision), ElementsAre("127.0.0.3:5061 TLS tls.b.test"));
  EXPECT_THAT(asked(r), ElementsAre("SRV _sipfederationtls._tcp.b.test", "NAPTR b.test",
                                    "SRV _sips._tcp.sip.b.test", "A tls.b.test",
                                    "AAAA tls.b.test"));

  // Without NAPTR and SRV: the domain's own address, port 5061, TLS.
  zone_ = Zone().a("b.test", {"127.0.0.9"});
  r = decideFor("bob", "b.test");
  ASSERT_EQ(r.decision.outcome, Outcome::Route);
  EXPECT_THAT(targets(r.decision), ElementsAre("127.0.0.9:5061 TLS b.test"));
  EXPECT_THAT(asked(r), ElementsAre("SRV _sipfederationtls._tcp.b.test", "NAPTR b.test",
                                    "SRV _sips._tcp.b.test", "A b.test", "AAAA b.test"));
}

TEST_F(RouteDecisionTest, DiscoveryModeLimitsTheLookups) {
  federate(federated("b.test", policy::Integration::Sip, policy::Discovery::SipFederationTls));
  zone_.a("b.test", {"127.0.0.9"});
  Trace r = decideFor("bob", "b.test");
  EXPECT_EQ(r.decision.code, 404);
  EXPECT_EQ(r.decision.reason, "Not Found (no route to b.test)");
  EXPECT_THAT(r.decision.warning, HasSubstr("SRV _sipfederationtls._tcp.b.test: nxdomain"));
  EXPECT_THAT(asked(r), ElementsAre("SRV _sipfederationtls._tcp.b.test"));

  federate(federated("b.test", policy::Integration::Sip, policy::Discovery::Rfc3263));
  r = decideFor("bob", "b.test");
  ASSERT_EQ(r.decision.outcome, Outcome::Route);
  EXPECT_EQ(asked(r).front(), "NAPTR b.test");
}

TEST_F(RouteDecisionTest, ADnsTimeoutWithNothingFoundIs504) {
  federate(federated("b.test", policy::Integration::Sip, policy::Discovery::SipFederationTls));
  zone_.fail(dns::RecordType::SRV, "_sipfederationtls._tcp.b.test", dns::Status::Timeout);
  Trace r = decideFor("bob", "b.test");
  EXPECT_EQ(r.decision.code, 504);
  EXPECT_EQ(r.decision.reason, "Server Time-out (DNS did not answer for b.test)");
  EXPECT_THAT(r.decision.warning, HasSubstr("_sipfederationtls._tcp.b.test: timeout"));

  // A target whose address lookup fails is named too.
  zone_ = Zone()
              .srv("_sipfederationtls._tcp.b.test", {{0, 0, 5061, "edge.b.test", 300}})
              .fail(dns::RecordType::A, "edge.b.test", dns::Status::ServFail);
  r = decideFor("bob", "b.test");
  EXPECT_EQ(r.decision.code, 504);
  EXPECT_THAT(r.decision.warning, HasSubstr("edge.b.test: A servfail"));
}

TEST_F(RouteDecisionTest, AStaticRouteInReversedFormWinsOverDnsAndIpHopsNeedNoLookup) {
  federate(federated("b.test"));
  addRoute(staticRoute(7, ".test.b.*", "127.0.0.3", 5061));
  zone_.srv("_sipfederationtls._tcp.b.test", {{0, 0, 5061, "edge.b.test", 300}});
  Trace r = decideFor("bob", "sip.b.test");
  EXPECT_EQ(r.decision.code, 403) << "sip.b.test itself is not federated";
  r = decideFor("bob", "b.test");
  ASSERT_EQ(r.decision.outcome, Outcome::Route) << steps(r.decision);
  EXPECT_THAT(targets(r.decision), ElementsAre("127.0.0.3:5061 TLS 127.0.0.3"));
  EXPECT_EQ(r.decision.targets[0].route_id, 7);
  EXPECT_EQ(r.decision.targets[0].source, "static route 7 '.test.b.*'");
  EXPECT_THAT(r.asked, IsEmpty());
  EXPECT_THAT(steps(r.decision), HasSubstr("'.test.b.*'"));
}

TEST_F(RouteDecisionTest, StaticNextHopsAreNamesOrSrvNamesWithPortZero) {
  federate(federated("b.test"));
  addRoute(staticRoute(7, "b.test", "edge.b.test", 5061));
  StaticRoute srv = staticRoute(8, "b.test", "_sipfederationtls._tcp.hub.test", 0);
  srv.priority = 2;
  addRoute(srv);
  zone_.a("edge.b.test", {"127.0.0.3"})
      .srv("_sipfederationtls._tcp.hub.test", {{0, 0, 5070, "hub.test", 60}})
      .a("hub.test", {"127.0.0.7"});
  Trace r = decideFor("bob", "b.test");
  ASSERT_EQ(r.decision.outcome, Outcome::Route) << steps(r.decision);
  EXPECT_THAT(targets(r.decision),
              ElementsAre("127.0.0.3:5061 TLS edge.b.test", "127.0.0.7:5070 TLS hub.test"));
  // No SRV of b.test itself: the static routes decide.
  for (const std::string& q : asked(r)) {
    EXPECT_THAT(q, ::testing::Not(HasSubstr("_sipfederationtls._tcp.b.test")));
  }
}

TEST_F(RouteDecisionTest, AStaticRouteWhoseNextHopDoesNotResolveIsNotBypassedByDns) {
  federate(federated("b.test"));
  addRoute(staticRoute(7, "b.test", "gone.b.test", 5061));
  zone_.srv("_sipfederationtls._tcp.b.test", {{0, 0, 5061, "edge.b.test", 300}})
      .a("edge.b.test", {"127.0.0.3"});
  Trace r = decideFor("bob", "b.test");
  EXPECT_EQ(r.decision.code, 404);
  EXPECT_THAT(r.decision.warning, HasSubstr("gone.b.test: A nxdomain"));
  EXPECT_THAT(asked(r), ElementsAre("A gone.b.test", "AAAA gone.b.test"));
}

TEST_F(RouteDecisionTest, ABlockedMostSpecificRouteIs403NamingTheRoute) {
  federate(federated("b.test"));
  addRoute(staticRoute(7, ".test.b.*", "127.0.0.3"));
  StaticRoute blocked = staticRoute(9, "b.test", "127.0.0.4");
  blocked.blocked = true;
  addRoute(blocked);
  Trace r = decideFor("bob", "b.test");
  EXPECT_EQ(r.decision.code, 403);
  EXPECT_EQ(r.decision.reason, "Forbidden (routing to b.test is blocked)");
  EXPECT_EQ(r.decision.warning, "static route 9 '.test.b.' is blocked");
}

TEST_F(RouteDecisionTest, LessSpecificGroupsFollowOnlyWhenAllowed) {
  federate(federated("x.b.test"));
  addRoute(staticRoute(7, "x.b.test", "127.0.0.3"));
  addRoute(staticRoute(8, "*.b.test", "127.0.0.4"));
  Trace r = decideFor("bob", "x.b.test");
  EXPECT_THAT(targets(r.decision),
              ElementsAre("127.0.0.3:5061 TLS 127.0.0.3", "127.0.0.4:5061 TLS 127.0.0.4"));
  policy_.static_routes[1].allow_less_specific = false;
  r = decideFor("bob", "x.b.test");
  EXPECT_THAT(targets(r.decision), ElementsAre("127.0.0.3:5061 TLS 127.0.0.3"));
}

TEST_F(RouteDecisionTest, ClearinghouseChainAdvancesOnlyWhenAStepFindsNothing) {
  federate(federated("c.test", policy::Integration::Clearinghouse));
  policy_.cluster.default_federation_routing_domain = "hub.test";
  // static(c.test): none; SRV(c.test): none; static(hub.test): a route.
  addRoute(staticRoute(5, "hub.test", "127.0.0.5"));
  Trace r = decideFor("bob", "c.test");
  ASSERT_EQ(r.decision.outcome, Outcome::Route) << steps(r.decision);
  EXPECT_THAT(targets(r.decision), ElementsAre("127.0.0.5:5061 TLS 127.0.0.5"));
  EXPECT_THAT(asked(r), ElementsAre("SRV _sipfederationtls._tcp.c.test", "NAPTR c.test",
                                    "SRV _sips._tcp.c.test", "A c.test", "AAAA c.test"));
  EXPECT_THAT(steps(r.decision), HasSubstr("static(c.test) -> SRV(c.test) -> static(hub.test)"));

  // SRV(c.test) exists: it is used and the hub is not asked.
  zone_.srv("_sipfederationtls._tcp.c.test", {{0, 0, 5061, "edge.c.test", 60}})
      .a("edge.c.test", {"127.0.0.6"});
  r = decideFor("bob", "c.test");
  EXPECT_THAT(targets(r.decision), ElementsAre("127.0.0.6:5061 TLS edge.c.test"));

  // No route to the hub either: SRV(hub.test), the fourth step.
  zone_ = Zone()
              .srv("_sipfederationtls._tcp.hub.test", {{0, 0, 5061, "sip.hub.test", 60}})
              .a("sip.hub.test", {"127.0.0.8"});
  policy_.static_routes.pop_back();
  r = decideFor("bob", "c.test");
  EXPECT_THAT(targets(r.decision), ElementsAre("127.0.0.8:5061 TLS sip.hub.test"));
  EXPECT_EQ(r.decision.targets[0].source, "SRV _sipfederationtls._tcp.hub.test");

  // The domain's own via-domain wins over the cluster default; the default is aol.com.
  policy::Policy fresh;
  EXPECT_EQ(fresh.cluster.default_federation_routing_domain, "aol.com");
  policy::FederatedDomain via = federated("c.test", policy::Integration::Clearinghouse);
  via.via_domain = "other.test";
  federate(via);
  zone_ = Zone();
  r = decideFor("bob", "c.test");
  EXPECT_EQ(r.decision.code, 404);
  EXPECT_THAT(asked(r), ::testing::Contains("SRV _sipfederationtls._tcp.other.test"));
}

TEST_F(RouteDecisionTest, OpenFederationRoutesUnknownDomainsByDnsThenTheDefaultRoute) {
  openFederation("127.0.0.9", 5061);
  zone_.srv("_sipfederationtls._tcp.x.test", {{0, 0, 5061, "edge.x.test", 60}})
      .a("edge.x.test", {"127.0.0.3"});
  Trace r = decideFor("bob", "x.test");
  ASSERT_EQ(r.decision.outcome, Outcome::Route) << steps(r.decision);
  EXPECT_TRUE(r.decision.open_federation);
  EXPECT_THAT(targets(r.decision), ElementsAre("127.0.0.3:5061 TLS edge.x.test"));

  // Nothing in DNS: the '.*' route's next hop (§2 step 4d).
  r = decideFor("bob", "y.test");
  ASSERT_EQ(r.decision.outcome, Outcome::Route) << steps(r.decision);
  EXPECT_THAT(targets(r.decision), ElementsAre("127.0.0.9:5061 TLS 127.0.0.9"));
  EXPECT_EQ(r.decision.targets[0].route_id, 1);

  // A federated domain is not flagged as discovered.
  federate(federated("x.test"));
  r = decideFor("bob", "x.test");
  EXPECT_FALSE(r.decision.open_federation);
}

TEST_F(RouteDecisionTest, WeightsSplitTrafficAndTheSameSeedGivesTheSameOrder) {
  federate(federated("b.test"));
  StaticRoute heavy = staticRoute(7, "b.test", "127.0.0.3");
  heavy.weight = 3;
  addRoute(heavy);
  addRoute(staticRoute(8, "b.test", "127.0.0.4"));
  snap_ = snapshot();
  int first_heavy = 0;
  constexpr int kRuns = 10000;
  for (int seed = 0; seed < kRuns; ++seed) {
    Decision d = decide(*snap_, {"bob", "b.test"}, DnsAnswers(), static_cast<uint64_t>(seed));
    ASSERT_EQ(d.targets.size(), 2u);
    first_heavy += d.targets[0].route_id == 7 ? 1 : 0;
    if (seed < 20) {
      EXPECT_EQ(decide(*snap_, {"bob", "b.test"}, DnsAnswers(), static_cast<uint64_t>(seed))
                    .targets,
                d.targets);
    }
  }
  double share = static_cast<double>(first_heavy) / kRuns;
  EXPECT_NEAR(share, 0.75, 0.05);
}

TEST_F(RouteDecisionTest, StepsAreRecordedOnlyWhenAsked) {
  federate(federated("b.test"));
  zone_.srv("_sipfederationtls._tcp.b.test", {{0, 0, 5061, "edge.b.test", 300}})
      .a("edge.b.test", {"127.0.0.3"});
  snap_ = snapshot();
  Trace quiet = drive(*snap_, {"bob", "b.test"}, zone_, 1, false);
  EXPECT_THAT(quiet.decision.steps, IsEmpty());
  Trace loud = drive(*snap_, {"bob", "b.test"}, zone_, 1, true);
  EXPECT_EQ(targets(quiet.decision), targets(loud.decision));
  std::string text = steps(loud.decision);
  EXPECT_THAT(text, HasSubstr("1 b.test is not a local domain"));
  EXPECT_THAT(text, HasSubstr("2 b.test is a federated domain (integration sip, discovery both)"));
  EXPECT_THAT(text, HasSubstr("3 no static route matches"));
  EXPECT_THAT(text, HasSubstr("4a SRV _sipfederationtls._tcp.b.test: 1 record (ttl 300 s)"));
  EXPECT_THAT(text, HasSubstr("4a edge.b.test -> 127.0.0.3"));
  EXPECT_THAT(text, HasSubstr("5 target 1: 127.0.0.3:5061 TLS (edge.b.test)"));
}

}  // namespace
}  // namespace herald::fed
