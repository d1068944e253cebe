#include "sip/message/via.h"

#include <gtest/gtest.h>

namespace herald::sip {
namespace {

TEST(ViaTest, ParsesParameters) {
  std::vector<Via> v;
  ASSERT_TRUE(parseViaList(
      "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9;received=192.0.2.101;rport=5070;ttl=3;"
      "maddr=239.1.1.1;custom=\"q\"",
      &v));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].protocol_name, "SIP");
  EXPECT_EQ(v[0].protocol_version, "2.0");
  EXPECT_EQ(v[0].transport, "UDP");
  EXPECT_EQ(v[0].host, "192.0.2.1");
  EXPECT_EQ(v[0].host_kind, HostKind::IPv4);
  EXPECT_EQ(v[0].port, 5060);
  EXPECT_EQ(v[0].branch, "z9hG4bK74bf9");
  EXPECT_TRUE(v[0].hasRfc3261Branch());
  EXPECT_EQ(v[0].received, "192.0.2.101");
  EXPECT_TRUE(v[0].rport_requested);
  EXPECT_EQ(v[0].rport, 5070);
  EXPECT_EQ(v[0].ttl, 3);
  EXPECT_EQ(v[0].maddr, "239.1.1.1");
  EXPECT_EQ(v[0].params.find("custom")->unquotedValue(), "q");
}

TEST(ViaTest, ParsesTortuousWhitespaceAndLists) {
  // From RFC 4475 wsinv.
  std::vector<Via> v;
  ASSERT_TRUE(parseViaList("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw", &v));
  ASSERT_TRUE(parseViaList(
      "SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /  "
      "  2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239",
      &v));
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].branch, "390skdjuw");
  EXPECT_FALSE(v[0].hasRfc3261Branch());
  EXPECT_EQ(v[1].transport, "TCP");
  EXPECT_EQ(v[1].host, "spindle.example.com");
  EXPECT_EQ(v[1].branch, "z9hG4bK9ikj8");
  EXPECT_EQ(v[2].branch, "z9hG4bK30239");
  EXPECT_EQ(v[2].host, "192.168.255.111");
}

TEST(ViaTest, ParsesIPv6AndRportWithoutValue) {
  std::vector<Via> v;
  ASSERT_TRUE(
      parseViaList("SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKa;rport;"
                   "received=2001:db8::1",
                   &v));
  EXPECT_EQ(v[0].host, "2001:db8::9");
  EXPECT_EQ(v[0].host_kind, HostKind::IPv6);
  EXPECT_TRUE(v[0].rport_requested);
  EXPECT_FALSE(v[0].rport);
  EXPECT_EQ(v[0].received, "2001:db8::1");
}

TEST(ViaTest, BranchOfOnlyTheMagicCookieIsNotAnRfc3261Branch) {
  std::vector<Via> v;
  ASSERT_TRUE(parseViaList("SIP/2.0/UDP host;branch=z9hG4bK", &v));
  EXPECT_FALSE(v[0].hasRfc3261Branch());
}

TEST(ViaTest, RejectsMalformedVias) {
  for (std::string_view bad : {
           "SIP/2.0/UDP 192.0.2.15;;,;,,",  // badinv01
           "SIP/2.0/UDP",
           "SIP/2.0 host",
           "SIP/2.0/UDP host;branch",
           "SIP/2.0/UDP host:70000",
           "SIP/2.0/UDP host;received=example.com",
           "SIP/2.0/UDP host;rport=x",
           "SIP/2.0/UDP host;ttl=256",
           "SIP/2.0/UDP host,",
           "SIP/2.0/UDP ho st",
           "SIP/2.0/UDP [::1",
       }) {
    std::vector<Via> v;
    EXPECT_FALSE(parseViaList(bad, &v)) << bad;
  }
}

}  // namespace
}  // namespace herald::sip
