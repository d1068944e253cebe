// Registrar (RFC 3261 §10.3) behind a Proxy with a fake transport: the AOR checks, the digest
// challenge, contact changes (add, refresh, remove, `*`, Call-ID/CSeq order, expires bounds,
// q) and the 200 sent only once the LocationService's change is stored.

#include "registrar/registrar.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "registrar/test_digest_client.h"
#include "sip/parser/message_parser.h"

namespace herald::registrar {
namespace {

using sip::HeaderId;

const std::string kAlice = "sip:alice@example.com";

class FakeSender : public sip::MessageSender {
 public:
  void send(const sip::SendTarget&, const sip::SharedBytes& bytes, sip::TxId) override {
    sent.push_back(*bytes);
  }
  std::vector<std::string> sent;
};

class RegistrarRouter : public sip::RequestRouter {
 public:
  void route(sip::Proxy& proxy, sip::RequestContext& ctx) override {
    registrar->handle(proxy, ctx, domains, trusted);
  }
  Registrar* registrar = nullptr;
  std::set<std::string> domains{"example.com"};
  bool trusted = false;
};

std::unique_ptr<sip::SipMessage> parse(std::string_view bytes) {
  auto m = sip::MessageParser::parseDatagram(sip::Buffer::copyOf(bytes));
  EXPECT_TRUE(m) << (m ? "" : m.error().toString()) << "\n" << bytes;
  if (!m) return nullptr;
  return std::make_unique<sip::SipMessage>(std::move(*m));
}

UserEntry user(const std::string& name, const std::string& password) {
  std::string a1 = name + ":example.com:" + password;
  return UserEntry{name, "example.com", "", test::hashHex("MD5", a1), test::hashHex("SHA-256", a1)};
}

// One REGISTER to send.
struct Register {
  std::string call_id = "call-1";
  uint32_t cseq = 1;
  std::string lines{};  // Contact, Expires... as whole header lines
  std::string to = "sip:alice@example.com";
  std::string auth_user = "alice";  // empty: no Authorization
  std::string password = "secret";
  std::string digest_uri = "sip:example.com";  // what the credentials are signed for
};

class RegistrarTest : public ::testing::Test {
 protected:
  struct Store {
    std::string aor;
    std::vector<Binding> bindings;
    LocationService::Persisted done;
  };

  RegistrarTest()
      : tm_(clock_, sip::TimerConfig{}, sender_, 0),
        local_({{sip::Transport::Udp, *Endpoint::parse("127.0.0.1:5060")}}, {"herald.example.com"}),
        proxy_(tm_, local_, sip::ProxyConfig{}, router_, clock_, resolver_),
        auth_(clock_, DigestConfig{}),
        location_([this](const std::string& aor, const std::vector<Binding>& bindings,
                         LocationService::Persisted done) {
          stored_.push_back({aor, bindings, std::move(done)});
        }),
        registrar_(RegistrarConfig{}, clock_, location_, users_, auth_,
                   [](std::function<void()> f) { f(); }) {
    tm_.setUser(&proxy_);
    router_.registrar = &registrar_;
    registrar_.setOnRegistered([this](const std::string& aor) { registered_.push_back(aor); });
    users_.upsert(user("alice", "secret"));
    users_.upsert(user("bob", "hunter2"));
    nonce_ = auth_.newNonce();
  }

  void send(const Register& r) {
    std::string auth;
    if (!r.auth_user.empty()) {
      test::DigestClient c;
      c.username = r.auth_user;
      c.password = r.password;
      c.uri = r.digest_uri;
      c.nonce = nonce_;
      c.algorithm = "SHA-256";
      char nc[9];
      std::snprintf(nc, sizeof(nc), "%08x", ++nc_);
      c.nc = nc;
      auth = "Authorization: " + c.header() + "\r\n";
    }
    std::string bytes =
        "REGISTER sip:example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKr" +
        std::to_string(++branch_) +
        "\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=f1\r\n"
        "To: <" +
        r.to + ">\r\nCall-ID: " + r.call_id + "\r\nCSeq: " + std::to_string(r.cseq) +
        " REGISTER\r\n"
        "User-Agent: TestPhone/1.0\r\n" +
        r.lines + auth + "Content-Length: 0\r\n\r\n";
    sip::Origin origin;
    origin.source = *Endpoint::parse("192.0.2.9:5070");
    origin.local = *Endpoint::parse("127.0.0.1:5060");
    tm_.receiveRequest(parse(bytes), origin);
  }
  // Sends and completes the store write: the REGISTER's final response.
  std::unique_ptr<sip::SipMessage> registerAndStore(const Register& r) {
    send(r);
    completeStores();
    return lastResponse();
  }
  void completeStores(Result<void> result = {}) {
    for (; completed_ < stored_.size(); ++completed_) stored_[completed_].done(result);
  }
  std::unique_ptr<sip::SipMessage> lastResponse() {
    if (sender_.sent.empty()) return nullptr;
    return parse(sender_.sent.back());
  }
  int64_t now() const { return clock_.unixSeconds(); }
  // "uri expires q" of each Contact of a response.
  static std::vector<std::string> contactsOf(const sip::SipMessage& response) {
    std::vector<std::string> out;
    auto contacts = response.contacts();
    EXPECT_TRUE(contacts);
    if (!contacts) return out;
    for (const sip::Contact& c : *contacts) {
      out.push_back(std::string(c.addr.uri.raw) + " " +
                    (c.expires ? std::to_string(*c.expires) : "-") + " " +
                    (c.q ? std::to_string(*c.q) : "-"));
    }
    return out;
  }

  FakeClock clock_;
  FakeSender sender_;
  RegistrarRouter router_;
  sip::NextHopResolver resolver_;
  sip::TransactionManager tm_;
  sip::LocalAddresses local_;
  sip::Proxy proxy_;
  UserDirectory users_;
  DigestAuthenticator auth_;
  std::vector<Store> stored_;
  size_t completed_ = 0;
  LocationService location_;
  Registrar registrar_;
  std::vector<std::string> registered_;
  std::string nonce_;
  uint32_t nc_ = 0;
  int branch_ = 0;
};

TEST_F(RegistrarTest, ChallengesARegisterWithoutCredentials) {
  send({.lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n", .auth_user = ""});
  auto r = lastResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 401);
  EXPECT_EQ(r->count(HeaderId::WwwAuthenticate), 2u);
  auto challenges = r->authHeaders(HeaderId::WwwAuthenticate);
  ASSERT_TRUE(challenges);
  ASSERT_EQ(challenges->size(), 2u);
  EXPECT_EQ((*challenges)[0].find("realm")->unquotedValue(), "example.com");
  EXPECT_EQ((*challenges)[0].find("algorithm")->unquotedValue(), "SHA-256");
  EXPECT_EQ((*challenges)[1].find("algorithm")->unquotedValue(), "MD5");
  EXPECT_FALSE((*challenges)[0].find("stale"));
  EXPECT_TRUE(stored_.empty());
  EXPECT_EQ(location_.bindingCount(), 0u);
}

TEST_F(RegistrarTest, WrongPasswordIsChallengedAgain) {
  send({.lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n", .password = "wrong"});
  ASSERT_TRUE(lastResponse());
  EXPECT_EQ(lastResponse()->statusCode(), 401);
  EXPECT_TRUE(stored_.empty());
}

TEST_F(RegistrarTest, CredentialsForAnotherUriGet400) {
  send({.lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n", .digest_uri = "sip:127.0.0.1"});
  auto r = lastResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 400);
  EXPECT_EQ(r->statusLine().reason, kDigestUriMismatch);
  EXPECT_EQ(r->count(HeaderId::WwwAuthenticate), 0u);
  EXPECT_TRUE(stored_.empty());
  // Control: signed for the Request-URI, the same REGISTER binds.
  r = registerAndStore({.lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 200);
}

TEST_F(RegistrarTest, ExpiredNonceGetsAStaleChallenge) {
  clock_.advance(Duration(300001));
  send({.lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n"});
  auto r = lastResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 401);
  auto challenges = r->authHeaders(HeaderId::WwwAuthenticate);
  ASSERT_TRUE(challenges);
  ASSERT_FALSE(challenges->empty());
  ASSERT_TRUE((*challenges)[0].find("stale"));
  EXPECT_EQ((*challenges)[0].find("stale")->value, "true");
}

TEST_F(RegistrarTest, RegistersAndAnswersOnlyOnceStored) {
  send({.lines = "Contact: <sip:alice@192.0.2.9:5070>;q=0.5\r\n"});
  EXPECT_TRUE(sender_.sent.empty()) << "no 200 before the store has it";
  ASSERT_EQ(stored_.size(), 1u);
  EXPECT_EQ(stored_[0].aor, kAlice);
  ASSERT_EQ(stored_[0].bindings.size(), 1u);
  const Binding& b = stored_[0].bindings[0];
  EXPECT_EQ(b.contact, "sip:alice@192.0.2.9:5070");
  EXPECT_EQ(b.contact_params, ";q=0.5");
  EXPECT_EQ(b.q, 500);
  EXPECT_EQ(b.expires_at, now() + 3600);
  EXPECT_EQ(b.call_id, "call-1");
  EXPECT_EQ(b.cseq, 1u);
  EXPECT_EQ(b.transport, sip::Transport::Udp);
  EXPECT_EQ(b.source, *Endpoint::parse("192.0.2.9:5070"));
  EXPECT_EQ(b.user_agent, "TestPhone/1.0");
  EXPECT_TRUE(registered_.empty());

  completeStores();
  auto r = lastResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 200);
  EXPECT_EQ(contactsOf(*r), std::vector<std::string>{"sip:alice@192.0.2.9:5070 3600 500"});
  EXPECT_EQ(registered_, std::vector<std::string>{kAlice});
  EXPECT_EQ(location_.bindingCount(), 1u);
}

TEST_F(RegistrarTest, StoreFailureIsA500) {
  send({.lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n"});
  completeStores(unexpected(unavailable("disk full")));
  auto r = lastResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 500);
  EXPECT_TRUE(registered_.empty());
}

TEST_F(RegistrarTest, RefreshWithTheSameCallIdAndAHigherCSeq) {
  ASSERT_EQ(registerAndStore({.cseq = 1, .lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n"})
                ->statusCode(),
            200);
  clock_.advance(Duration(100000));
  auto r = registerAndStore(
      {.cseq = 2, .lines = "Contact: <sip:alice@192.0.2.9:5070>\r\nExpires: 600\r\n"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 200);
  EXPECT_EQ(contactsOf(*r), std::vector<std::string>{"sip:alice@192.0.2.9:5070 600 -"});
  auto bindings = location_.lookup(kAlice, now());
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].expires_at, now() + 600);
  EXPECT_EQ(bindings[0].cseq, 2u);
}

TEST_F(RegistrarTest, OutOfOrderCSeqIsRefused) {
  registerAndStore({.cseq = 5, .lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n"});
  ASSERT_EQ(stored_.size(), 1u);
  for (uint32_t cseq : {5u, 4u}) {
    send({.cseq = cseq, .lines = "Contact: <sip:alice@192.0.2.9:5070>;expires=0\r\n"});
    auto r = lastResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->statusCode(), 400) << cseq;
    EXPECT_EQ(r->statusLine().reason, "Bad Request (out-of-order REGISTER: CSeq not higher)");
  }
  EXPECT_EQ(stored_.size(), 1u);
  auto bindings = location_.lookup(kAlice, now());
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].cseq, 5u);

  // Another Call-ID (the UA restarted): its CSeq does not compare.
  auto r = registerAndStore(
      {.call_id = "call-2", .cseq = 1, .lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n"});
  EXPECT_EQ(r->statusCode(), 200);
  bindings = location_.lookup(kAlice, now());
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].call_id, "call-2");
  EXPECT_EQ(bindings[0].cseq, 1u);
}

TEST_F(RegistrarTest, ExpiresZeroRemovesThatBinding) {
  registerAndStore(
      {.cseq = 1, .lines = "Contact: <sip:alice@192.0.2.9:5070>, <sip:alice@192.0.2.9:5072>\r\n"});
  ASSERT_EQ(location_.bindingCount(), 2u);
  auto r =
      registerAndStore({.cseq = 2, .lines = "Contact: <sip:alice@192.0.2.9:5070>;expires=0\r\n"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 200);
  EXPECT_EQ(contactsOf(*r), std::vector<std::string>{"sip:alice@192.0.2.9:5072 3600 -"});
  ASSERT_EQ(stored_.size(), 2u);
  ASSERT_EQ(stored_[1].bindings.size(), 1u);
  EXPECT_EQ(stored_[1].bindings[0].contact, "sip:alice@192.0.2.9:5072");

  r = registerAndStore(
      {.cseq = 3, .lines = "Contact: <sip:alice@192.0.2.9:5072>\r\nExpires: 0\r\n"});
  EXPECT_EQ(r->statusCode(), 200);
  EXPECT_TRUE(contactsOf(*r).empty());
  EXPECT_TRUE(stored_.back().bindings.empty());
  EXPECT_EQ(location_.bindingCount(), 0u);
}

TEST_F(RegistrarTest, StarWithExpiresZeroRemovesEverything) {
  registerAndStore({.call_id = "call-1", .lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n"});
  registerAndStore({.call_id = "call-2", .lines = "Contact: <sip:alice@192.0.2.10:5070>\r\n"});
  ASSERT_EQ(location_.bindingCount(), 2u);
  auto r = registerAndStore({.call_id = "call-3", .lines = "Contact: *\r\nExpires: 0\r\n"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 200);
  EXPECT_TRUE(contactsOf(*r).empty());
  EXPECT_TRUE(stored_.back().bindings.empty());
  EXPECT_EQ(location_.bindingCount(), 0u);
}

TEST_F(RegistrarTest, StarNeedsExpiresZeroAndNoOtherContact) {
  registerAndStore({.lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n"});
  for (std::string lines : {"Contact: *\r\n", "Contact: *\r\nExpires: 3600\r\n",
                            "Contact: *, <sip:alice@192.0.2.11>\r\nExpires: 0\r\n"}) {
    send({.call_id = "call-9", .lines = lines});
    auto r = lastResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->statusCode(), 400) << lines;
  }
  EXPECT_EQ(stored_.size(), 1u);
  EXPECT_EQ(location_.bindingCount(), 1u);
}

TEST_F(RegistrarTest, StarFailsForABindingOfTheSameCallIdWithoutAHigherCSeq) {
  // RFC 3261 §10.3 step 6: for `*`, a binding of the same Call-ID is removed only when the
  // request's CSeq is higher; "otherwise, the update MUST be aborted and the request fails".
  registerAndStore({.call_id = "call-1", .cseq = 5, .lines = "Contact: <sip:alice@192.0.2.9>\r\n"});
  registerAndStore(
      {.call_id = "call-2", .cseq = 1, .lines = "Contact: <sip:alice@192.0.2.10>\r\n"});
  ASSERT_EQ(stored_.size(), 2u);
  send({.call_id = "call-1", .cseq = 5, .lines = "Contact: *\r\nExpires: 0\r\n"});
  auto r = lastResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 400);
  EXPECT_EQ(r->statusLine().reason, "Bad Request (out-of-order REGISTER: CSeq not higher)");
  EXPECT_EQ(stored_.size(), 2u) << "nothing changed";
  EXPECT_EQ(location_.bindingCount(), 2u);

  r = registerAndStore({.call_id = "call-1", .cseq = 6, .lines = "Contact: *\r\nExpires: 0\r\n"});
  EXPECT_EQ(r->statusCode(), 200);
  EXPECT_EQ(location_.bindingCount(), 0u);
}

TEST_F(RegistrarTest, ExpiresBoundsAndTheDefault) {
  registrar_.setConfig(RegistrarConfig{
      .min_expires = 120, .max_expires = 900, .default_expires = 300, .max_contacts = 32});
  send({.lines = "Contact: <sip:alice@192.0.2.9:5070>;expires=119\r\n"});
  auto r = lastResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 423);
  ASSERT_TRUE(r->minExpires());
  EXPECT_EQ(*r->minExpires(), std::optional<uint32_t>(120));
  EXPECT_TRUE(stored_.empty());

  r = registerAndStore({.cseq = 2,
                        .lines = "Contact: <sip:alice@192.0.2.9:5070>;expires=120, "
                                 "<sip:alice@192.0.2.9:5071>;expires=7200, "
                                 "<sip:alice@192.0.2.9:5072>\r\n"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 200);
  EXPECT_EQ(contactsOf(*r), (std::vector<std::string>{"sip:alice@192.0.2.9:5070 120 -",
                                                      "sip:alice@192.0.2.9:5071 900 -",
                                                      "sip:alice@192.0.2.9:5072 300 -"}));
}

TEST_F(RegistrarTest, BindingsLapseWithTime) {
  registerAndStore({.lines = "Contact: <sip:alice@192.0.2.9:5070>\r\nExpires: 60\r\n"});
  ASSERT_EQ(location_.lookup(kAlice, now()).size(), 1u);
  clock_.advance(Duration(59000));
  EXPECT_EQ(location_.lookup(kAlice, now()).size(), 1u);
  clock_.advance(Duration(1000));
  EXPECT_TRUE(location_.lookup(kAlice, now()).empty());
}

TEST_F(RegistrarTest, QueryListsTheBindingsHighestQFirst) {
  registerAndStore({.lines = "Contact: <sip:alice@192.0.2.9:5070>;q=0.3, "
                             "<sip:alice@192.0.2.9:5071>;q=0.9\r\n"});
  size_t stores = stored_.size();
  send({.cseq = 2, .lines = ""});
  auto r = lastResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 200) << "answered at once: nothing to store";
  EXPECT_EQ(contactsOf(*r), (std::vector<std::string>{"sip:alice@192.0.2.9:5071 3600 900",
                                                      "sip:alice@192.0.2.9:5070 3600 300"}));
  EXPECT_EQ(stored_.size(), stores);
}

TEST_F(RegistrarTest, TooManyContactsChangeNothing) {
  registrar_.setConfig(RegistrarConfig{.max_contacts = 2});
  send({.lines = "Contact: <sip:alice@192.0.2.9:5070>, <sip:alice@192.0.2.9:5071>, "
                 "<sip:alice@192.0.2.9:5072>\r\n"});
  auto r = lastResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 403);
  EXPECT_TRUE(stored_.empty());
  EXPECT_EQ(location_.bindingCount(), 0u);
}

TEST_F(RegistrarTest, AddressOfRecordChecks) {
  struct Case {
    Register reg;
    uint16_t code;
  };
  std::vector<Case> cases = {
      {{.to = "sip:alice@example.org", .auth_user = ""}, 403},  // not our domain
      {{.to = "sip:mallory@example.com", .auth_user = ""}, 404},
      {{.to = "tel:+15551234567", .auth_user = ""}, 400},
      {{.to = "sip:example.com", .auth_user = ""}, 400},  // no user part
      {{.to = "sip:alice@example.com", .auth_user = "bob", .password = "hunter2"}, 403},
  };
  for (const Case& c : cases) {
    Register reg = c.reg;
    reg.lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n";
    send(reg);
    auto r = lastResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->statusCode(), c.code) << reg.to << " as " << reg.auth_user;
  }
  EXPECT_TRUE(stored_.empty());
}

TEST_F(RegistrarTest, TrustedSourcesAreNotChallenged) {
  router_.trusted = true;
  auto r = registerAndStore({.lines = "Contact: <sip:alice@192.0.2.9:5070>\r\n", .auth_user = ""});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusCode(), 200);
  EXPECT_EQ(location_.bindingCount(), 1u);
}

}  // namespace
}  // namespace herald::registrar
