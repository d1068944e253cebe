// DigestAuthenticator against RFC 2617 / RFC 7616 values and a client computed with OpenSSL
// directly: challenges, the outcomes of verify() (Ok, NoCredentials, Stale, Failed,
// UriMismatch), nonce expiry and forgery, nonce-count replays.

#include "registrar/digest.h"

#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "registrar/test_digest_client.h"
#include "sip/parser/message_parser.h"

namespace herald::registrar {
namespace {

using sip::HeaderId;
using test::DigestClient;
using test::hashHex;
using Outcome = DigestAuthenticator::Outcome;

// RFC 2617 §3.5 and RFC 7616 §3.9.1.
constexpr std::string_view kRfc7616Nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
constexpr std::string_view kRfc7616Cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

DigestClient rfc2617Client() {
  DigestClient c;
  c.username = "Mufasa";
  c.realm = "testrealm@host.com";
  c.password = "Circle Of Life";
  c.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
  c.method = "GET";
  c.uri = "/dir/index.html";
  c.cnonce = "0a4f113b";
  return c;
}

DigestClient rfc7616Client(std::string algorithm) {
  DigestClient c;
  c.username = "Mufasa";
  c.realm = "http-auth@example.org";
  c.password = "Circle of Life";
  c.nonce = std::string(kRfc7616Nonce);
  c.method = "GET";
  c.uri = "/dir/index.html";
  c.cnonce = std::string(kRfc7616Cnonce);
  c.algorithm = std::move(algorithm);
  return c;
}

std::unique_ptr<sip::SipMessage> parse(std::string_view bytes) {
  auto m = sip::MessageParser::parseDatagram(sip::Buffer::copyOf(bytes));
  EXPECT_TRUE(m) << (m ? "" : m.error().toString()) << "\n" << bytes;
  if (!m) return nullptr;
  return std::make_unique<sip::SipMessage>(std::move(*m));
}

// A REGISTER carrying `auth_lines` (whole header lines).
std::unique_ptr<sip::SipMessage> registerWith(std::string_view auth_lines) {
  return parse(
      "REGISTER sip:example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKreg1\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:alice@example.com>;tag=f1\r\n"
      "To: <sip:alice@example.com>\r\n"
      "Call-ID: reg-1\r\n"
      "CSeq: 1 REGISTER\r\n"
      "Contact: <sip:alice@192.0.2.9:5070>\r\n" +
      std::string(auth_lines) + "Content-Length: 0\r\n\r\n");
}

UserEntry user(const std::string& name, const std::string& domain, const std::string& password) {
  return UserEntry{name, domain, "", hashHex("MD5", name + ":" + domain + ":" + password),
                   hashHex("SHA-256", name + ":" + domain + ":" + password)};
}

std::string nonceOf(const std::string& challenge) {
  std::smatch m;
  if (!std::regex_search(challenge, m, std::regex("nonce=\"([^\"]*)\""))) return "";
  return m[1];
}

// Another hex digit at position i.
std::string alteredAt(std::string nonce, size_t i) {
  nonce[i] = nonce[i] == '0' ? '1' : '0';
  return nonce;
}

class DigestTest : public ::testing::Test {
 protected:
  DigestTest() : auth_(clock_, DigestConfig{}) {
    users_.upsert(user("alice", "example.com", "secret"));
    users_.upsert(user("bob", "example.com", "hunter2"));
    users_.upsert(user("carol", "example.org", "secret"));
  }

  DigestClient client(std::string algorithm = "MD5") {
    DigestClient c;
    c.nonce = auth_.newNonce();
    c.algorithm = std::move(algorithm);
    return c;
  }
  DigestAuthenticator::Check verify(const DigestClient& c,
                                    HeaderId header = HeaderId::Authorization,
                                    std::string_view name = "Authorization") {
    return verifyLines(std::string(name) + ": " + c.header() + "\r\n", header);
  }
  DigestAuthenticator::Check verifyLines(const std::string& lines,
                                         HeaderId header = HeaderId::Authorization) {
    auto msg = registerWith(lines);
    if (!msg) return {};
    return auth_.verify(*msg, header, "example.com", users_);
  }

  FakeClock clock_;
  UserDirectory users_;
  DigestAuthenticator auth_;
};

TEST(DigestHashTest, DigestHexMatchesKnownVectors) {
  EXPECT_EQ(digestHex(DigestAlgorithm::Md5, ""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(digestHex(DigestAlgorithm::Md5, "abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(digestHex(DigestAlgorithm::Sha256, ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digestHex(DigestAlgorithm::Sha256, "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestHashTest, Rfc2617WorkedExample) {
  EXPECT_EQ(computeHa1(DigestAlgorithm::Md5, "Mufasa", "testrealm@host.com", "Circle Of Life"),
            "939e7578ed9e3c518a452acee763bce9");
  EXPECT_EQ(digestHex(DigestAlgorithm::Md5, "GET:/dir/index.html"),
            "39aff3a2bab6126f332b942af96d3366");
  std::string response =
      digestHex(DigestAlgorithm::Md5,
                "939e7578ed9e3c518a452acee763bce9:dcd98b7102dd2f0e8b11d0f600bfb0c093:"
                "00000001:0a4f113b:auth:39aff3a2bab6126f332b942af96d3366");
  EXPECT_EQ(response, "6629fae49393a05397450978507c4ef1");
  // The test client the other tests use computes the same.
  EXPECT_EQ(rfc2617Client().response(), "6629fae49393a05397450978507c4ef1");
}

TEST(DigestHashTest, Rfc7616Sha256AndMd5Examples) {
  std::string ha1 =
      computeHa1(DigestAlgorithm::Sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(ha1, "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
  std::string ha2 = digestHex(DigestAlgorithm::Sha256, "GET:/dir/index.html");
  std::string response = digestHex(DigestAlgorithm::Sha256,
                                   ha1 + ":" + std::string(kRfc7616Nonce) +
                                       ":00000001:" + std::string(kRfc7616Cnonce) + ":auth:" + ha2);
  EXPECT_EQ(response, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  EXPECT_EQ(rfc7616Client("SHA-256").response(),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");

  EXPECT_EQ(computeHa1(DigestAlgorithm::Md5, "Mufasa", "http-auth@example.org", "Circle of Life"),
            "3d78807defe7de2157e2b0b6573a855f");
  EXPECT_EQ(rfc7616Client("MD5").response(), "8ca523f5e9506fed4657c9700eebdbec");
}

TEST_F(DigestTest, ChallengeOffersEachAlgorithmWithOneNonce) {
  std::string c = auth_.challenge(HeaderId::WwwAuthenticate, "example.com", false);
  std::string nonce = nonceOf(c);
  ASSERT_EQ(nonce.size(), 64u);
  EXPECT_TRUE(std::regex_match(nonce, std::regex("[0-9a-f]{64}")));
  EXPECT_EQ(c, "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"" + nonce +
                   "\", algorithm=SHA-256, qop=\"auth\"\r\n"
                   "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"" +
                   nonce + "\", algorithm=MD5, qop=\"auth\"\r\n");
}

TEST_F(DigestTest, StaleChallengeForAProxy) {
  DigestAuthenticator md5_only(clock_, DigestConfig{Duration(300000), {DigestAlgorithm::Md5}});
  std::string c = md5_only.challenge(HeaderId::ProxyAuthenticate, "example.org", true);
  EXPECT_EQ(c, "Proxy-Authenticate: Digest realm=\"example.org\", nonce=\"" + nonceOf(c) +
                   "\", algorithm=MD5, qop=\"auth\", stale=true\r\n");
}

TEST_F(DigestTest, EachNonceIsNew) {
  std::string a = auth_.newNonce();
  std::string b = auth_.newNonce();
  EXPECT_NE(a, b);
  EXPECT_TRUE(std::regex_match(a, std::regex("[0-9a-f]{64}"))) << a;
  EXPECT_NE(nonceOf(auth_.challenge(HeaderId::WwwAuthenticate, "example.com", false)),
            nonceOf(auth_.challenge(HeaderId::WwwAuthenticate, "example.com", false)));
}

TEST_F(DigestTest, AcceptsTheAnswerToItsChallengeWithEitherAlgorithm) {
  for (std::string algorithm : {"SHA-256", "MD5", "sha-256", ""}) {
    SCOPED_TRACE(algorithm);
    DigestClient c;
    c.algorithm = algorithm;
    c.nonce = nonceOf(auth_.challenge(HeaderId::WwwAuthenticate, "example.com", false));
    auto check = verify(c);
    EXPECT_EQ(check.outcome, Outcome::Ok);
    EXPECT_EQ(check.username, "alice");
  }
}

TEST_F(DigestTest, AlgorithmDecidesWhichHa1IsUsed) {
  // An MD5 response labelled SHA-256 (and the reverse) is wrong.
  DigestClient md5 = client("MD5");
  DigestClient labelled = md5;
  labelled.algorithm = "SHA-256";
  labelled.response_value = md5.response();
  EXPECT_EQ(verify(labelled).outcome, Outcome::Failed);

  DigestClient sha = client("SHA-256");
  DigestClient relabelled = sha;
  relabelled.algorithm = "MD5";
  relabelled.response_value = sha.response();
  EXPECT_EQ(verify(relabelled).outcome, Outcome::Failed);
}

TEST_F(DigestTest, ResponseHexIsCaseInsensitive) {
  DigestClient c = client("SHA-256");
  std::string upper = c.response();
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  ASSERT_NE(upper, c.response());
  c.response_value = upper;
  EXPECT_EQ(verify(c).outcome, Outcome::Ok);
}

TEST_F(DigestTest, WrongPasswordFails) {
  for (std::string algorithm : {"SHA-256", "MD5"}) {
    DigestClient c = client(algorithm);
    c.password = "Secret";
    auto check = verify(c);
    EXPECT_EQ(check.outcome, Outcome::Failed) << algorithm;
    EXPECT_EQ(check.username, "");
  }
  DigestClient other = client();
  other.password = "hunter2";  // bob's password, alice's name
  EXPECT_EQ(verify(other).outcome, Outcome::Failed);
}

TEST_F(DigestTest, CredentialsForAnotherRealmAreNoCredentials) {
  DigestClient c = client();
  c.realm = "example.org";
  EXPECT_EQ(verify(c).outcome, Outcome::NoCredentials);
  // The same credentials are carol's when the realm is example.org.
  c.username = "carol";
  auto msg = registerWith("Authorization: " + c.header() + "\r\n");
  auto check = auth_.verify(*msg, HeaderId::Authorization, "example.org", users_);
  EXPECT_EQ(check.outcome, Outcome::Ok);
  EXPECT_EQ(check.username, "carol");
}

TEST_F(DigestTest, NothingToCheckIsNoCredentials) {
  EXPECT_EQ(verifyLines("").outcome, Outcome::NoCredentials);
  // Another scheme (RFC 3261 other-response), even for our realm.
  EXPECT_EQ(
      verifyLines("Authorization: NTLM realm=\"example.com\", username=\"alice\"\r\n").outcome,
      Outcome::NoCredentials);
  // Credentials in Authorization are not looked for in Proxy-Authorization.
  EXPECT_EQ(verify(client(), HeaderId::ProxyAuthorization).outcome, Outcome::NoCredentials);
}

TEST_F(DigestTest, MalformedCredentialsFail) {
  EXPECT_EQ(verifyLines("Authorization: Digest username=\"alice\", realm=\r\n").outcome,
            Outcome::Failed);
}

TEST_F(DigestTest, ReadsProxyAuthorizationWhenAskedTo) {
  DigestClient c = client();
  auto check = verify(c, HeaderId::ProxyAuthorization, "Proxy-Authorization");
  EXPECT_EQ(check.outcome, Outcome::Ok);
  EXPECT_EQ(check.username, "alice");
  c.nc = "00000002";
  EXPECT_EQ(verify(c, HeaderId::Authorization, "Proxy-Authorization").outcome,
            Outcome::NoCredentials);
}

TEST_F(DigestTest, FindsOurRealmAmongSeveralCredentials) {
  DigestClient other = client();
  other.realm = "elsewhere.example";
  other.password = "whatever";
  DigestClient ours = client();
  auto check = verifyLines("Authorization: " + other.header() +
                           "\r\nAuthorization: " + ours.header() + "\r\n");
  EXPECT_EQ(check.outcome, Outcome::Ok);
  EXPECT_EQ(check.username, "alice");
}

TEST_F(DigestTest, UnknownUserFails) {
  DigestClient c = client();
  c.username = "mallory";
  EXPECT_EQ(verify(c).outcome, Outcome::Failed);
  // carol exists, but in example.org.
  c.username = "carol";
  EXPECT_EQ(verify(c).outcome, Outcome::Failed);
  // The user part is case-sensitive.
  c.username = "Alice";
  EXPECT_EQ(verify(c).outcome, Outcome::Failed);
}

TEST_F(DigestTest, ResponseMustCoverWhatIsSent) {
  // Each case: the response is computed over another value than the one sent.
  std::vector<std::pair<std::string, std::function<void(DigestClient&)>>> cases = {
      {"uri", [](DigestClient& h) { h.uri = "sip:example.org"; }},
      {"method", [](DigestClient& h) { h.method = "INVITE"; }},
      {"realm", [](DigestClient& h) { h.realm = "example.org"; }},
      {"cnonce", [](DigestClient& h) { h.cnonce = "deadbeef"; }},
      {"nc", [](DigestClient& h) { h.nc = "00000002"; }},
  };
  for (const auto& [what, change] : cases) {
    DigestClient c = client();
    DigestClient hashed = c;
    change(hashed);
    c.response_value = hashed.response();
    EXPECT_EQ(verify(c).outcome, Outcome::Failed) << what;
  }
  // Control: another cnonce, sent and hashed, passes.
  DigestClient c = client();
  c.cnonce = "deadbeef";
  EXPECT_EQ(verify(c).outcome, Outcome::Ok);
}

TEST_F(DigestTest, CredentialsMustBeSignedForTheRequestUri) {
  // The request goes to sip:example.com. Each uri is signed correctly, but names another
  // target: SIPp's default (the server's address), a port that §19.1.4 does not ignore, a
  // user, another scheme, an HTTP path.
  for (std::string uri : {"sip:127.0.0.1:5060", "sip:example.com:5060", "sip:bob@example.com",
                          "sips:example.com", "/dir/index.html"}) {
    DigestClient c = client();
    c.uri = uri;
    EXPECT_EQ(verify(c).outcome, Outcome::UriMismatch) << uri;
  }
  // A wrong response is a failure whatever its uri: a guess is challenged again.
  DigestClient wrong = client();
  wrong.uri = "sip:bob@example.com";
  wrong.password = "guess";
  EXPECT_EQ(verify(wrong).outcome, Outcome::Failed);
  // Equal as URIs (§19.1.4: scheme and host case-insensitive) is the same target.
  DigestClient same = client();
  same.uri = "SIP:Example.COM";
  EXPECT_EQ(verify(same).outcome, Outcome::Ok);
  // A mismatch does not use up the nonce count: the same nc, signed for the target, passes.
  DigestClient first = client();
  first.uri = "sip:example.org";
  EXPECT_EQ(verify(first).outcome, Outcome::UriMismatch);
  first.uri = "sip:example.com";
  EXPECT_EQ(verify(first).outcome, Outcome::Ok);
}

TEST_F(DigestTest, TheUriCheckCanBeTurnedOff) {
  DigestConfig config;
  config.check_uri = false;
  DigestAuthenticator lenient(clock_, config);
  DigestClient c;
  c.nonce = lenient.newNonce();
  c.uri = "sip:127.0.0.1:5060";
  auto msg = registerWith("Authorization: " + c.header() + "\r\n");
  ASSERT_TRUE(msg);
  EXPECT_EQ(lenient.verify(*msg, HeaderId::Authorization, "example.com", users_).outcome,
            Outcome::Ok);
}

TEST_F(DigestTest, EveryParameterIsNeeded) {
  for (std::string name : {"username", "nonce", "uri", "response", "qop", "nc", "cnonce"}) {
    DigestClient c = client();
    c.omit = name;
    EXPECT_EQ(verify(c).outcome, Outcome::Failed) << "without " << name;
  }
  // Control: omitting nothing passes.
  EXPECT_EQ(verify(client()).outcome, Outcome::Ok);
}

TEST_F(DigestTest, OnlyQopAuthIsAccepted) {
  for (std::string qop : {"auth-int", "none"}) {
    DigestClient c = client();
    c.qop = qop;
    EXPECT_EQ(verify(c).outcome, Outcome::Failed) << qop;
  }
}

TEST_F(DigestTest, NonceCountIsEightHexDigits) {
  for (std::string nc : {"1", "000000001", "0000000x"}) {
    DigestClient c = client();
    c.nc = nc;
    EXPECT_EQ(verify(c).outcome, Outcome::Failed) << nc;
  }
}

TEST_F(DigestTest, UnknownOrUnofferedAlgorithmFails) {
  DigestClient c = client("SHA-512-256");
  EXPECT_EQ(verify(c).outcome, Outcome::Failed);

  DigestAuthenticator sha_only(clock_, DigestConfig{Duration(300000), {DigestAlgorithm::Sha256}});
  DigestClient md5;
  md5.nonce = sha_only.newNonce();
  auto msg = registerWith("Authorization: " + md5.header() + "\r\n");
  EXPECT_EQ(sha_only.verify(*msg, HeaderId::Authorization, "example.com", users_).outcome,
            Outcome::Failed);
  DigestClient sha = md5;
  sha.algorithm = "SHA-256";
  msg = registerWith("Authorization: " + sha.header() + "\r\n");
  EXPECT_EQ(sha_only.verify(*msg, HeaderId::Authorization, "example.com", users_).outcome,
            Outcome::Ok);
}

TEST_F(DigestTest, ExpiredNonceIsStale) {
  DigestClient c = client("SHA-256");
  clock_.advance(Duration(300000));
  EXPECT_EQ(verify(c).outcome, Outcome::Ok) << "valid for exactly nonce_ttl";
  clock_.advance(Duration(1));
  c.nc = "00000002";
  auto check = verify(c);
  EXPECT_EQ(check.outcome, Outcome::Stale);
  EXPECT_EQ(check.username, "");
  // A wrong answer to an expired nonce is a failure, not a reason to ask again.
  c.password = "wrong";
  EXPECT_EQ(verify(c).outcome, Outcome::Failed);
  // A new nonce works.
  DigestClient fresh = client("SHA-256");
  EXPECT_EQ(verify(fresh).outcome, Outcome::Ok);
}

TEST_F(DigestTest, NonceTtlIsConfigurable) {
  DigestAuthenticator short_lived(clock_, DigestConfig{Duration(1000), {DigestAlgorithm::Md5}});
  DigestClient c;
  c.nonce = short_lived.newNonce();
  clock_.advance(Duration(1001));
  auto msg = registerWith("Authorization: " + c.header() + "\r\n");
  EXPECT_EQ(short_lived.verify(*msg, HeaderId::Authorization, "example.com", users_).outcome,
            Outcome::Stale);
}

TEST_F(DigestTest, ForgedOrAlteredNonceFails) {
  std::string nonce = auth_.newNonce();
  ASSERT_EQ(nonce.size(), 64u);
  // Timestamp (0..15), random part (16..31), MAC (32..63): any change breaks the MAC.
  for (size_t i : {0u, 15u, 16u, 31u, 32u, 63u}) {
    DigestClient c = client();
    c.nonce = alteredAt(nonce, i);
    EXPECT_EQ(verify(c).outcome, Outcome::Failed) << "changed at " << i;
  }
  std::vector<std::string> bad = {
      nonce.substr(0, 62),                                     // short
      nonce + "00",                                            // long
      "z" + nonce.substr(1),                                   // not hex
      std::string(64, '0'),                                    // made up
      DigestAuthenticator(clock_, DigestConfig{}).newNonce(),  // another secret
      "dcd98b7102dd2f0e8b11d0f600bfb0c093",                    // RFC 2617's
  };
  for (const std::string& n : bad) {
    DigestClient c = client();
    c.nonce = n;
    EXPECT_EQ(verify(c).outcome, Outcome::Failed) << n;
  }
  // Control: the nonce as issued passes.
  DigestClient c = client();
  c.nonce = nonce;
  EXPECT_EQ(verify(c).outcome, Outcome::Ok);
}

TEST_F(DigestTest, ExpiredNonceCannotBeRevivedByChangingItsTimestamp) {
  std::string old = auth_.newNonce();
  clock_.advance(Duration(400000));
  std::string now = auth_.newNonce();
  // The old nonce's random part and MAC under the current timestamp.
  DigestClient c = client();
  c.nonce = now.substr(0, 16) + old.substr(16);
  EXPECT_EQ(verify(c).outcome, Outcome::Failed);
  c.nonce = old;
  EXPECT_EQ(verify(c).outcome, Outcome::Stale);
}

TEST_F(DigestTest, ReplayedNonceCountIsRefused) {
  DigestClient c = client("SHA-256");
  EXPECT_EQ(verify(c).outcome, Outcome::Ok);
  EXPECT_EQ(verify(c).outcome, Outcome::Failed) << "the same nc again";
  c.nc = "00000002";
  EXPECT_EQ(verify(c).outcome, Outcome::Ok);
  c.nc = "00000001";
  EXPECT_EQ(verify(c).outcome, Outcome::Failed) << "a lower nc";
  c.nc = "0000000a";
  EXPECT_EQ(verify(c).outcome, Outcome::Ok) << "counts may skip";
  c.nc = "00000009";
  EXPECT_EQ(verify(c).outcome, Outcome::Failed);
  // Counts are per nonce: another nonce starts again at 1.
  DigestClient other = client("SHA-256");
  EXPECT_EQ(verify(other).outcome, Outcome::Ok);
}

TEST_F(DigestTest, RefusedAttemptsDoNotConsumeTheNonceCount) {
  DigestClient c = client();
  DigestClient wrong = c;
  wrong.password = "wrong";
  EXPECT_EQ(verify(wrong).outcome, Outcome::Failed);
  EXPECT_EQ(verify(c).outcome, Outcome::Ok);
}

TEST_F(DigestTest, ReplayIsRefusedAcrossHeaders) {
  DigestClient c = client();
  EXPECT_EQ(verify(c, HeaderId::ProxyAuthorization, "Proxy-Authorization").outcome, Outcome::Ok);
  EXPECT_EQ(verify(c).outcome, Outcome::Failed);
}

}  // namespace
}  // namespace herald::registrar
