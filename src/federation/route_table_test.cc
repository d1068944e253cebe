#include "federation/route_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace herald::fed {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

StaticRoute domainRoute(int64_t id, std::string pattern, std::string next_hop = "edge.test") {
  return StaticRoute{.id = id,
                     .pattern = std::move(pattern),
                     .type = RouteType::Domain,
                     .next_hop = std::move(next_hop),
                     .port = kDefaultTlsPort,
                     .protocol = RouteProtocol::TLS};
}

StaticRoute userRoute(int64_t id, std::string pattern) {
  return StaticRoute{.id = id, .pattern = std::move(pattern), .next_hop = "gw.test"};
}

RouteTable table(std::vector<StaticRoute> routes) {
  auto t = RouteTable::build(std::move(routes));
  EXPECT_TRUE(t.has_value()) << t.error().detail;
  return t ? std::move(*t) : RouteTable();
}

std::vector<std::string> patterns(const LookupResult& r) {
  std::vector<std::string> out;
  for (const RouteGroup* g : r.groups) {
    out.push_back(g->pattern.canonical());
  }
  return out;
}

std::vector<int64_t> ids(std::span<const StaticRoute* const> routes) {
  std::vector<int64_t> out;
  for (const StaticRoute* r : routes) {
    out.push_back(r->id);
  }
  return out;
}

TEST(RouteTableTest, EmptyTableMatchesNothing) {
  RouteTable t;
  LookupResult r = t.lookup("domaina.com", "bob");
  EXPECT_TRUE(r.groups.empty());
  EXPECT_EQ(r.usable, 0u);
  EXPECT_FALSE(r.blocked);
  EXPECT_FALSE(t.openFederationEnabled());
}

TEST(RouteTableTest, RejectsAnUnparsablePattern) {
  auto t = RouteTable::build({domainRoute(7, "domaina.com.*")});
  ASSERT_FALSE(t.has_value());
  EXPECT_THAT(t.error().detail, HasSubstr("static route 7"));
}

TEST(RouteTableTest, ReversedPatternMatchesDomainAndSubdomainsOnly) {
  RouteTable t = table({domainRoute(1, ".com.domaina.*")});
  EXPECT_THAT(patterns(t.lookup("domaina.com", "")), ElementsAre(".com.domaina.*"));
  EXPECT_THAT(patterns(t.lookup("X.DomainA.com.", "")), ElementsAre(".com.domaina.*"));
  EXPECT_TRUE(t.lookup("domainab.com", "").groups.empty());
  EXPECT_TRUE(t.lookup("com", "").groups.empty());
  EXPECT_TRUE(t.lookup("not a domain", "").groups.empty());
}

TEST(RouteTableTest, MostSpecificPatternFirst) {
  RouteTable t = table({domainRoute(1, ".*"), domainRoute(2, ".com.*"),
                        domainRoute(3, ".com.domaina.*"), domainRoute(4, "domaina.com"),
                        domainRoute(5, ".com.domaina.sip.*"), domainRoute(6, "sip*.domaina.com"),
                        domainRoute(7, ".net.domaina.*")});
  LookupResult r = t.lookup("sip.domaina.com", "");
  EXPECT_THAT(patterns(r), ElementsAre(".com.domaina.sip.*", ".com.domaina.sip*.",
                                       ".com.domaina.*", ".com.*", ".*"));
  EXPECT_EQ(r.usable, 5u);
  // An exact pattern before the wildcard one with the same literal prefix.
  EXPECT_THAT(patterns(t.lookup("domaina.com", "")),
              ElementsAre(".com.domaina.", ".com.domaina.*", ".com.*", ".*"));
}

TEST(RouteTableTest, ExplicitRoutesBeforeOpenFederation) {
  RouteTable t = table({domainRoute(1, ".*"), userRoute(2, "*")});
  // The user pattern `*` has a shorter literal prefix than `.*`, yet `.*` comes last.
  EXPECT_THAT(patterns(t.lookup("a.test", "bob")), ElementsAre("*", ".*"));
}

TEST(RouteTableTest, RoutesOfAGroupByPriorityThenId) {
  StaticRoute a = domainRoute(10, ".test.b.*", "a.test");
  a.priority = 2;
  StaticRoute b = domainRoute(11, ".test.b.*", "b.test");
  b.priority = 1;
  StaticRoute c = domainRoute(9, "*.b.test", "c.test");  // same pattern, natural spelling
  c.priority = 2;
  RouteTable t = table({a, b, c});
  LookupResult r = t.lookup("b.test", "");
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_THAT(ids(r.groups[0]->routes), ElementsAre(11, 9, 10));
  EXPECT_EQ(t.groupCount(), 1u);
}

TEST(RouteTableTest, BlockedMostSpecificRejects) {
  StaticRoute block = domainRoute(2, ".com.domaina.bad.*");
  block.blocked = true;
  RouteTable t = table({domainRoute(1, ".com.domaina.*"), block});
  std::vector<std::string> steps;
  LookupResult r = t.lookup("x.bad.domaina.com", "", &steps);
  EXPECT_TRUE(r.blocked);
  EXPECT_EQ(r.usable, 0u);
  EXPECT_THAT(steps.back(), HasSubstr("403"));
  // A blocked pattern that is not the most specific stops the fall-through before it.
  StaticRoute specific = domainRoute(3, ".com.domaina.bad.x.");
  RouteTable u = table({domainRoute(1, ".com.domaina.*"), block, specific});
  r = u.lookup("x.bad.domaina.com", "");
  EXPECT_FALSE(r.blocked);
  EXPECT_THAT(patterns(r), ElementsAre(".com.domaina.bad.x.", ".com.domaina.bad.*",
                                       ".com.domaina.*"));
  EXPECT_EQ(r.usable, 1u);
  // Other names are not affected.
  EXPECT_FALSE(t.lookup("good.domaina.com", "").blocked);
}

TEST(RouteTableTest, OneBlockedRouteBlocksItsPattern) {
  StaticRoute a = domainRoute(1, ".com.domaina.*", "a.test");
  StaticRoute b = domainRoute(2, ".com.domaina.*", "b.test");
  b.blocked = true;
  EXPECT_TRUE(table({a, b}).lookup("domaina.com", "").blocked);
}

TEST(RouteTableTest, OutOfServiceRoutesAreSkipped) {
  StaticRoute down = domainRoute(2, ".com.domaina.x.*");
  down.in_service = false;
  StaticRoute down_blocked = domainRoute(3, ".com.domaina.x.y.");
  down_blocked.in_service = false;
  down_blocked.blocked = true;
  StaticRoute half = domainRoute(4, ".com.domaina.*", "other.test");
  half.in_service = false;
  RouteTable t = table({domainRoute(1, ".com.domaina.*"), down, down_blocked, half});
  std::vector<std::string> steps;
  LookupResult r = t.lookup("y.x.domaina.com", "", &steps);
  EXPECT_FALSE(r.blocked);
  EXPECT_THAT(patterns(r), ElementsAre(".com.domaina.*"));
  EXPECT_THAT(ids(r.groups[0]->routes), ElementsAre(1));
  EXPECT_THAT(ids(r.groups[0]->out_of_service), ElementsAre(4));
  EXPECT_THAT(steps, testing::Contains(HasSubstr("no route of it is in service (2)")));
}

TEST(RouteTableTest, AllowLessSpecificLimitsTheUsableGroups) {
  StaticRoute strict = domainRoute(2, ".com.domaina.x.*");
  strict.allow_less_specific = false;
  RouteTable t = table({domainRoute(1, ".com.domaina.*"), strict, domainRoute(3, ".*")});
  std::vector<std::string> steps;
  LookupResult r = t.lookup("x.domaina.com", "", &steps);
  EXPECT_EQ(r.groups.size(), 3u);
  EXPECT_EQ(r.usable, 1u);
  EXPECT_FALSE(r.groups[0]->allow_less_specific);
  EXPECT_THAT(steps, testing::Contains(HasSubstr("does not allow less-specific")));
  EXPECT_EQ(t.lookup("y.domaina.com", "").usable, 2u);
}

TEST(RouteTableTest, AllowLessSpecificIsOffWhenAnyRouteOfThePatternSaysSo) {
  StaticRoute a = domainRoute(1, ".com.domaina.*", "a.test");
  StaticRoute b = domainRoute(2, ".com.domaina.*", "b.test");
  b.allow_less_specific = false;
  RouteTable t = table({a, b, domainRoute(3, ".com.*")});
  LookupResult r = t.lookup("domaina.com", "");
  EXPECT_FALSE(r.groups[0]->allow_less_specific);
  EXPECT_EQ(r.usable, 1u);
}

TEST(RouteTableTest, BlockedOpenFederationRouteMeansOpenFederationOff) {
  StaticRoute open = openFederationRoute();
  open.id = 1;
  open.in_service = true;
  RouteTable t = table({open, domainRoute(2, ".com.domaina.*")});
  EXPECT_FALSE(t.openFederationEnabled());
  std::vector<std::string> steps;
  LookupResult r = t.lookup("unknown.test", "", &steps);
  EXPECT_FALSE(r.blocked);  // not a 403: no usable route, so DNS (§2 step 4)
  EXPECT_EQ(r.usable, 0u);
  EXPECT_THAT(steps, testing::Contains(HasSubstr("open federation is off")));
  r = t.lookup("domaina.com", "");
  EXPECT_EQ(r.usable, 1u);

  open.blocked = false;
  open.next_hop = "expressway.test";
  RouteTable u = table({open, domainRoute(2, ".com.domaina.*")});
  EXPECT_TRUE(u.openFederationEnabled());
  r = u.lookup("unknown.test", "");
  ASSERT_EQ(r.usable, 1u);
  EXPECT_TRUE(r.groups[0]->open_federation);
  EXPECT_THAT(patterns(u.lookup("domaina.com", "")), ElementsAre(".com.domaina.*", ".*"));
}

TEST(RouteTableTest, UserRoutesMatchTheUserPart) {
  RouteTable t = table({userRoute(1, "1919476...."), userRoute(2, "1919*"), userRoute(3, "*"),
                        domainRoute(4, ".com.myhost.*")});
  EXPECT_THAT(patterns(t.lookup("myhost.com", "19194762030")),
              ElementsAre(".com.myhost.*", "1919476....", "1919*", "*"));
  EXPECT_THAT(patterns(t.lookup("other.com", "2000")), ElementsAre("*"));
  EXPECT_THAT(patterns(t.lookup("other.com", "")), ElementsAre());
}

TEST(RouteTableTest, DomainAndUserPatternOfOneTextAreTwoGroups) {
  StaticRoute user = userRoute(2, ".com.a.");
  RouteTable t = table({domainRoute(1, ".com.a."), user});
  EXPECT_EQ(t.groupCount(), 2u);
  EXPECT_THAT(patterns(t.lookup("a.com", "")), ElementsAre(".com.a."));
  EXPECT_THAT(patterns(t.lookup("b.com", "xcomyaz")), ElementsAre(".com.a."));
}

TEST(RouteTableTest, ExplainStepsNameTheMatches) {
  RouteTable t = table({domainRoute(1, ".com.domaina.*"), domainRoute(2, "sip*.domaina.com")});
  std::vector<std::string> steps;
  t.lookup("sip.domaina.com", "", &steps);
  EXPECT_THAT(steps, ElementsAre(HasSubstr("route key .com.domaina.sip."),
                                 HasSubstr("'.com.domaina.*' (*.domaina.com: domaina.com and"),
                                 HasSubstr("wildcard pattern"),
                                 HasSubstr("1. .com.domaina.sip*., 2. .com.domaina.*"),
                                 HasSubstr("2 pattern groups to try in order")));
  steps.clear();
  t.lookup("other.test", "", &steps);
  EXPECT_THAT(steps.back(), HasSubstr("DNS"));
}

TEST(RouteTableTest, LookupSurvivesAMoveOfTheTable) {
  RouteTable t = table({domainRoute(1, ".com.domaina.*")});
  RouteTable moved = std::move(t);
  LookupResult r = moved.lookup("domaina.com", "");
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_EQ(r.groups[0]->routes[0]->id, 1);
  EXPECT_EQ(r.groups[0]->routes[0], &moved.routes()[0]);
}

TEST(OrderByWeightTest, PriorityFirst) {
  StaticRoute a = domainRoute(1, ".*");
  a.priority = 3;
  StaticRoute b = domainRoute(2, ".*");
  b.priority = 1;
  b.weight = 1;
  StaticRoute c = domainRoute(3, ".*");
  c.priority = 2;
  c.weight = 65535;
  std::vector<const StaticRoute*> in = {&a, &b, &c};
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100; ++i) {
    EXPECT_THAT(ids(orderByWeight(in, rng)), ElementsAre(2, 3, 1));
  }
}

TEST(OrderByWeightTest, ThreeToOneSplitsSeventyFivePercent) {
  StaticRoute heavy = domainRoute(1, ".*");
  heavy.weight = 3;
  StaticRoute light = domainRoute(2, ".*");
  light.weight = 1;
  std::vector<const StaticRoute*> in = {&light, &heavy};
  std::mt19937_64 rng(20261207);
  int heavy_first = 0;
  constexpr int kDraws = 10000;
  for (int i = 0; i < kDraws; ++i) {
    std::vector<const StaticRoute*> order = orderByWeight(in, rng);
    ASSERT_EQ(order.size(), 2u);
    EXPECT_NE(order[0], order[1]);
    heavy_first += order[0] == &heavy;
  }
  EXPECT_NEAR(heavy_first / double(kDraws), 0.75, 0.05);
}

TEST(OrderByWeightTest, ProportionalAmongThree) {
  StaticRoute r20 = domainRoute(1, ".*");
  r20.weight = 20;
  StaticRoute r10 = domainRoute(2, ".*");
  r10.weight = 10;
  StaticRoute r10b = domainRoute(3, ".*");
  r10b.weight = 10;
  std::vector<const StaticRoute*> in = {&r20, &r10, &r10b};
  std::mt19937_64 rng(7);
  std::map<int64_t, int> first;
  for (int i = 0; i < 10000; ++i) {
    ++first[orderByWeight(in, rng)[0]->id];
  }
  EXPECT_NEAR(first[1] / 10000.0, 0.50, 0.05);
  EXPECT_NEAR(first[2] / 10000.0, 0.25, 0.05);
  EXPECT_NEAR(first[3] / 10000.0, 0.25, 0.05);
}

TEST(OrderByWeightTest, SameSeedSameOrder) {
  std::vector<StaticRoute> routes;
  for (int i = 1; i <= 8; ++i) {
    routes.push_back(domainRoute(i, ".*"));
    routes.back().weight = i;
  }
  std::vector<const StaticRoute*> in;
  for (const StaticRoute& r : routes) {
    in.push_back(&r);
  }
  std::mt19937_64 a(42);
  std::mt19937_64 b(42);
  EXPECT_EQ(ids(orderByWeight(in, a)), ids(orderByWeight(in, b)));
}

}  // namespace
}  // namespace herald::fed
