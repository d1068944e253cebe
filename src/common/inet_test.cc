#include "common/inet.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(SplitHostPortTest, SplitsNamesAddressesAndBrackets) {
  struct Case {
    const char* text;
    bool ok;
    const char* host;
    const char* port;
  } cases[] = {{"example.org:8080", true, "example.org", "8080"},
               {"example.org", true, "example.org", ""},
               {"[2001:db8::1]:5061", true, "2001:db8::1", "5061"},
               {"[::1]", true, "::1", ""},
               {"::1", true, "::1", ""},
               {"[::1", false, "", ""},
               {"[::1]x", false, "", ""},
               {"[::1]:", false, "", ""},
               {"host:", false, "", ""}};
  for (const auto& c : cases) {
    std::string_view host, port;
    EXPECT_EQ(splitHostPort(c.text, &host, &port), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(host, c.host) << c.text;
      EXPECT_EQ(port, c.port) << c.text;
    }
  }
}

TEST(EndpointTest, ParsesAndFormats) {
  auto v4 = Endpoint::parse("192.0.2.1:5060");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family(), Endpoint::Family::V4);
  EXPECT_EQ(v4->port(), 5060);
  EXPECT_EQ(v4->toString(), "192.0.2.1:5060");
  auto v6 = Endpoint::parse("[2001:db8::1]:5061");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->toString(), "[2001:db8::1]:5061");
  EXPECT_EQ(Endpoint::parse("::1", 5060)->toString(), "[::1]:5060");
  EXPECT_EQ(Endpoint::parse("127.0.0.1", 5070)->port(), 5070);
  EXPECT_TRUE(Endpoint::parse("127.0.0.1")->isLoopback());
  EXPECT_TRUE(Endpoint::parse("255.255.255.255")->isBroadcastOrMulticast());
  for (auto bad : {"", "host:5060", "1.2.3.4:", "1.2.3.4:70000", "[::1", "[::1]x", "1.2.3"}) {
    EXPECT_FALSE(Endpoint::parse(bad)) << bad;
  }
  EXPECT_EQ(*Endpoint::parse("10.0.0.1:1"), *Endpoint::parse("10.0.0.1:1"));
  EXPECT_NE(*Endpoint::parse("10.0.0.1:1"), *Endpoint::parse("10.0.0.1:2"));
}

TEST(CidrTest, Contains) {
  auto net = Cidr::parse("10.1.0.0/16");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains(*Endpoint::parse("10.1.200.3")));
  EXPECT_FALSE(net->contains(*Endpoint::parse("10.2.0.1")));
  EXPECT_TRUE(Cidr::parse("127.0.0.1")->contains(*Endpoint::parse("127.0.0.1:9")));
  EXPECT_FALSE(Cidr::parse("127.0.0.1")->contains(*Endpoint::parse("127.0.0.2")));
  EXPECT_TRUE(Cidr::parse("2001:db8::/33")->contains(*Endpoint::parse("[2001:db8:7fff::1]:1")));
  EXPECT_FALSE(Cidr::parse("2001:db8::/33")->contains(*Endpoint::parse("[2001:db8:8000::1]:1")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(*Endpoint::parse("8.8.8.8")));
  EXPECT_FALSE(Cidr::parse("0.0.0.0/0")->contains(*Endpoint::parse("::1")));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/"));
  EXPECT_EQ(Cidr::parse("10.1.0.0/16")->toString(), "10.1.0.0/16");
}

}  // namespace
}  // namespace herald
