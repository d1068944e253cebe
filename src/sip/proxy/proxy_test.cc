// Proxy core with a fake transport: requests in, what goes out, contexts and transactions
// cleaned up afterwards.

#include "sip/proxy/proxy.h"

#include <gtest/gtest.h>

#include "sip/parser/message_editor.h"
#include "sip/parser/message_parser.h"

namespace herald::sip {
namespace {

struct Sent {
  SendTarget to;
  std::string bytes;
  TxId tx;
};

class FakeSender : public MessageSender {
 public:
  void send(const SendTarget& to, const SharedBytes& bytes, TxId tx) override {
    sent.push_back({to, *bytes, tx});
  }
  std::vector<Sent> sent;
};

// Forwards everything for example.com to the targets it is given; replies otherwise.
class TestRouter : public RequestRouter {
 public:
  void route(Proxy& proxy, RequestContext& ctx) override {
    ++routed;
    if (reply_code != 0) {
      proxy.reply(ctx, reply_code, "Local");
      return;
    }
    if (in_turn) {
      proxy.forwardInTurn(ctx, targets, hook, turn);
    } else {
      proxy.forward(ctx, targets, hook);
    }
  }
  bool in_turn = false;
  TurnOptions turn;
  std::vector<Proxy::Target> targets;
  Proxy::FinalHook hook;
  uint16_t reply_code = 0;
  int routed = 0;
};

std::unique_ptr<SipMessage> parse(std::string_view bytes) {
  auto m = MessageParser::parseDatagram(Buffer::copyOf(bytes));
  EXPECT_TRUE(m) << (m ? "" : m.error().toString()) << "\n" << bytes;
  EXPECT_TRUE(validate(*m, Validation::Basic));
  return std::make_unique<SipMessage>(std::move(*m));
}

SendTarget target(Transport t, std::string_view ep) {
  SendTarget to;
  to.transport = t;
  to.endpoint = *Endpoint::parse(ep);
  return to;
}

std::string request(std::string_view method, std::string_view branch, int max_forwards = 70,
                    std::string_view extra = "") {
  return std::string(method) +
         " sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5070;branch=" +
         std::string(branch) + ";rport\r\nMax-Forwards: " + std::to_string(max_forwards) +
         "\r\nFrom: <sip:alice@example.com>;tag=f1\r\nTo: <sip:bob@example.com>\r\n"
         "Call-ID: c-" +
         std::string(branch) + "\r\nCSeq: 1 " + std::string(method) + "\r\n" + std::string(extra) +
         "Content-Length: 0\r\n\r\n";
}

// The response a UA sends to a request we forwarded: its Via lines copied, a To tag.
std::string answer(const std::string& forwarded, int code) {
  auto req = parse(forwarded);
  return buildResponse(*req, ResponseSpec{static_cast<uint16_t>(code), "X", "totag", {}, {}, {}});
}

class ProxyTest : public ::testing::Test {
 protected:
  ProxyTest()
      : tm_(clock_, TimerConfig{}, sender_, 0),
        local_({{Transport::Udp, *Endpoint::parse("127.0.0.1:5060")},
                {Transport::Tcp, *Endpoint::parse("127.0.0.1:5060")}},
               {"herald.example.com"}),
        proxy_(tm_, local_, ProxyConfig{}, router_, clock_, resolver_) {
    tm_.setUser(&proxy_);
  }

  Origin udpFrom(std::string_view ep) {
    Origin o;
    o.source = *Endpoint::parse(ep);
    o.local = *Endpoint::parse("127.0.0.1:5060");
    return o;
  }
  void receive(const std::string& bytes) {
    tm_.receiveRequest(parse(bytes), udpFrom("192.0.2.9:5070"));
  }
  void respond(const std::string& bytes) {
    tm_.receiveResponse(parse(bytes), udpFrom("192.0.2.7:5060"));
  }
  void advance(int ms) {
    for (int i = 0; i < ms; i += 10) {
      clock_.advance(Duration(10));
      tm_.advance(clock_.now());
      proxy_.onTick(clock_.now());
    }
  }
  std::vector<int> codesSentUpstream() {
    std::vector<int> codes;
    for (const auto& s : sender_.sent) {
      if (s.bytes.rfind("SIP/2.0 ", 0) == 0) codes.push_back(std::stoi(s.bytes.substr(8, 3)));
    }
    return codes;
  }

  FakeClock clock_;
  FakeSender sender_;
  TestRouter router_;
  NextHopResolver resolver_;
  TransactionManager tm_;
  LocalAddresses local_;
  Proxy proxy_;
};

TEST_F(ProxyTest, ForwardsAndRelaysTheAnswerThenForgetsEverything) {
  for (Transport t : {Transport::Udp, Transport::Tcp}) {
    SCOPED_TRACE(static_cast<int>(t));
    sender_.sent.clear();
    router_.targets = {{"sip:bob@192.0.2.7", target(t, "192.0.2.7:5060")}};
    std::string branch = t == Transport::Udp ? "z9hG4bKu1" : "z9hG4bKt1";
    receive(request("MESSAGE", branch));
    ASSERT_EQ(sender_.sent.size(), 1u);
    auto fwd = parse(sender_.sent[0].bytes);
    EXPECT_EQ(fwd->requestLine().uri, "sip:bob@192.0.2.7");
    EXPECT_EQ(fwd->vias()->size(), 2u);
    EXPECT_EQ(**fwd->maxForwards(), 69u);
    EXPECT_EQ(fwd->find(HeaderId::RecordRoute), nullptr) << "MESSAGE creates no dialog";
    std::string top = std::string((*fwd->topVia())->host);
    EXPECT_EQ(top, "127.0.0.1");
    respond(answer(sender_.sent[0].bytes, 200));
    ASSERT_EQ(sender_.sent.size(), 2u);
    auto up = parse(sender_.sent[1].bytes);
    EXPECT_EQ(up->statusCode(), 200);
    EXPECT_EQ(up->vias()->size(), 1u) << "our Via is removed";
    EXPECT_EQ(proxy_.activeContexts(), 0u);
  }
  advance(40000);
  EXPECT_EQ(tm_.liveTransactions(), 0u);
}

TEST_F(ProxyTest, RelaysAnswersWhoseViasShareOneLine) {
  // SIPp's [last_Via:] puts every Via value on one line.
  router_.targets = {{"sip:bob@192.0.2.7", target(Transport::Tcp, "192.0.2.7:5060")}};
  receive(request("MESSAGE", "z9hG4bKone"));
  auto fwd = parse(sender_.sent[0].bytes);
  auto vias = fwd->vias();
  std::string line = "Via: " + std::string((*vias)[0].raw) + ", " + std::string((*vias)[1].raw);
  std::string resp =
      "SIP/2.0 200 OK\r\n" + line +
      "\r\nFrom: <sip:alice@example.com>;tag=f1\r\nTo: <sip:bob@example.com>;tag=x\r\n"
      "Call-ID: c-z9hG4bKone\r\nCSeq: 1 MESSAGE\r\nServer: sipp\r\nContent-Length: 0\r\n\r\n";
  respond(resp);
  ASSERT_EQ(codesSentUpstream(), std::vector<int>{200});
  auto up = parse(sender_.sent.back().bytes);
  EXPECT_EQ(up->vias()->size(), 1u);
  EXPECT_EQ((*up->topVia())->branch, "z9hG4bKone");
  EXPECT_EQ(proxy_.activeContexts(), 0u);
  advance(100);
  EXPECT_EQ(tm_.clientCount(), 0u);
}

TEST_F(ProxyTest, RejectsWhatSection16_3Rejects) {
  router_.targets = {{"sip:bob@192.0.2.7", target(Transport::Udp, "192.0.2.7:5060")}};
  receive(request("OPTIONS", "z9hG4bKmf", 0));
  receive(request("OPTIONS", "z9hG4bKpr", 70, "Proxy-Require: foo, bar\r\n"));
  std::string odd = request("OPTIONS", "z9hG4bKsc");
  odd.replace(odd.find("sip:bob@example.com SIP"), 23, "mailto:bob@example.com SIP");
  receive(odd);
  EXPECT_EQ(codesSentUpstream(), (std::vector<int>{483, 420, 416}));
  EXPECT_NE(sender_.sent[1].bytes.find("Unsupported: foo, bar\r\n"), std::string::npos);
  EXPECT_EQ(router_.routed, 0);
  EXPECT_EQ(proxy_.activeContexts(), 0u);
}

TEST_F(ProxyTest, DetectsLoopsThroughItsOwnBranch) {
  router_.targets = {{"sip:bob@example.com", target(Transport::Udp, "127.0.0.1:5060")}};
  receive(request("MESSAGE", "z9hG4bKloop"));
  ASSERT_EQ(sender_.sent.size(), 1u);
  // The request comes back unchanged (same Request-URI): a loop.
  std::string back = sender_.sent[0].bytes;
  tm_.receiveRequest(parse(back), udpFrom("127.0.0.1:5060"));
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{482});
}

TEST_F(ProxyTest, PicksTheBestFinalResponseAndConverts503) {
  router_.targets = {{"sip:bob@192.0.2.7", target(Transport::Udp, "192.0.2.7:5060")},
                     {"sip:bob@192.0.2.8", target(Transport::Udp, "192.0.2.8:5060")}};
  receive(request("MESSAGE", "z9hG4bKfork"));
  ASSERT_EQ(sender_.sent.size(), 2u);
  respond(answer(sender_.sent[0].bytes, 503));
  EXPECT_TRUE(codesSentUpstream().empty()) << "waits for the other branch";
  respond(answer(sender_.sent[1].bytes, 486));
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{486});

  sender_.sent.clear();
  receive(request("MESSAGE", "z9hG4bKfork2"));
  respond(answer(sender_.sent[0].bytes, 503));
  respond(answer(sender_.sent[1].bytes, 503));
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{500}) << "a 503 is never forwarded";
  EXPECT_EQ(proxy_.activeContexts(), 0u);
}

TEST_F(ProxyTest, FirstTwoHundredWinsForNonInvite) {
  router_.targets = {{"sip:bob@192.0.2.7", target(Transport::Udp, "192.0.2.7:5060")},
                     {"sip:bob@192.0.2.8", target(Transport::Udp, "192.0.2.8:5060")}};
  receive(request("MESSAGE", "z9hG4bKwin"));
  respond(answer(sender_.sent[1].bytes, 200));
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{200});
  respond(answer(sender_.sent[0].bytes, 200));
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{200}) << "the second 2xx is not relayed";
  EXPECT_EQ(proxy_.activeContexts(), 0u);
}

TEST_F(ProxyTest, TimeoutBecomes408AndHookMayTakeOver) {
  router_.targets = {{"sip:bob@192.0.2.7", target(Transport::Udp, "192.0.2.7:5060")}};
  int hooked = 0;
  router_.hook = [&](RequestContext& ctx, uint16_t best) {
    ++hooked;
    EXPECT_EQ(best, 408);
    proxy_.reply(ctx, 202, "Accepted");
    return false;
  };
  receive(request("MESSAGE", "z9hG4bKto"));
  advance(33000);
  EXPECT_EQ(hooked, 1);
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{202});
  EXPECT_EQ(proxy_.activeContexts(), 0u);
}

class ProxyInTurnTest : public ProxyTest {
 protected:
  ProxyInTurnTest() {
    router_.in_turn = true;
    router_.turn.no_answer = Duration(1000);
    router_.turn.on_failed = [this](const ProxyTarget& t, uint16_t code) {
      failed.push_back(t.next_hop.endpoint.toString() + " " + std::to_string(code));
    };
    router_.turn.on_answered = [this](const ProxyTarget& t) {
      answered.push_back(t.next_hop.endpoint.toString());
    };
    router_.targets = {{"sip:bob@example.com", target(Transport::Tcp, "192.0.2.7:5061")},
                       {"sip:bob@example.com", target(Transport::Tcp, "192.0.2.8:5061")},
                       {"sip:bob@example.com", target(Transport::Tcp, "192.0.2.9:5061")}};
  }
  std::vector<std::string> requestsSentTo() {
    std::vector<std::string> out;
    for (const auto& s : sender_.sent) {
      if (s.bytes.rfind("SIP/2.0 ", 0) != 0) out.push_back(s.to.endpoint.toString());
    }
    return out;
  }
  std::vector<std::string> failed;
  std::vector<std::string> answered;
};

TEST_F(ProxyInTurnTest, ATransportErrorMovesToTheNextTargetAtOnce) {
  receive(request("MESSAGE", "z9hG4bKturn1"));
  ASSERT_EQ(requestsSentTo(), std::vector<std::string>{"192.0.2.7:5061"}) << "one at a time";
  tm_.onTransportError(sender_.sent.back().tx);
  EXPECT_EQ(requestsSentTo(), (std::vector<std::string>{"192.0.2.7:5061", "192.0.2.8:5061"}));
  EXPECT_EQ(failed, std::vector<std::string>{"192.0.2.7:5061 503"});
  respond(answer(sender_.sent.back().bytes, 200));
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{200});
  EXPECT_EQ(answered, std::vector<std::string>{"192.0.2.8:5061"});
  EXPECT_EQ(proxy_.activeContexts(), 0u);
}

TEST_F(ProxyInTurnTest, ASilentTargetIsGivenUpAfterTheNoAnswerTime) {
  receive(request("MESSAGE", "z9hG4bKturn2"));
  advance(900);
  EXPECT_EQ(requestsSentTo().size(), 1u);
  advance(200);
  ASSERT_EQ(requestsSentTo(), (std::vector<std::string>{"192.0.2.7:5061", "192.0.2.8:5061"}));
  EXPECT_EQ(failed, std::vector<std::string>{"192.0.2.7:5061 408"});
  // A 503 response fails over too; another final answer ends the turn and is relayed.
  respond(answer(sender_.sent.back().bytes, 503));
  ASSERT_EQ(requestsSentTo().size(), 3u);
  respond(answer(sender_.sent.back().bytes, 404));
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{404});
  EXPECT_EQ(failed, (std::vector<std::string>{"192.0.2.7:5061 408", "192.0.2.8:5061 503"}));
  EXPECT_EQ(answered, (std::vector<std::string>{"192.0.2.9:5061"}));
}

TEST_F(ProxyInTurnTest, WhenEveryTargetFailsTheHookGetsTheBestCode) {
  uint16_t best = 0;
  router_.hook = [&](RequestContext& ctx, uint16_t code) {
    best = code;
    proxy_.reply(ctx, 480, "Temporarily Unavailable (all targets failed)");
    return false;
  };
  receive(request("MESSAGE", "z9hG4bKturn3"));
  for (int i = 0; i < 3; ++i) tm_.onTransportError(sender_.sent.back().tx);
  EXPECT_EQ(best, 503);
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{480});
  EXPECT_EQ(failed.size(), 3u);

  // No target answers at all: 408, each given up after the no-answer time.
  sender_.sent.clear();
  receive(request("MESSAGE", "z9hG4bKturn4"));
  advance(3100);
  EXPECT_EQ(best, 408);
  EXPECT_EQ(requestsSentTo().size(), 3u);
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{480});
  EXPECT_EQ(proxy_.activeContexts(), 0u) << "given-up branches do not keep the context";
  advance(33000);  // their transactions time out later, with no context to tell
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{480});
}

TEST_F(ProxyTest, InviteGetsTryingAndRecordRouteAndCancelWorks) {
  router_.targets = {{"sip:bob@192.0.2.7", target(Transport::Tcp, "192.0.2.7:5060")}};
  receive(request("INVITE", "z9hG4bKinv"));
  ASSERT_EQ(sender_.sent.size(), 2u);
  EXPECT_EQ(codesSentUpstream(), std::vector<int>{100});
  auto fwd = parse(sender_.sent[1].bytes);
  auto rr = fwd->recordRoutes();
  ASSERT_EQ(rr->size(), 2u) << "UDP in, TCP out: two Record-Route values (RFC 5658)";
  EXPECT_EQ((*rr)[0].uri.transportParam(), "tcp");
  respond(answer(sender_.sent[1].bytes, 180));
  EXPECT_EQ(codesSentUpstream(), (std::vector<int>{100, 180}));
  std::string cancel = request("CANCEL", "z9hG4bKinv");
  receive(cancel);
  // 200 for the CANCEL, and a CANCEL downstream.
  auto codes = codesSentUpstream();
  EXPECT_EQ(codes.back(), 200);
  bool cancelled = false;
  for (const auto& s : sender_.sent)
    cancelled = cancelled || s.bytes.rfind("CANCEL sip:bob@192.0.2.7", 0) == 0;
  EXPECT_TRUE(cancelled);
}

TEST(BestFinalCodeTest, FollowsSection16_7) {
  EXPECT_EQ(bestFinalCode({486, 603, 200}), 603);
  EXPECT_EQ(bestFinalCode({408, 486}), 486);
  EXPECT_EQ(bestFinalCode({503, 404}), 404);
  EXPECT_EQ(bestFinalCode({503, 302}), 302);
  EXPECT_EQ(bestFinalCode({408}), 408);
  EXPECT_EQ(bestFinalCode({}), 0);
}

}  // namespace
}  // namespace herald::sip
