#include "sip/message/uri.h"

#include <gtest/gtest.h>

namespace herald::sip {
namespace {

Uri parseOk(std::string_view text) {
  auto r = parseUri(text);
  EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().toString());
  return r ? *r : Uri{};
}

TEST(UriTest, ParsesEveryPartOfASipUri) {
  Uri u = parseOk("sips:alice:secret@Example.COM:5061;transport=tls;lr?subject=hi&priority=urgent");
  EXPECT_EQ(u.scheme, UriScheme::Sips);
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "secret");
  EXPECT_TRUE(u.has_password);
  EXPECT_EQ(u.host, "Example.COM");
  EXPECT_EQ(u.host_kind, HostKind::Name);
  EXPECT_EQ(u.port, 5061);
  EXPECT_EQ(u.transportParam(), "tls");
  EXPECT_TRUE(u.looseRouter());
  EXPECT_EQ(u.headers, "subject=hi&priority=urgent");
  EXPECT_EQ(u.canonicalAor(), "sips:alice@example.com:5061");
}

TEST(UriTest, ParsesHostForms) {
  EXPECT_EQ(parseOk("sip:192.0.2.4").host_kind, HostKind::IPv4);
  Uri v6 = parseOk("sip:[2001:db8::10]:5070;maddr=x.example.com");
  EXPECT_EQ(v6.host_kind, HostKind::IPv6);
  EXPECT_EQ(v6.host, "2001:db8::10");
  EXPECT_EQ(v6.port, 5070);
  EXPECT_EQ(v6.hostPort(), "[2001:db8::10]:5070");
  EXPECT_EQ(parseOk("sip:host.example.com.").host_kind, HostKind::Name);
}

TEST(UriTest, RejectsBadSipUris) {
  for (std::string_view bad : {"",
                               "sip:",
                               "<sip:user@example.com>",
                               " sip:a@b",
                               "sip:a@b c",
                               "sip:user@",
                               "sip:@host",
                               "sip:host:99999",
                               "sip:host:",
                               "sip:[2001:db8::1",
                               "sip:[zz::1]",
                               "sip:host;",
                               "sip:host;;a",
                               "sip:host?",
                               "sip:host?x",
                               "sip:a%zz@host",
                               "sip:a%4@host",
                               "sip:-host-",
                               "sip:256.1.1.1",
                               "sip:host..com",
                               "1sip:host",
                               "sip:user@example.com;lr SIP",
                               "sip:h;lr;LR",
                               "sip:h;maddr=a;m%61ddr=b"}) {
    EXPECT_FALSE(parseUri(bad).has_value()) << bad;
  }
}

TEST(UriTest, UnescapesUserWithoutTruncatingAtNul) {
  Uri u = parseOk("sip:null-%00-null@example.com");
  std::string user = u.userUnescaped();
  ASSERT_EQ(user.size(), 11u);
  EXPECT_EQ(user[5], '\0');
  EXPECT_EQ(user.substr(6), "-null");
  Uri esc = parseOk("sip:sips%3Auser%40example.com@example.net");
  EXPECT_EQ(esc.userUnescaped(), "sips:user@example.com");
  EXPECT_EQ(esc.host, "example.net");
}

TEST(UriTest, EscapedParamNamesMatchButValuesAreNotUnescapedTwice) {
  // RFC 4475 esc01: ;%6C%72 is "lr"; n%61me=v%61lue%25%34%31 is name="value%41", not "valueA".
  Uri u = parseOk("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
  EXPECT_TRUE(u.looseRouter());
  auto p = u.params.find("name");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(unescape(p->value), "value%41");
  EXPECT_NE(unescape(p->value), "valueA");
  EXPECT_EQ(u.userUnescaped(), "caller");
}

TEST(UriTest, UserPartMayHoldSemicolonsAndQuestionMarks) {
  Uri semi = parseOk("sip:user;par=u%40example.net@example.com");
  EXPECT_EQ(semi.userUnescaped(), "user;par=u@example.net");
  EXPECT_EQ(semi.host, "example.com");
  EXPECT_TRUE(semi.params.empty());
  Uri weird = parseOk(
      "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
      "(doesn't-it)@example.com");
  EXPECT_EQ(weird.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  EXPECT_EQ(weird.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  EXPECT_FALSE(weird.has_headers);
}

TEST(UriTest, ParsesTelUris) {
  Uri g = parseOk("tel:+1-201-555-0123;ext=1234");
  EXPECT_EQ(g.scheme, UriScheme::Tel);
  EXPECT_EQ(g.user, "+1-201-555-0123");
  EXPECT_TRUE(g.params.has("ext"));
  EXPECT_TRUE(parseUri("tel:7042;phone-context=example.com").has_value());
  EXPECT_FALSE(parseUri("tel:7042").has_value());  // local number needs phone-context
  EXPECT_FALSE(parseUri("tel:+1-abc").has_value());
}

TEST(UriTest, KeepsOtherSchemesOpaque) {
  Uri u = parseOk("nobodyknowsthisscheme:totallyopaquecontent");
  EXPECT_EQ(u.scheme, UriScheme::Other);
  EXPECT_EQ(u.opaque, "totallyopaquecontent");
  EXPECT_EQ(parseOk("isbn:2983792873").scheme, UriScheme::Other);
  EXPECT_EQ(parseOk("http://www.example.com").scheme, UriScheme::Other);
  EXPECT_FALSE(parseUri("http://exa mple.com").has_value());
  EXPECT_FALSE(parseUri("mailto:<x>").has_value());
}

bool eq(std::string_view a, std::string_view b) { return uriEquals(parseOk(a), parseOk(b)); }

TEST(UriTest, ComparesEquivalentUrisAsRfc3261Section19_1_4Says) {
  EXPECT_TRUE(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
  EXPECT_TRUE(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
  EXPECT_TRUE(eq("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
  EXPECT_TRUE(eq("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"));
  EXPECT_TRUE(eq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                 "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
  EXPECT_TRUE(eq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                 "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
  EXPECT_TRUE(eq("sip:[2001:db8::1]", "sip:[2001:0db8:0:0::1]"));
}

TEST(UriTest, ComparesDifferentUrisAsRfc3261Section19_1_4Says) {
  EXPECT_FALSE(eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
  EXPECT_FALSE(eq("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
  EXPECT_FALSE(eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
  EXPECT_FALSE(eq("sip:alice@example.com", "sips:alice@example.com"));
  EXPECT_FALSE(eq("sip:alice@example.com", "sip:alice@example.com;maddr=10.0.0.1"));
  EXPECT_FALSE(eq("sip:alice@example.com;user=phone", "sip:alice@example.com"));
  EXPECT_FALSE(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
}

TEST(UriTest, ComparesTelUrisIgnoringVisualSeparators) {
  EXPECT_TRUE(eq("tel:+1-201-555-0123", "tel:+1(201)5550123"));
  EXPECT_FALSE(eq("tel:+1-201-555-0123", "tel:+1-201-555-0124"));
  EXPECT_FALSE(eq("tel:+12015550123;ext=1", "tel:+12015550123"));
}

TEST(UriTest, ParsesPortsStrictly) {
  uint16_t port = 0;
  EXPECT_TRUE(parsePort("65535", &port));
  EXPECT_EQ(port, 65535);
  EXPECT_FALSE(parsePort("65536", &port));
  EXPECT_FALSE(parsePort("", &port));
  EXPECT_FALSE(parsePort("000001", &port));
  EXPECT_FALSE(parsePort("5o6", &port));
}

}  // namespace
}  // namespace herald::sip
