#include "sip/message/header_types.h"

#include <gtest/gtest.h>

namespace herald::sip {
namespace {

TEST(HeaderTypesTest, ParsesCSeq) {
  auto c = parseCSeq("0009\r\n  INVITE");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->number, 9u);
  EXPECT_EQ(c->method, Method::Invite);
  auto max = parseCSeq("4294967295 REGISTER");
  ASSERT_TRUE(max);
  EXPECT_EQ(max->number, 4294967295u);
  auto odd = parseCSeq("139122385 !interesting-Method0123456789_*+`.%indeed'~");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->method, Method::Unknown);
  EXPECT_EQ(odd->method_text, "!interesting-Method0123456789_*+`.%indeed'~");
  EXPECT_FALSE(parseCSeq("36893488147419103232 REGISTER"));
  EXPECT_FALSE(parseCSeq("4294967296 REGISTER"));
  EXPECT_FALSE(parseCSeq("12INVITE"));
  EXPECT_FALSE(parseCSeq("12 INVITE x"));
  EXPECT_FALSE(parseCSeq("-1 INVITE"));
  EXPECT_EQ(parseCSeq("x").error().reason, "Bad CSeq");
}

TEST(HeaderTypesTest, ParsesDecimalValues) {
  EXPECT_EQ(*parseDecimalValue("0068", 255), 68u);
  EXPECT_FALSE(parseDecimalValue("300", 255));
  EXPECT_FALSE(parseDecimalValue("-999", 0xFFFFFFFFu));
  EXPECT_FALSE(parseDecimalValue("five", 0xFFFFFFFFu));
  EXPECT_FALSE(parseDecimalValue("", 10));
  EXPECT_FALSE(parseDecimalValue(std::string(200, '1'), 0xFFFFFFFFu));
}

TEST(HeaderTypesTest, ParsesCallIds) {
  EXPECT_EQ(*parseCallId(" a84b4c76e66710@pc33.atlanta.com "), "a84b4c76e66710@pc33.atlanta.com");
  EXPECT_TRUE(parseCallId("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"));
  EXPECT_FALSE(parseCallId(""));
  EXPECT_FALSE(parseCallId("a b"));
  EXPECT_FALSE(parseCallId("a@"));
  EXPECT_FALSE(parseCallId("a@b@c"));
}

TEST(HeaderTypesTest, ParsesMediaTypes) {
  auto mt = parseMediaType("application/pidf+xml ; charset=\"utf-8\"");
  ASSERT_TRUE(mt);
  EXPECT_TRUE(mt->is("Application", "PIDF+XML"));
  EXPECT_EQ(mt->params.find("charset")->unquotedValue(), "utf-8");
  EXPECT_FALSE(parseMediaType("text"));
  EXPECT_FALSE(parseMediaType("text/"));
  std::vector<MediaType> list;
  ASSERT_TRUE(parseMediaTypeList(
      "application/sdp, application/pkcs7-mime,\r\n        multipart/mixed, */*;q=0.1", &list));
  EXPECT_EQ(list.size(), 4u);
  EXPECT_EQ(list[3].type, "*");
}

TEST(HeaderTypesTest, ParsesEventAndSubscriptionState) {
  auto e = parseEvent("presence.winfo;id=12");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->package, "presence.winfo");
  EXPECT_EQ(e->id(), "12");
  EXPECT_FALSE(parseEvent(""));
  auto s = parseSubscriptionState("terminated;reason=timeout;retry-after=30");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, "terminated");
  EXPECT_EQ(s->reason, "timeout");
  EXPECT_EQ(s->retry_after, 30u);
  EXPECT_FALSE(parseSubscriptionState("active;expires=never"));
}

TEST(HeaderTypesTest, ParsesTokenLists) {
  std::vector<std::string_view> out;
  ASSERT_TRUE(parseTokenList("nothingSupportsThis, nothingSupportsThisEither", &out));
  EXPECT_EQ(out.size(), 2u);
  std::vector<std::string_view> empty;
  ASSERT_TRUE(parseTokenList("", &empty));
  EXPECT_TRUE(empty.empty());
  EXPECT_FALSE(parseTokenList("a,,b", &out));
  EXPECT_FALSE(parseTokenList("a b", &out));
}

TEST(HeaderTypesTest, ParsesAuthHeaders) {
  auto a = parseAuthHeader(
      "Digest username=\"bob\", realm=\"biloxi.com\",\r\n nonce=\"dcd98b\", "
      "uri=\"sip:bob@biloxi.com\","
      " qop=auth, nc=00000001, algorithm=SHA-256");
  ASSERT_TRUE(a) << a.error().toString();
  EXPECT_EQ(a->scheme, "Digest");
  EXPECT_EQ(a->find("realm")->unquotedValue(), "biloxi.com");
  EXPECT_EQ(a->find("QOP")->value, "auth");
  EXPECT_EQ(a->find("algorithm")->value, "SHA-256");
  EXPECT_FALSE(a->find("cnonce"));
  int n = 0;
  a->forEach([&n](const Param&) { ++n; });
  EXPECT_EQ(n, 7);
  auto unknown = parseAuthHeader("NoOneKnowsThisScheme opaque-data=here");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->find("opaque-data")->value, "here");
  EXPECT_FALSE(parseAuthHeader("Digest realm=\"unterminated"));
  EXPECT_FALSE(parseAuthHeader("Digest realm=a,,nonce=b"));
}

}  // namespace
}  // namespace herald::sip
