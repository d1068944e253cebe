#include "sip/message/name_addr.h"

#include <gtest/gtest.h>

namespace herald::sip {
namespace {

TEST(NameAddrTest, ParsesQuotedDisplayNameAndTag) {
  auto na =
      parseNameAddr(R"("J Rosenberg \\\""       <sip:jdrosen@example.com>  ;  tag = 98asjd8)");
  ASSERT_TRUE(na) << na.error().toString();
  EXPECT_EQ(na->display_name, R"("J Rosenberg \\\"")");
  EXPECT_EQ(na->displayNameUnquoted(), R"(J Rosenberg \")");
  EXPECT_EQ(na->uri.user, "jdrosen");
  EXPECT_TRUE(na->bracketed);
  EXPECT_EQ(na->tag, "98asjd8");
}

TEST(NameAddrTest, ParsesTokenDisplayNames) {
  auto na = parseNameAddr("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;tag=x");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->display_name, "token1~` token2'+_ token3*%!.-");
  // RFC 4475 lwsdisp: no space before '<'.
  auto tight = parseNameAddr("caller<sip:caller@example.com>;tag=323");
  ASSERT_TRUE(tight);
  EXPECT_EQ(tight->display_name, "caller");
  EXPECT_EQ(tight->tag, "323");
}

TEST(NameAddrTest, AddrSpecParametersBelongToTheHeader) {
  // RFC 3261 §20.10 / RFC 4475 cparam01.
  auto na = parseNameAddr("sip:+19725552222@gw1.example.net;unknownparam");
  ASSERT_TRUE(na);
  EXPECT_FALSE(na->bracketed);
  EXPECT_TRUE(na->uri.params.empty());
  EXPECT_TRUE(na->params.has("unknownparam"));
  auto in_uri = parseNameAddr("<sip:+19725552222@gw1.example.net;unknownparam>");
  ASSERT_TRUE(in_uri);
  EXPECT_TRUE(in_uri->uri.params.has("unknownparam"));
  EXPECT_TRUE(in_uri->params.empty());
}

TEST(NameAddrTest, ParsesFoldedValues) {
  auto na = parseNameAddr("\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->tag, "1918181833n");
}

TEST(NameAddrTest, RejectsMalformedAddresses) {
  for (std::string_view bad : {
           R"("Mr. J. User <sip:j.user@example.com>)",              // quotbal
           R"("Watson, Thomas" < sip:t.watson@example.org >)",      // badaspec
           "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",     // baddn
           "sip:user@example.com?Route=%3Csip:sip.example.com%3E",  // regbadct
           "<sip:a@b",
           "\"x\" sip:a@b",
           "<sip:a@b>;",
           "<sip:a@b>;tag=",
           "<sip:a@b> junk",
           "",
       }) {
    EXPECT_FALSE(parseNameAddr(bad).has_value()) << bad;
  }
}

TEST(NameAddrTest, ParsesLists) {
  std::vector<NameAddr> out;
  ASSERT_TRUE(parseNameAddrList("<sip:p1.example.com;lr>, <sip:p2.example.com;lr>,\r\n <sip:p3>",
                                AddrForm::NameAddrOnly, &out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].uri.host, "p2.example.com");
  EXPECT_EQ(out[0].raw, "<sip:p1.example.com;lr>");
  std::vector<NameAddr> bad;
  EXPECT_FALSE(parseNameAddrList("sip:p1.example.com", AddrForm::NameAddrOnly, &bad));
  EXPECT_FALSE(parseNameAddrList("<sip:a>,", AddrForm::NameAddrOnly, &bad));
  EXPECT_FALSE(parseNameAddrList("<sip:a>,,<sip:b>", AddrForm::NameAddrOnly, &bad));
}

TEST(NameAddrTest, ParsesContacts) {
  std::vector<Contact> out;
  ASSERT_TRUE(parseContactList(
      "\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n"
      "  secondparam ; q = 0.33, <sip:b@example.com>;expires=3600",
      &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].q, 330);
  EXPECT_FALSE(out[0].expires);
  EXPECT_TRUE(out[0].addr.params.has("secondparam"));
  EXPECT_EQ(out[1].expires, 3600u);

  std::vector<Contact> star;
  ASSERT_TRUE(parseContactList(" * ", &star));
  ASSERT_EQ(star.size(), 1u);
  EXPECT_TRUE(star[0].star);

  std::vector<Contact> bad;
  EXPECT_FALSE(parseContactList("*, <sip:a@b>", &bad));
  EXPECT_FALSE(parseContactList("<sip:a@b>;q=1.5", &bad));
  EXPECT_FALSE(parseContactList("<sip:a@b>;q=0.1234", &bad));
  EXPECT_FALSE(parseContactList("<sip:a@b>;expires=280297596632815", &bad));
  EXPECT_FALSE(parseContactList("\"Joe\" <sip:joe@example.org>;;;;", &bad));
}

}  // namespace
}  // namespace herald::sip
