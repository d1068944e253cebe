#include "sip/parser/message_editor.h"

#include <gtest/gtest.h>

#include "sip/parser/message_parser.h"

namespace herald::sip {
namespace {

const std::string kRequest =
    "MESSAGE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP p1.example.org;branch=z9hG4bKp1, SIP/2.0/UDP "
    "ua.example.org;branch=z9hG4bKua\r\n"
    "Route: <sip:proxy.example.com;lr>, <sip:next.example.com;lr>\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.org>;tag=1\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: id1\r\n"
    "CSeq: 1 MESSAGE\r\n"
    "X-Custom:   kept   exactly  \r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 2\r\n"
    "\r\n"
    "hi";

SipMessage parseOk(std::string_view bytes) {
  auto m = MessageParser::parseDatagram(Buffer::copyOf(bytes));
  EXPECT_TRUE(m) << (m ? "" : m.error().toString());
  EXPECT_TRUE(validate(*m, Validation::Full));
  return std::move(*m);
}

TEST(MessageEditorTest, WithoutEditsReproducesTheBytes) {
  SipMessage msg = parseOk(kRequest);
  EXPECT_EQ(MessageEditor(msg).build(), kRequest);
}

TEST(MessageEditorTest, ProxyForwardingEdits) {
  SipMessage msg = parseOk(kRequest);
  MessageEditor ed(msg);
  ed.pushVia("SIP/2.0/TCP herald.example.com;branch=z9hG4bKh1");
  ASSERT_TRUE(ed.popRoute());
  ASSERT_TRUE(ed.decrementMaxForwards());
  ed.pushRecordRoute("<sip:herald.example.com;lr>");
  ed.setRequestUri("sip:bob@192.0.2.7:5070");
  std::string out = ed.build();
  SipMessage fwd = parseOk(out);
  EXPECT_EQ(fwd.requestLine().uri, "sip:bob@192.0.2.7:5070");
  auto vias = fwd.vias();
  ASSERT_EQ(vias->size(), 3u);
  EXPECT_EQ((*vias)[0].branch, "z9hG4bKh1");
  EXPECT_EQ((*vias)[1].branch, "z9hG4bKp1");
  auto routes = fwd.routes();
  ASSERT_EQ(routes->size(), 1u);
  EXPECT_EQ((*routes)[0].uri.host, "next.example.com");
  EXPECT_EQ(**fwd.maxForwards(), 69u);
  EXPECT_EQ((*fwd.recordRoutes())[0].uri.host, "herald.example.com");
  EXPECT_NE(out.find("X-Custom:   kept   exactly  \r\n"), std::string::npos);
  EXPECT_EQ(fwd.body(), "hi");
}

TEST(MessageEditorTest, PopsViasFromAListAndWholeLines) {
  SipMessage msg = parseOk(kRequest);
  MessageEditor one(msg);
  ASSERT_TRUE(one.popVia());
  SipMessage r1 = parseOk(one.build());
  ASSERT_EQ(r1.vias()->size(), 1u);
  EXPECT_EQ((*r1.topVia())->branch, "z9hG4bKua");
  EXPECT_NE(r1.bytes().find("Via: SIP/2.0/UDP ua.example.org"), std::string_view::npos);

  MessageEditor two(msg);
  ASSERT_TRUE(two.popVia());
  ASSERT_TRUE(two.popVia());
  EXPECT_FALSE(two.popVia());
  std::string out = two.build();
  EXPECT_EQ(out.find("Via:"), std::string::npos);

  SipMessage lines = parseOk(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP herald;branch=z9hG4bKh\r\nv: SIP/2.0/UDP "
      "ua;branch=z9hG4bKu\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\n"
      "Content-Length: 0\r\n\r\n");
  MessageEditor resp(lines);
  ASSERT_TRUE(resp.popVia());
  std::string r = resp.build();
  EXPECT_EQ(r.substr(0, 52), "SIP/2.0 200 OK\r\nv: SIP/2.0/UDP ua;branch=z9hG4bKu\r\nF");
}

TEST(MessageEditorTest, MaxForwardsZeroIsTooManyHops) {
  std::string zero = kRequest;
  zero.replace(zero.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  SipMessage msg = parseOk(zero);
  MessageEditor ed(msg);
  auto r = ed.decrementMaxForwards();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 483);
}

TEST(MessageEditorTest, AddsMaxForwardsAndContentLengthWhenAbsent) {
  SipMessage msg = parseOk(
      "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:c@d>\r\n"
      "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\nbody");
  MessageEditor ed(msg);
  ASSERT_TRUE(ed.decrementMaxForwards());
  auto fwd = MessageParser::parseStream(Buffer::copyOf(ed.build()));
  ASSERT_TRUE(fwd) << fwd.error().toString();
  EXPECT_EQ(**fwd->maxForwards(), 70u);
  EXPECT_EQ(fwd->contentLength(), 4u);
  EXPECT_EQ(fwd->body(), "body");
}

TEST(MessageEditorTest, ReplacesTheBody) {
  SipMessage msg = parseOk(kRequest);
  MessageEditor ed(msg);
  ed.setBody("application/pidf+xml", "<presence/>");
  ed.addHeader("X-Added", "yes");
  ed.removeHeaders(HeaderId::Route);
  SipMessage out = parseOk(ed.build());
  EXPECT_EQ(out.body(), "<presence/>");
  EXPECT_EQ(out.contentLength(), 11u);
  EXPECT_TRUE((*out.contentType())->is("application", "pidf+xml"));
  EXPECT_EQ(out.count(HeaderId::ContentType), 1u);
  EXPECT_EQ(out.find("X-Added")->value, "yes");
  EXPECT_EQ(out.find(HeaderId::Route), nullptr);
}

TEST(MessageEditorTest, ForkedCopiesAreIndependent) {
  SipMessage msg = parseOk(kRequest);
  MessageEditor base(msg);
  ASSERT_TRUE(base.decrementMaxForwards());
  MessageEditor a = base;
  MessageEditor b = base;
  a.setRequestUri("sip:bob@10.0.0.1");
  b.setRequestUri("sip:bob@10.0.0.2");
  EXPECT_EQ(parseOk(a.build()).requestLine().uri, "sip:bob@10.0.0.1");
  EXPECT_EQ(parseOk(b.build()).requestLine().uri, "sip:bob@10.0.0.2");
}

TEST(MessageEditorTest, BuildsResponses) {
  SipMessage msg = parseOk(kRequest);
  std::string resp =
      buildResponse(msg, ResponseSpec{200, "OK", "t9", "Server: herald\r\n", {}, {}});
  SipMessage r = parseOk(resp);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(r.vias()->size(), 2u);
  EXPECT_EQ((*r.to())->tag, "t9");
  EXPECT_EQ((*r.from())->tag, "1");
  EXPECT_EQ(*r.callId(), "id1");
  EXPECT_EQ((*r.cseq())->number, 1u);
  EXPECT_EQ(r.find(HeaderId::Server)->value, "herald");
  EXPECT_EQ(r.contentLength(), 0u);
  EXPECT_EQ(r.find(HeaderId::Route), nullptr);
  // 100 Trying never gets a To tag.
  SipMessage trying = parseOk(buildResponse(msg, ResponseSpec{100, "Trying", "t9", {}, {}, {}}));
  EXPECT_EQ((*trying.to())->tag, "");
}

}  // namespace
}  // namespace herald::sip

namespace herald::sip {
namespace {

// The top Via of kRequest (p1.example.org, a name) as a request from `via` arriving from
// `source`.
SipMessage requestWithVia(std::string_view via) {
  std::string text = kRequest;
  size_t b = text.find("Via: ") + 5;
  size_t e = text.find(", SIP/2.0/UDP ua.example.org");
  text.replace(b, e - b, via);
  return parseOk(text);
}

TEST(ReceivedTest, AddsReceivedAndRportAndCarriesThemIntoResponsesAndForwards) {
  SipMessage msg = requestWithVia("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa;rport");
  ASSERT_TRUE(annotateReceivedFrom(msg, *Endpoint::parse("192.0.2.9:40000")));
  EXPECT_EQ(msg.topViaRewrite(),
            "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa;received=192.0.2.9;rport=40000");
  ResponseSpec spec;
  std::string resp = buildResponse(msg, spec);
  EXPECT_NE(resp.find("Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa;received=192.0.2.9;"
                      "rport=40000, SIP/2.0/UDP ua.example.org;branch=z9hG4bKua\r\n"),
            std::string::npos)
      << resp;
  auto parsed = MessageParser::parseDatagram(Buffer::copyOf(resp));
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(validate(*parsed, Validation::Full));
  EXPECT_EQ((*(*parsed).topVia())->rport, 40000);

  MessageEditor ed(msg);
  ed.pushVia("SIP/2.0/UDP proxy.example.com;branch=z9hG4bKx");
  std::string fwd = ed.build();
  EXPECT_NE(fwd.find("Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKx\r\n"
                     "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa;received=192.0.2.9;"
                     "rport=40000, SIP/2.0/UDP ua.example.org;branch=z9hG4bKua\r\n"),
            std::string::npos)
      << fwd;
}

TEST(ReceivedTest, SentByNameGetsReceived) {
  SipMessage msg = requestWithVia("SIP/2.0/TCP ua.example.net ;branch=z9hG4bKa ; x");
  ASSERT_TRUE(annotateReceivedFrom(msg, *Endpoint::parse("192.0.2.9:5060")));
  EXPECT_EQ(msg.topViaRewrite(), "SIP/2.0/TCP ua.example.net;branch=z9hG4bKa;x;received=192.0.2.9");
}

TEST(ReceivedTest, MatchingSentByWithoutRportIsLeftAlone) {
  SipMessage msg = requestWithVia("SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKa");
  // The port does not matter for received (§18.2.1 compares the address).
  EXPECT_FALSE(annotateReceivedFrom(msg, *Endpoint::parse("192.0.2.9:5060")));
  EXPECT_TRUE(msg.topViaRewrite().empty());
  EXPECT_EQ(MessageEditor(msg).build(), std::string(msg.buffer()));
  // A received that already names the source is left too.
  SipMessage named = requestWithVia("SIP/2.0/UDP a.example;branch=z9hG4bKa;received=192.0.2.9");
  EXPECT_FALSE(annotateReceivedFrom(named, *Endpoint::parse("192.0.2.9:5060")));
}

TEST(ReceivedTest, ReplacesAWrongReceivedAndHandlesIpv6) {
  SipMessage msg =
      requestWithVia("SIP/2.0/UDP [2001:db8::1]:5060;received=10.1.1.1;branch=z9hG4bKa;rport");
  ASSERT_TRUE(annotateReceivedFrom(msg, *Endpoint::parse("[2001:db8::2]:6000")));
  EXPECT_EQ(msg.topViaRewrite(),
            "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa;received=2001:db8::2;rport=6000");
  // The same address written differently is the same address.
  SipMessage same = requestWithVia("SIP/2.0/UDP [2001:DB8:0::1];branch=z9hG4bKa");
  EXPECT_FALSE(annotateReceivedFrom(same, *Endpoint::parse("[2001:db8::1]:5060")));
}

TEST(MessageBuildersTest, AckAndCancelCopyTheRightHeaders) {
  SipMessage invite = parseOk(
      "INVITE sip:bob@192.0.2.4 SIP/2.0\r\nVia: SIP/2.0/UDP herald;branch=z9hG4bKh1\r\n"
      "Via: SIP/2.0/UDP ua;branch=z9hG4bKua\r\nRoute: <sip:p2;lr>\r\nMax-Forwards: 69\r\n"
      "From: <sip:alice@a.example>;tag=f1\r\nTo: <sip:bob@b.example>\r\nCall-ID: c1\r\n"
      "CSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n");
  SipMessage busy = parseOk(
      "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP herald;branch=z9hG4bKh1\r\n"
      "Via: SIP/2.0/UDP ua;branch=z9hG4bKua\r\nFrom: <sip:alice@a.example>;tag=f1\r\n"
      "To: <sip:bob@b.example>;tag=t2\r\nCall-ID: c1\r\nCSeq: 7 INVITE\r\nContent-Length: "
      "0\r\n\r\n");
  SipMessage ack = parseOk(buildAckForNon2xx(invite, busy));
  EXPECT_EQ(ack.method(), Method::Ack);
  EXPECT_EQ(ack.requestLine().uri, "sip:bob@192.0.2.4");
  EXPECT_EQ(ack.vias()->size(), 1u);
  EXPECT_EQ((*ack.topVia())->branch, "z9hG4bKh1");
  EXPECT_EQ((*ack.to())->tag, "t2");
  EXPECT_EQ((*ack.cseq())->number, 7u);
  EXPECT_EQ((*ack.cseq())->method, Method::Ack);
  EXPECT_EQ(ack.routes()->size(), 1u);

  SipMessage cancel = parseOk(buildCancel(invite));
  EXPECT_EQ(cancel.method(), Method::Cancel);
  EXPECT_EQ((*cancel.topVia())->branch, "z9hG4bKh1");
  EXPECT_EQ((*cancel.to())->tag, "");
  EXPECT_EQ((*cancel.cseq())->method, Method::Cancel);
  EXPECT_EQ(*cancel.callId(), "c1");
}

}  // namespace
}  // namespace herald::sip
