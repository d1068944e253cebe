#include "registrar/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "sip/message/chars.h"
#include "sip/message/params.h"
#include "sip/message/uri.h"

namespace herald::registrar {

namespace {

std::string toHex(const unsigned char* data, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xF];
  }
  return out;
}

bool fromHex(std::string_view hex, unsigned char* out, size_t n) {
  if (hex.size() != n * 2) return false;
  for (size_t i = 0; i < n; ++i) {
    int hi = sip::chars::hexValue(hex[2 * i]);
    int lo = sip::chars::hexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

std::string hmac(const std::string& key, const unsigned char* data, size_t n) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, n, mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// Whether a digest `uri` names the request's Request-URI: equal as URIs (RFC 3261 §19.1.4)
// when both parse, byte for byte otherwise.
bool namesRequestUri(const sip::SipMessage& msg, const std::string& digest_uri) {
  std::string_view request_uri = msg.requestLine().uri;
  if (digest_uri == request_uri) return true;
  auto parsed_request = msg.requestUri();
  auto parsed_digest = sip::parseUri(digest_uri);
  return parsed_request && parsed_digest && sip::uriEquals(**parsed_request, *parsed_digest);
}

}  // namespace

std::string digestHex(DigestAlgorithm a, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len,
             a == DigestAlgorithm::Md5 ? EVP_md5() : EVP_sha256(), nullptr);
  return toHex(out, len);
}

std::string computeHa1(DigestAlgorithm a, std::string_view username, std::string_view realm,
                       std::string_view password) {
  std::string s(username);
  s += ':';
  s += realm;
  s += ':';
  s += password;
  return digestHex(a, s);
}

DigestAuthenticator::DigestAuthenticator(const Clock& clock, DigestConfig config)
    : clock_(clock), config_(config), secret_(32, '\0') {
  RAND_bytes(reinterpret_cast<unsigned char*>(secret_.data()), static_cast<int>(secret_.size()));
}

// nonce = hex( ts[8] | random[8] | HMAC-SHA256(secret, ts | random)[0..16) )
std::string DigestAuthenticator::newNonce() {
  unsigned char raw[32];
  int64_t now_ms = clock_.now().time_since_epoch().count();
  for (int i = 0; i < 8; ++i) raw[i] = static_cast<unsigned char>(now_ms >> (56 - 8 * i));
  RAND_bytes(raw + 8, 8);
  std::string mac = hmac(secret_, raw, 16);
  std::memcpy(raw + 16, mac.data(), 16);
  return toHex(raw, sizeof(raw));
}

DigestAuthenticator::NonceState DigestAuthenticator::checkNonce(std::string_view nonce) const {
  unsigned char raw[32];
  if (!fromHex(nonce, raw, sizeof(raw))) return NonceState::Bad;
  std::string mac = hmac(secret_, raw, 16);
  if (CRYPTO_memcmp(mac.data(), raw + 16, 16) != 0) return NonceState::Bad;
  int64_t issued = 0;
  for (int i = 0; i < 8; ++i) issued = (issued << 8) | raw[i];
  int64_t now_ms = clock_.now().time_since_epoch().count();
  if (now_ms - issued > config_.nonce_ttl.count() || issued > now_ms + 1000) {
    return NonceState::Expired;
  }
  return NonceState::Valid;
}

bool DigestAuthenticator::acceptNonceCount(const std::string& nonce, uint32_t nc) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now_ms = clock_.now().time_since_epoch().count();
  if (now_ms - last_purge_ > config_.nonce_ttl.count()) {
    for (auto it = seen_.begin(); it != seen_.end();) {
      it = now_ms - it->second.issued > 2 * config_.nonce_ttl.count() ? seen_.erase(it)
                                                                      : std::next(it);
    }
    last_purge_ = now_ms;
  }
  auto [it, inserted] = seen_.try_emplace(nonce, Seen{nc, now_ms});
  if (inserted) return true;
  if (nc <= it->second.nc) return false;  // a replay, or out of order
  it->second.nc = nc;
  return true;
}

DigestAuthenticator::Check DigestAuthenticator::verify(const sip::SipMessage& msg,
                                                       sip::HeaderId credentials,
                                                       std::string_view realm,
                                                       const UserDirectory& users) {
  Check result;
  auto headers = msg.authHeaders(credentials);
  if (!headers) {
    result.outcome = Outcome::Failed;
    return result;
  }
  for (const auto& h : *headers) {
    if (!sip::chars::iequals(h.scheme, "Digest")) continue;
    auto p_realm = h.find("realm");
    if (!p_realm || !sip::chars::iequals(p_realm->unquotedValue(), realm)) continue;
    // Credentials for our realm: from here on, anything wrong is a failure.
    result.outcome = Outcome::Failed;
    auto username = h.find("username");
    auto nonce = h.find("nonce");
    auto uri = h.find("uri");
    auto response = h.find("response");
    auto qop = h.find("qop");
    auto nc = h.find("nc");
    auto cnonce = h.find("cnonce");
    if (!username || !nonce || !uri || !response || !qop || !nc || !cnonce) return result;
    DigestAlgorithm algorithm = DigestAlgorithm::Md5;
    if (auto a = h.find("algorithm")) {
      std::string name = a->unquotedValue();
      if (sip::chars::iequals(name, "SHA-256")) {
        algorithm = DigestAlgorithm::Sha256;
      } else if (!sip::chars::iequals(name, "MD5")) {
        return result;
      }
    }
    if (!sip::chars::iequals(qop->unquotedValue(), "auth")) return result;
    if (std::find(config_.algorithms.begin(), config_.algorithms.end(), algorithm) ==
        config_.algorithms.end()) {
      return result;  // an algorithm this node does not offer
    }
    std::string nonce_text = nonce->unquotedValue();
    NonceState state = checkNonce(nonce_text);
    if (state == NonceState::Bad) return result;
    std::string user = username->unquotedValue();
    auto entry = users.find(user, realm);
    if (!entry) return result;
    const std::string& ha1 = algorithm == DigestAlgorithm::Md5 ? entry->ha1_md5 : entry->ha1_sha256;
    std::string method(msg.requestLine().method_text);
    std::string ha2 = digestHex(algorithm, method + ":" + uri->unquotedValue());
    std::string nc_text(nc->value);
    std::string expected = digestHex(algorithm, ha1 + ":" + nonce_text + ":" + nc_text + ":" +
                                                    cnonce->unquotedValue() + ":auth:" + ha2);
    std::string got = response->unquotedValue();
    for (char& c : got) c = sip::chars::toLower(c);
    if (got.size() != expected.size() ||
        CRYPTO_memcmp(got.data(), expected.data(), expected.size()) != 0) {
      return result;
    }
    if (config_.check_uri && !namesRequestUri(msg, uri->unquotedValue())) {
      result.outcome = Outcome::UriMismatch;
      return result;
    }
    // A correct response to an old nonce: ask again with stale=true (RFC 2617 §3.2.1).
    if (state == NonceState::Expired) {
      result.outcome = Outcome::Stale;
      return result;
    }
    unsigned long long count = 0;
    if (nc_text.size() != 8 || !sip::chars::allOf(nc_text, sip::chars::kHex, false)) return result;
    count = std::stoull(nc_text, nullptr, 16);
    if (!acceptNonceCount(nonce_text, static_cast<uint32_t>(count))) return result;
    result.outcome = Outcome::Ok;
    result.username = user;
    return result;
  }
  return result;
}

std::string DigestAuthenticator::challenge(sip::HeaderId header, std::string_view realm,
                                           bool stale) {
  std::string name(sip::headerName(header));
  std::string nonce = newNonce();
  std::string out;
  for (DigestAlgorithm a : config_.algorithms) {
    const char* algorithm = a == DigestAlgorithm::Sha256 ? "SHA-256" : "MD5";
    out += name;
    out += ": Digest realm=\"";
    out += realm;
    out += "\", nonce=\"";
    out += nonce;
    out += "\", algorithm=";
    out += algorithm;
    out += ", qop=\"auth\"";
    if (stale) out += ", stale=true";
    out += "\r\n";
  }
  return out;
}

}  // namespace herald::registrar
