#pragma once

// Digest authentication for local users (RFC 3261 §22, RFC 8760 SHA-256 and MD5,
// qop=auth). Nonces are stateless — a timestamp and random bytes sealed with an HMAC of a
// per-process secret — and expire after nonce_ttl; replays are refused by remembering the
// highest nonce-count seen for each nonce. Thread-safe: shared by all workers.
//
//   auto check = auth.verify(msg, HeaderId::Authorization, "example.com", users);
//   if (check.outcome != DigestAuthenticator::Outcome::Ok)
//     reply(401, auth.challenge(HeaderId::WwwAuthenticate, "example.com",
//                               check.outcome == Outcome::Stale));

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "registrar/user_directory.h"
#include "sip/message/sip_message.h"

namespace herald::registrar {

enum class DigestAlgorithm { Md5, Sha256 };

// Lower-case hex of H(data) for the algorithm.
std::string digestHex(DigestAlgorithm a, std::string_view data);
// HA1 = H(username ":" realm ":" password), what the store keeps instead of a password.
std::string computeHa1(DigestAlgorithm a, std::string_view username, std::string_view realm,
                       std::string_view password);

struct DigestConfig {
  // Default: 300 s. How long a nonce may be used.
  Duration nonce_ttl{300000};
  // Default: SHA-256 then MD5. The challenges offered, most preferred first (RFC 8760 §2.4).
  std::vector<DigestAlgorithm> algorithms{DigestAlgorithm::Sha256, DigestAlgorithm::Md5};
  // Default: true. The credentials' `uri` must name the Request-URI (RFC 2617 §3.2.2.5), so
  // that a signed request cannot be redirected to another target on its way here.
  bool check_uri = true;
};

// The reason phrase of the 400 for Outcome::UriMismatch.
inline constexpr const char* kDigestUriMismatch = "Bad Request (digest uri is not the Request-URI)";

class DigestAuthenticator {
 public:
  // UriMismatch: a correct response, signed for another `uri` than the Request-URI (400).
  enum class Outcome { Ok, NoCredentials, Stale, Failed, UriMismatch };
  struct Check {
    Outcome outcome = Outcome::NoCredentials;
    std::string username;  // the authenticated user when Ok
  };

  DigestAuthenticator(const Clock& clock, DigestConfig config);

  // Verifies the credentials for `realm` in the Authorization or Proxy-Authorization headers.
  Check verify(const sip::SipMessage& msg, sip::HeaderId credentials, std::string_view realm,
               const UserDirectory& users);
  // "WWW-Authenticate: Digest ...\r\n" lines, one per configured algorithm, for a 401/407.
  std::string challenge(sip::HeaderId header, std::string_view realm, bool stale);
  std::string newNonce();

 private:
  enum class NonceState { Valid, Expired, Bad };
  NonceState checkNonce(std::string_view nonce) const;
  bool acceptNonceCount(const std::string& nonce, uint32_t nc);

  const Clock& clock_;
  DigestConfig config_;
  std::string secret_;
  std::mutex mu_;
  struct Seen {
    uint32_t nc;
    int64_t issued;
  };
  std::unordered_map<std::string, Seen> seen_;
  int64_t last_purge_ = 0;
};

}  // namespace herald::registrar
