#include "sip/parser/message_parser.h"

#include <gtest/gtest.h>

namespace herald::sip {
namespace {

constexpr std::string_view kMessage =
    "MESSAGE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP client.example.org:5060;branch=z9hG4bK776sgdkse, SIP/2.0/UDP "
    "p1.example.org;branch=z9hG4bK1\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:alice@example.org>;tag=49583\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: asd88asd77a@1.2.3.4\r\n"
    "CSeq: 1 MESSAGE\r\n"
    "Route: <sip:proxy.example.com;lr>\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 18\r\n"
    "\r\n"
    "Watson, come here.";

ParseResult<SipMessage> parse(std::string_view bytes, const ParserLimits& limits = {}) {
  return MessageParser::parseDatagram(Buffer::copyOf(bytes), limits);
}

TEST(MessageParserTest, IndexesARequest) {
  auto msg = parse(kMessage);
  ASSERT_TRUE(msg) << msg.error().toString();
  ASSERT_TRUE(validate(*msg, Validation::Full));
  EXPECT_TRUE(msg->isRequest());
  EXPECT_EQ(msg->method(), Method::Message);
  EXPECT_EQ(msg->requestLine().uri, "sip:bob@example.com");
  EXPECT_EQ(msg->headers().size(), 9u);
  EXPECT_EQ(msg->body(), "Watson, come here.");
  EXPECT_EQ(msg->contentLength(), 18u);
  EXPECT_EQ((*msg->requestUri())->user, "bob");
  EXPECT_EQ((*msg->vias()).size(), 2u);
  EXPECT_EQ((*msg->topVia())->branch, "z9hG4bK776sgdkse");
  EXPECT_EQ((*msg->from())->displayNameUnquoted(), "Alice");
  EXPECT_EQ(*msg->callId(), "asd88asd77a@1.2.3.4");
  EXPECT_EQ((*msg->cseq())->method, Method::Message);
  EXPECT_EQ((*msg->routes())[0].uri.host, "proxy.example.com");
  EXPECT_TRUE((*msg->contentType())->is("text", "plain"));
  EXPECT_EQ(msg->bytes(), kMessage);
}

TEST(MessageParserTest, TypedValuesPointIntoTheMessageBuffer) {
  auto msg = parse(kMessage);
  ASSERT_TRUE(msg);
  std::string_view buf = msg->buffer();
  std::string_view branch = (*msg->topVia())->branch;
  EXPECT_GE(branch.data(), buf.data());
  EXPECT_LE(branch.data() + branch.size(), buf.data() + buf.size());
  // Cached: the second call returns the same object.
  EXPECT_EQ(*msg->topVia(), *msg->topVia());
  // Moving the message keeps the views valid.
  SipMessage moved = std::move(*msg);
  EXPECT_EQ((*moved.topVia())->branch, "z9hG4bK776sgdkse");
}

TEST(MessageParserTest, ParsesResponses) {
  auto msg = parse(
      "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n"
      "To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(msg);
  ASSERT_TRUE(validate(*msg, Validation::Full));
  EXPECT_TRUE(msg->isResponse());
  EXPECT_EQ(msg->statusCode(), 180);
  EXPECT_EQ(msg->statusLine().reason, "Ringing");
  auto no_reason = parse("SIP/2.0 200\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(no_reason);
  EXPECT_EQ(no_reason->statusLine().reason, "");
}

TEST(MessageParserTest, AcceptsBareLineFeeds) {
  auto msg = parse(
      "OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\nFrom: <sip:a@b>;tag=1\n"
      "To: <sip:c@d>\nCall-ID: x\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n");
  ASSERT_TRUE(msg) << msg.error().toString();
  EXPECT_TRUE(validate(*msg, Validation::Full));
  EXPECT_EQ(*msg->callId(), "x");
}

TEST(MessageParserTest, SkipsLeadingLineEnds) {
  std::string bytes = "\r\n\r\n" + std::string(kMessage);
  auto msg = parse(bytes);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->begin(), 4u);
  EXPECT_EQ(msg->bytes(), kMessage);
}

struct BadCase {
  std::string_view bytes;
  int status;
  std::string_view reason;
};

TEST(MessageParserTest, RejectsBrokenFramingWithAFittingStatus) {
  const BadCase cases[] = {
      {"", 400, "Bad Request"},
      {"\r\n\r\n", 400, "Bad Request"},
      {"OPTIONS sip:a@b SIP/2.0", 400, "Bad Request"},
      {"OPTIONS sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\n", 400, "Bad Request"},
      {"OPTIONS sip:a@b SIP/3.0\r\n\r\n", 505, "Version Not Supported"},
      {"OPTIONS sip:a@b HTTP/1.1\r\n\r\n", 400, "Bad Request-Line"},
      {"OPTIONS  sip:a@b SIP/2.0\r\n\r\n", 400, "Bad Request-Line"},
      {"OPT(IONS sip:a@b SIP/2.0\r\n\r\n", 400, "Bad Request-Line"},
      {"OPTIONS sip:a@b\x01 SIP/2.0\r\n\r\n", 400, "Bad Request-Line"},
      {"SIP/2.0 99 Odd\r\n\r\n", 400, "Bad Status-Line"},
      {"SIP/2.0 700 Odd\r\n\r\n", 400, "Bad Status-Line"},
      {"SIP/2.0 2000 Odd\r\n\r\n", 400, "Bad Status-Line"},
      {"SIP/2.0 200 O\x01K\r\n\r\n", 400, "Bad Status-Line"},
      {"OPTIONS sip:a@b SIP/2.0\r\n folded: x\r\n\r\n", 400, "Bad Header"},
      {"OPTIONS sip:a@b SIP/2.0\r\nNoColon\r\n\r\n", 400, "Bad Header"},
      {"OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n", 400, "Bad Header"},
      {"OPTIONS sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n", 400, "Bad Header"},
      {"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nabc", 400, "Bad Content-Length"},
      {"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\nab", 400, "Bad Content-Length"},
      {"OPTIONS sip:a@b SIP/2.0\r\nl: x\r\n\r\n", 400, "Bad Content-Length"},
  };
  for (const auto& c : cases) {
    auto msg = parse(c.bytes);
    ASSERT_FALSE(msg) << c.bytes;
    EXPECT_EQ(msg.error().status, c.status) << c.bytes;
    EXPECT_EQ(msg.error().reason, c.reason) << c.bytes << " -> " << msg.error().toString();
  }
}

TEST(MessageParserTest, AppliesLimits) {
  ParserLimits limits;
  limits.max_message_bytes = 1024;
  limits.max_header_count = 4;
  limits.max_line_bytes = 64;
  std::string big(2000, 'x');
  EXPECT_EQ(parse("OPTIONS sip:a@b SIP/2.0\r\nX: " + big + "\r\n\r\n", limits).error().status, 513);
  EXPECT_EQ(parse("OPTIONS sip:a@b SIP/2.0\r\nX: " + std::string(100, 'y') + "\r\n\r\n", limits)
                .error()
                .status,
            513);
  EXPECT_EQ(parse("OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n", limits)
                .error()
                .status,
            513);
  EXPECT_EQ(parse("OPTIONS sip:a@b SIP/2.0\r\nl: 4000\r\n\r\n", limits).error().status, 413);
  EXPECT_TRUE(parse("OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", limits));
}

TEST(MessageParserTest, ValidationChecksMandatoryAndSingleHeaders) {
  const std::string base =
      "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n";
  auto ok = parse(base + "\r\n");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(validate(*ok, Validation::Full));

  struct Case {
    std::string extra;
    std::string_view reason;
  };
  const Case cases[] = {
      {"To: <sip:e@f>\r\n", "Bad To"},
      {"Max-Forwards: 256\r\n", "Bad Max-Forwards"},
      {"Max-Forwards: 1\r\nMax-Forwards: 2\r\n", "Bad Max-Forwards"},
      {"Contact: <sip:a@b>;expires=x\r\n", "Bad Contact"},
      {"Route: sip:p1\r\n", "Bad Route"},
      {"Record-Route: <sip:p1\r\n", "Bad Record-Route"},
      {"Content-Type: text\r\n", "Bad Content-Type"},
      {"Expires: soon\r\n", "Bad Expires"},
      {"Event: ;x\r\n", "Bad Event"},
      {"Require: a b\r\n", "Bad Require"},
      {"Authorization: Digest realm=\"x\r\n", "Bad Authorization"},
      {"Accept: text\r\n", "Bad Accept"},
  };
  for (const auto& c : cases) {
    auto msg = parse(base + c.extra + "\r\n");
    ASSERT_TRUE(msg) << c.extra;
    auto v = validate(*msg, Validation::Full);
    ASSERT_FALSE(v) << c.extra;
    EXPECT_EQ(v.error().reason, c.reason) << c.extra << " -> " << v.error().toString();
  }
  // Basic validation leaves the rarely used headers for later.
  auto lazy = parse(base + "Expires: soon\r\n\r\n");
  EXPECT_TRUE(validate(*lazy, Validation::Basic));

  auto missing = parse("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:c@d>\r\n\r\n");
  auto v = validate(*missing, Validation::Basic);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().reason, "Bad From");
  EXPECT_EQ(v.error().detail, "missing mandatory header");
}

}  // namespace
}  // namespace herald::sip
