#include "federation/static_route.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace herald::fed {
namespace {

using ::testing::HasSubstr;

StaticRoute federationRoute() {
  return StaticRoute{.id = 1,
                     .pattern = ".com.domaina.*",
                     .type = RouteType::Domain,
                     .next_hop = "edge.domaina.com",
                     .port = kDefaultTlsPort,
                     .protocol = RouteProtocol::TLS};
}

// The message of the one issue on `field`, or "" when there is none.
std::string issueFor(const std::vector<FieldIssue>& issues, std::string_view field) {
  for (const FieldIssue& i : issues) {
    if (i.field == field) {
      return i.message;
    }
  }
  return "";
}

TEST(StaticRouteTest, DefaultsFollowTheSpec) {
  StaticRoute r;
  EXPECT_EQ(r.type, RouteType::User);
  EXPECT_EQ(r.port, 5060);
  EXPECT_EQ(r.protocol, RouteProtocol::TCP);
  EXPECT_EQ(r.priority, 1);
  EXPECT_EQ(r.weight, 1);
  EXPECT_TRUE(r.in_service);
  EXPECT_FALSE(r.blocked);
  EXPECT_TRUE(r.allow_less_specific);
}

TEST(StaticRouteTest, AcceptsTheSeedFederationRoute) {
  RouteValidation v = validateRoute(federationRoute());
  EXPECT_TRUE(v.ok());
  EXPECT_TRUE(v.warnings.empty());
  ASSERT_TRUE(v.pattern.has_value());
  EXPECT_EQ(v.pattern->canonical(), ".com.domaina.*");
}

TEST(StaticRouteTest, NaturalPatternValidatesToCanonical) {
  StaticRoute r = federationRoute();
  r.pattern = "*.DomainA.com";
  RouteValidation v = validateRoute(r);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.pattern->canonical(), ".com.domaina.*");
}

TEST(StaticRouteTest, ReportsErrorsByField) {
  StaticRoute r = federationRoute();
  r.pattern = "domaina.com.*";
  r.description = std::string(256, 'd');
  r.port = 70000;
  r.priority = 0;
  r.weight = 65536;
  RouteValidation v = validateRoute(r);
  EXPECT_FALSE(v.ok());
  EXPECT_THAT(issueFor(v.errors, "pattern"), HasSubstr(".com.domaina.*"));
  EXPECT_THAT(issueFor(v.errors, "description"), HasSubstr("at most 255"));
  EXPECT_THAT(issueFor(v.errors, "port"), HasSubstr("not a port"));
  EXPECT_THAT(issueFor(v.errors, "priority"), HasSubstr("1..65535"));
  EXPECT_THAT(issueFor(v.errors, "weight"), HasSubstr("1..65535"));
  EXPECT_FALSE(v.pattern.has_value());
}

TEST(StaticRouteTest, DescriptionCountsCharactersNotBytes) {
  StaticRoute r = federationRoute();
  r.description.clear();
  for (int i = 0; i < 255; ++i) {
    r.description += "é";
  }
  EXPECT_TRUE(validateRoute(r).ok());
}

TEST(StaticRouteTest, NextHopForms) {
  StaticRoute r = federationRoute();
  for (std::string hop : {"192.0.2.10", "2001:db8::1", "[2001:db8::1]", "edge.domaina.com",
                          "EDGE.domaina.com.", "edge"}) {
    r.next_hop = hop;
    EXPECT_TRUE(validateRoute(r).ok()) << hop;
  }
  r.next_hop = "edge.domaina.com:5061";
  EXPECT_THAT(issueFor(validateRoute(r).errors, "next_hop"), HasSubstr("port field"));
  r.next_hop = "édge.domaina.com";
  EXPECT_THAT(issueFor(validateRoute(r).errors, "next_hop"), HasSubstr("xn--"));
  r.next_hop = "edge..domaina.com";
  EXPECT_THAT(issueFor(validateRoute(r).errors, "next_hop"), HasSubstr("empty label"));
  r.next_hop = "_sipfederationtls._tcp.domaina.com";
  EXPECT_FALSE(validateRoute(r).ok());  // '_' only in an SRV name (port 0)
}

TEST(StaticRouteTest, PortZeroMeansSrvName) {
  StaticRoute r = federationRoute();
  r.port = 0;
  r.next_hop = "_sipfederationtls._tcp.domaina.com";
  EXPECT_TRUE(validateRoute(r).ok());
  r.next_hop = "192.0.2.10";
  EXPECT_THAT(issueFor(validateRoute(r).errors, "port"), HasSubstr("SRV"));
}

TEST(StaticRouteTest, NextHopRequiredUnlessBlocked) {
  StaticRoute r = federationRoute();
  r.next_hop.clear();
  EXPECT_THAT(issueFor(validateRoute(r).errors, "next_hop"), HasSubstr("required"));
  r.blocked = true;
  EXPECT_TRUE(validateRoute(r).ok());
}

TEST(StaticRouteTest, WarnsOnPortProtocolMismatch) {
  StaticRoute r = federationRoute();
  r.port = 5060;
  RouteValidation v = validateRoute(r);
  EXPECT_TRUE(v.ok());
  EXPECT_THAT(issueFor(v.warnings, "port"), HasSubstr("TLS on port 5060"));
  r.port = 5061;
  r.protocol = RouteProtocol::TCP;
  v = validateRoute(r);
  EXPECT_TRUE(v.ok());
  EXPECT_THAT(issueFor(v.warnings, "port"), HasSubstr("TCP on port 5061"));
  r.port = 5060;
  EXPECT_TRUE(validateRoute(r).warnings.empty());
}

TEST(StaticRouteTest, OpenFederationRouteIsPredefinedBlocked) {
  StaticRoute r = openFederationRoute();
  EXPECT_EQ(r.pattern, ".*");
  EXPECT_EQ(r.type, RouteType::Domain);
  EXPECT_TRUE(r.blocked);
  EXPECT_FALSE(r.in_service);
  RouteValidation v = validateRoute(r);
  EXPECT_TRUE(v.ok());
  EXPECT_TRUE(v.pattern->isOpenFederation());
}

TEST(StaticRouteTest, UniqueByPatternNextHopPortProtocol) {
  std::vector<StaticRoute> existing = {federationRoute()};
  StaticRoute r = federationRoute();
  r.id = 2;
  r.pattern = "*.domaina.com";  // same pattern, other spelling
  r.next_hop = "Edge.DomainA.com.";
  RouteValidation v = validateRoute(r);
  checkRouteAgainst(r, existing, &v);
  EXPECT_THAT(issueFor(v.errors, "pattern"), HasSubstr("route 1 already sends"));

  for (auto change : {+[](StaticRoute& x) { x.port = 5062; },
                      +[](StaticRoute& x) { x.protocol = RouteProtocol::TCP; },
                      +[](StaticRoute& x) { x.next_hop = "edge2.domaina.com"; },
                      +[](StaticRoute& x) { x.pattern = "domaina.com"; }}) {
    StaticRoute other = r;
    change(other);
    RouteValidation w = validateRoute(other);
    checkRouteAgainst(other, existing, &w);
    EXPECT_TRUE(w.ok()) << issueFor(w.errors, "pattern");
  }
}

TEST(StaticRouteTest, UpdateDoesNotCollideWithItself) {
  std::vector<StaticRoute> existing = {federationRoute()};
  StaticRoute r = federationRoute();
  r.description = "edited";
  RouteValidation v = validateRoute(r);
  checkRouteAgainst(r, existing, &v);
  EXPECT_TRUE(v.ok());
}

TEST(StaticRouteTest, WarnsPastOneHundredRoutesPerPattern) {
  std::vector<StaticRoute> existing;
  for (int i = 1; i <= 100; ++i) {
    StaticRoute r = federationRoute();
    r.id = i;
    r.next_hop = "edge" + std::to_string(i) + ".domaina.com";
    existing.push_back(r);
  }
  StaticRoute r = federationRoute();
  r.id = 101;
  r.next_hop = "edge101.domaina.com";
  RouteValidation v = validateRoute(r);
  checkRouteAgainst(r, existing, &v);
  EXPECT_TRUE(v.ok());
  EXPECT_THAT(issueFor(v.warnings, "pattern"), HasSubstr("101 routes"));
}

}  // namespace
}  // namespace herald::fed
