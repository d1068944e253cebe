#include "sip/transaction/transaction_manager.h"

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

class FakeUser : public TransactionUser {
 public:
  void onRequest(TxId server, std::unique_ptr<SipMessage> request, const Origin&) override {
    requests.emplace_back(server, std::move(request));
  }
  void onAck(std::unique_ptr<SipMessage> ack, const Origin&) override {
    acks.push_back(std::move(ack));
  }
  void onResponse(TxId client, uint64_t cookie, std::unique_ptr<SipMessage> r) override {
    responses.push_back({client, cookie, r->statusCode()});
  }
  void onClientFailure(TxId client, uint64_t cookie, TxEvent why) override {
    failures.push_back({client, cookie, static_cast<uint16_t>(why)});
  }
  void onServerFailure(TxId server, TxEvent why) override {
    server_failures.push_back({server, why});
  }

  struct Resp {
    TxId tx;
    uint64_t cookie;
    uint16_t code;
  };
  std::vector<std::pair<TxId, std::unique_ptr<SipMessage>>> requests;
  std::vector<std::unique_ptr<SipMessage>> acks;
  std::vector<Resp> responses;
  std::vector<Resp> failures;
  std::vector<std::pair<TxId, TxEvent>> server_failures;
};

SendTarget target(Transport t, std::string_view ep) {
  SendTarget to;
  to.transport = t;
  to.endpoint = *Endpoint::parse(ep);
  return to;
}

std::unique_ptr<SipMessage> parse(std::string_view bytes) {
  auto m = MessageParser::parseDatagram(Buffer::copyOf(bytes));
  EXPECT_TRUE(m) << (m ? "" : m.error().toString());
  EXPECT_TRUE(validate(*m, Validation::Basic));
  return std::make_unique<SipMessage>(std::move(*m));
}

std::string request(std::string_view method, std::string_view branch,
                    std::string_view via_host = "192.0.2.9:5070") {
  return std::string(method) + " sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP " +
         std::string(via_host) + ";branch=" + std::string(branch) +
         ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=f1\r\n"
         "To: <sip:bob@example.com>\r\nCall-ID: call-1\r\nCSeq: 1 " +
         std::string(method) + "\r\nContent-Length: 0\r\n\r\n";
}

std::string response(int code, std::string_view method, std::string_view branch) {
  return "SIP/2.0 " + std::to_string(code) +
         " X\r\nVia: SIP/2.0/UDP herald;branch=" + std::string(branch) +
         "\r\nFrom: <sip:alice@example.com>;tag=f1\r\n"
         "To: <sip:bob@example.com>;tag=t1\r\nCall-ID: call-1\r\nCSeq: 1 " +
         std::string(method) + "\r\nContent-Length: 0\r\n\r\n";
}

class TransactionManagerTest : public ::testing::Test {
 protected:
  TransactionManagerTest() : tm_(clock_, TimerConfig{}, sender_, 3) { tm_.setUser(&user_); }

  void advance(int ms) {
    for (int i = 0; i < ms; i += 10) {
      clock_.advance(Duration(10));
      tm_.advance(clock_.now());
    }
  }

  Origin udpFrom(std::string_view ep) {
    Origin o;
    o.source = *Endpoint::parse(ep);
    o.local = *Endpoint::parse("127.0.0.1:5060");
    return o;
  }

  TxId receive(const std::string& bytes, Origin origin) {
    size_t before = user_.requests.size();
    tm_.receiveRequest(parse(bytes), origin);
    return user_.requests.size() > before ? user_.requests.back().first : 0;
  }

  SharedBytes responseTo(const SipMessage& req, uint16_t code) {
    return makeBytes(buildResponse(req, ResponseSpec{code, "R", "tt", {}, {}, {}}));
  }

  FakeClock clock_;
  FakeSender sender_;
  FakeUser user_;
  TransactionManager tm_;
};

TEST_F(TransactionManagerTest, NonInviteServerOverUdpAbsorbsAndAnswersRetransmissions) {
  std::string req = request("MESSAGE", "z9hG4bKabc");
  TxId id = receive(req, udpFrom("192.0.2.9:40000"));
  ASSERT_NE(id, 0u);
  EXPECT_EQ(receive(req, udpFrom("192.0.2.9:40000")), 0u) << "retransmission is absorbed";
  EXPECT_TRUE(sender_.sent.empty());
  tm_.respond(id, 200, responseTo(*user_.requests[0].second, 200));
  ASSERT_EQ(sender_.sent.size(), 1u);
  // rport: back to the source port, not the Via port.
  EXPECT_EQ(sender_.sent[0].to.endpoint.toString(), "192.0.2.9:40000");
  receive(req, udpFrom("192.0.2.9:40000"));
  EXPECT_EQ(sender_.sent.size(), 2u) << "the final response is resent";
  EXPECT_EQ(sender_.sent[1].bytes, sender_.sent[0].bytes);
  // Completed: retired to a small record that still answers, the slot is free.
  EXPECT_EQ(tm_.serverCount(), 0u);
  EXPECT_EQ(tm_.retiredCount(), 1u);
  EXPECT_EQ(tm_.liveTransactions(), 0u);
  advance(31990);
  receive(req, udpFrom("192.0.2.9:40000"));
  EXPECT_EQ(sender_.sent.size(), 3u) << "still resent just before Timer J";
  EXPECT_EQ(user_.requests.size(), 1u);
  advance(20);  // Timer J = 64*T1
  EXPECT_EQ(tm_.retiredCount(), 0u);
  // After Timer J the same request is a new transaction for the TU.
  EXPECT_NE(receive(req, udpFrom("192.0.2.9:40000")), 0u);
  EXPECT_EQ(user_.requests.size(), 2u);
}

TEST_F(TransactionManagerTest, ResponsesWithoutRportGoToTheViaPort) {
  std::string req = request("OPTIONS", "z9hG4bKnr", "192.0.2.9:5070");
  req.replace(req.find(";rport"), 6, "");
  TxId id = receive(req, udpFrom("192.0.2.9:40000"));
  tm_.respond(id, 200, responseTo(*user_.requests[0].second, 200));
  EXPECT_EQ(sender_.sent[0].to.endpoint.toString(), "192.0.2.9:5070");
}

TEST_F(TransactionManagerTest, ReliableServerTransactionEndsWithItsFinalResponse) {
  Origin tcp = udpFrom("192.0.2.9:40000");
  tcp.transport = Transport::Tcp;
  tcp.connection = 7;
  TxId id = receive(request("MESSAGE", "z9hG4bKtcp"), tcp);
  tm_.respond(id, 202, responseTo(*user_.requests[0].second, 202));
  EXPECT_EQ(sender_.sent[0].to.connection, 7u);
  EXPECT_EQ(tm_.serverCount(), 0u);
}

TEST_F(TransactionManagerTest, NonInviteClientRetransmitsThenTimesOut) {
  TxId id =
      tm_.sendRequest(target(Transport::Udp, "192.0.2.7:5060"),
                      makeBytes(request("MESSAGE", "z9hG4bKc1")), "z9hG4bKc1", Method::Message, 42);
  ASSERT_EQ(sender_.sent.size(), 1u);
  advance(31990);
  // Timer E: 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5 s.
  EXPECT_EQ(sender_.sent.size(), 11u);
  EXPECT_TRUE(user_.failures.empty());
  advance(20);
  ASSERT_EQ(user_.failures.size(), 1u);
  EXPECT_EQ(user_.failures[0].tx, id);
  EXPECT_EQ(user_.failures[0].cookie, 42u);
  EXPECT_EQ(user_.failures[0].code, static_cast<uint16_t>(TxEvent::Timeout));
  EXPECT_EQ(tm_.clientCount(), 0u);
}

TEST_F(TransactionManagerTest, NonInviteClientStopsOnFinalResponseAndWaitsTimerK) {
  tm_.sendRequest(target(Transport::Udp, "192.0.2.7:5060"),
                  makeBytes(request("MESSAGE", "z9hG4bKc2")), "z9hG4bKc2", Method::Message, 1);
  advance(600);
  EXPECT_EQ(sender_.sent.size(), 2u);
  tm_.receiveResponse(parse(response(200, "MESSAGE", "z9hG4bKc2")), udpFrom("192.0.2.7:5060"));
  ASSERT_EQ(user_.responses.size(), 1u);
  EXPECT_EQ(user_.responses[0].code, 200);
  tm_.receiveResponse(parse(response(200, "MESSAGE", "z9hG4bKc2")), udpFrom("192.0.2.7:5060"));
  EXPECT_EQ(user_.responses.size(), 1u) << "retransmitted response absorbed";
  EXPECT_EQ(tm_.clientCount(), 0u);  // retired: a record absorbs until Timer K (T4)
  EXPECT_EQ(tm_.retiredCount(), 1u);
  advance(4990);
  tm_.receiveResponse(parse(response(200, "MESSAGE", "z9hG4bKc2")), udpFrom("192.0.2.7:5060"));
  EXPECT_EQ(tm_.stats().stray_responses, 0u);
  advance(5010);
  EXPECT_EQ(tm_.retiredCount(), 0u);
  EXPECT_EQ(sender_.sent.size(), 2u) << "no retransmission after the final response";
  EXPECT_EQ(tm_.clientCount(), 0u);
  tm_.receiveResponse(parse(response(200, "MESSAGE", "z9hG4bKc2")), udpFrom("192.0.2.7:5060"));
  EXPECT_EQ(tm_.stats().stray_responses, 1u);
}

TEST_F(TransactionManagerTest, InviteClientAcksNon2xxAndCancelsAfterProvisional) {
  SendTarget to = target(Transport::Udp, "192.0.2.7:5060");
  TxId busy = tm_.sendRequest(to, makeBytes(request("INVITE", "z9hG4bKi1")), "z9hG4bKi1",
                              Method::Invite, 5);
  tm_.receiveResponse(parse(response(486, "INVITE", "z9hG4bKi1")), udpFrom("192.0.2.7:5060"));
  ASSERT_EQ(sender_.sent.size(), 2u);
  auto ack = parse(sender_.sent[1].bytes);
  EXPECT_EQ(ack->method(), Method::Ack);
  EXPECT_EQ((*ack->to())->tag, "t1");
  tm_.receiveResponse(parse(response(486, "INVITE", "z9hG4bKi1")), udpFrom("192.0.2.7:5060"));
  EXPECT_EQ(sender_.sent.size(), 3u) << "ACK resent for a retransmitted 486";
  EXPECT_EQ(user_.responses.size(), 1u);
  (void)busy;

  sender_.sent.clear();
  TxId ringing = tm_.sendRequest(to, makeBytes(request("INVITE", "z9hG4bKi2")), "z9hG4bKi2",
                                 Method::Invite, 6);
  tm_.cancelInvite(ringing);
  EXPECT_EQ(sender_.sent.size(), 1u) << "CANCEL waits for a provisional response";
  tm_.receiveResponse(parse(response(180, "INVITE", "z9hG4bKi2")), udpFrom("192.0.2.7:5060"));
  ASSERT_EQ(sender_.sent.size(), 2u);
  auto cancel = parse(sender_.sent[1].bytes);
  EXPECT_EQ(cancel->method(), Method::Cancel);
  EXPECT_EQ((*cancel->topVia())->branch, "z9hG4bKi2");
  tm_.receiveResponse(parse(response(200, "CANCEL", "z9hG4bKi2")), udpFrom("192.0.2.7:5060"));
  tm_.receiveResponse(parse(response(487, "INVITE", "z9hG4bKi2")), udpFrom("192.0.2.7:5060"));
  std::vector<uint16_t> codes;
  for (auto& r : user_.responses) codes.push_back(r.code);
  EXPECT_EQ(codes, (std::vector<uint16_t>{486, 180, 200, 487}));
}

TEST_F(TransactionManagerTest, InviteClientWithoutProvisionalTimesOutWithTimerB) {
  tm_.sendRequest(target(Transport::Udp, "192.0.2.7:5060"),
                  makeBytes(request("INVITE", "z9hG4bKi3")), "z9hG4bKi3", Method::Invite, 9);
  advance(32010);
  // Timer A: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s (doubling, no cap).
  EXPECT_EQ(sender_.sent.size(), 7u);
  ASSERT_EQ(user_.failures.size(), 1u);
  EXPECT_EQ(user_.failures[0].cookie, 9u);
}

TEST_F(TransactionManagerTest, InviteServerRetransmitsErrorsUntilAck) {
  std::string invite = request("INVITE", "z9hG4bKs1");
  TxId id = receive(invite, udpFrom("192.0.2.9:5070"));
  tm_.respond(id, 100, responseTo(*user_.requests[0].second, 100));
  receive(invite, udpFrom("192.0.2.9:5070"));
  EXPECT_EQ(sender_.sent.size(), 2u) << "100 resent on INVITE retransmission";
  tm_.respond(id, 486, responseTo(*user_.requests[0].second, 486));
  advance(1600);
  // 486 at 0, Timer G at 0.5 and 1.5 s.
  EXPECT_EQ(sender_.sent.size(), 5u);
  std::string ack = invite;
  ack.replace(0, 6, "ACK");
  ack.replace(ack.find("CSeq: 1 INVITE"), 14, "CSeq: 1 ACK");
  tm_.receiveRequest(parse(ack), udpFrom("192.0.2.9:5070"));
  EXPECT_TRUE(user_.acks.empty()) << "ACK for a non-2xx stays in the transaction";
  advance(5000);
  EXPECT_EQ(sender_.sent.size(), 5u);
  EXPECT_EQ(tm_.serverCount(), 0u) << "Timer I ended it";
}

TEST_F(TransactionManagerTest, InviteServerWithoutAckTimesOutWithTimerH) {
  TxId id = receive(request("INVITE", "z9hG4bKs2"), udpFrom("192.0.2.9:5070"));
  tm_.respond(id, 603, responseTo(*user_.requests[0].second, 603));
  advance(32010);
  ASSERT_EQ(user_.server_failures.size(), 1u);
  EXPECT_EQ(user_.server_failures[0].second, TxEvent::Timeout);
}

TEST_F(TransactionManagerTest, AckFor2xxGoesToTheUser) {
  std::string invite = request("INVITE", "z9hG4bKs3");
  TxId id = receive(invite, udpFrom("192.0.2.9:5070"));
  tm_.respond(id, 200, responseTo(*user_.requests[0].second, 200));
  std::string ack = request("ACK", "z9hG4bKs3");
  tm_.receiveRequest(parse(ack), udpFrom("192.0.2.9:5070"));
  EXPECT_EQ(user_.acks.size(), 1u);
  tm_.receiveRequest(parse(request("ACK", "z9hG4bKother")), udpFrom("192.0.2.9:5070"));
  EXPECT_EQ(user_.acks.size(), 2u) << "ACK outside any transaction also goes to the user";
}

TEST_F(TransactionManagerTest, CancelFindsItsInvite) {
  TxId invite = receive(request("INVITE", "z9hG4bKs4"), udpFrom("192.0.2.9:5070"));
  TxId cancel = receive(request("CANCEL", "z9hG4bKs4"), udpFrom("192.0.2.9:5070"));
  ASSERT_NE(cancel, 0u);
  EXPECT_NE(cancel, invite);
  EXPECT_EQ(tm_.findInviteServer(*user_.requests.back().second), invite);
  auto other = parse(request("CANCEL", "z9hG4bKnone"));
  EXPECT_EQ(tm_.findInviteServer(*other), 0u);
}

TEST_F(TransactionManagerTest, Rfc2543RequestsMatchWithoutMagicCookie) {
  std::string req = request("OPTIONS", "390skdjuw");
  TxId id = receive(req, udpFrom("192.0.2.9:5070"));
  ASSERT_NE(id, 0u);
  EXPECT_EQ(receive(req, udpFrom("192.0.2.9:5070")), 0u);
  std::string branchless = request("OPTIONS", "x");
  branchless.replace(branchless.find(";branch=x"), 9, "");
  ASSERT_NE(receive(branchless, udpFrom("192.0.2.9:5070")), 0u);
  EXPECT_EQ(receive(branchless, udpFrom("192.0.2.9:5070")), 0u);
}

TEST_F(TransactionManagerTest, TransportErrorsReachTheUser) {
  TxId id =
      tm_.sendRequest(target(Transport::Tcp, "192.0.2.7:5060"),
                      makeBytes(request("MESSAGE", "z9hG4bKe1")), "z9hG4bKe1", Method::Message, 77);
  tm_.onTransportError(id);
  ASSERT_EQ(user_.failures.size(), 1u);
  EXPECT_EQ(user_.failures[0].code, static_cast<uint16_t>(TxEvent::TransportError));
  EXPECT_EQ(tm_.clientCount(), 0u);
}

TEST_F(TransactionManagerTest, BranchesCarryWorkerAndLoopHash) {
  std::string b = tm_.newBranch(0xdeadbeef);
  EXPECT_EQ(b.substr(0, 7), "z9hG4bK");
  EXPECT_EQ(TransactionManager::workerOfBranch(b), 3u);
  EXPECT_EQ(TransactionManager::loopHashOfBranch(b), 0xdeadbeefu);
  EXPECT_NE(tm_.newBranch(1), tm_.newBranch(1));
  EXPECT_FALSE(TransactionManager::workerOfBranch("z9hG4bK776asdhds"));
  EXPECT_FALSE(TransactionManager::workerOfBranch("z9hG4bKH.x"));
}

}  // namespace
}  // namespace herald::sip
