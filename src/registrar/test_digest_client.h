#pragma once

// DigestClient: what a user agent computes to answer a digest challenge (RFC 2617 §3.2.2 with
// qop=auth; RFC 7616 for SHA-256). Tests only. Written against OpenSSL directly rather than
// with registrar/digest.h, so that tests of DigestAuthenticator check it against a computation
// of their own (digest_test.cc checks this one against the RFC examples).
//
//   DigestClient c;
//   c.nonce = auth.newNonce();
//   std::string line = "Authorization: " + c.header() + "\r\n";

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace herald::registrar::test {

// Lower-case hex of SHA-256 ("SHA-256", "sha-256") or else MD5 of data.
inline std::string hashHex(std::string_view algorithm, std::string_view data) {
  const EVP_MD* md = algorithm == "SHA-256" || algorithm == "sha-256" ? EVP_sha256() : EVP_md5();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += "0123456789abcdef"[out[i] >> 4];
    hex += "0123456789abcdef"[out[i] & 0xF];
  }
  return hex;
}

struct DigestClient {
  std::string username = "alice";
  std::string realm = "example.com";
  std::string password = "secret";
  std::string nonce;
  std::string method = "REGISTER";
  std::string uri = "sip:example.com";
  std::string algorithm = "MD5";  // empty: the parameter is left out (MD5)
  std::string qop = "auth";
  std::string nc = "00000001";
  std::string cnonce = "0a4f113b";
  // Sent instead of response() when not empty.
  std::string response_value;
  // A parameter to leave out of header() ("nc", "cnonce"...).
  std::string omit;

  std::string hashAlgorithm() const { return algorithm.empty() ? "MD5" : algorithm; }
  std::string ha1() const {
    return hashHex(hashAlgorithm(), username + ":" + realm + ":" + password);
  }
  std::string response() const {
    std::string ha2 = hashHex(hashAlgorithm(), method + ":" + uri);
    return hashHex(hashAlgorithm(),
                   ha1() + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2);
  }
  // The credentials: "Digest username=..., response=..."
  std::string header() const {
    std::string out = "Digest ";
    auto add = [&](std::string_view name, const std::string& value, bool quoted) {
      if (name == omit) return;
      if (out.size() > 7) out += ", ";
      out += name;
      out += quoted ? "=\"" + value + "\"" : "=" + value;
    };
    add("username", username, true);
    add("realm", realm, true);
    add("nonce", nonce, true);
    add("uri", uri, true);
    add("response", response_value.empty() ? response() : response_value, true);
    if (!algorithm.empty()) add("algorithm", algorithm, false);
    add("qop", qop, false);
    add("nc", nc, false);
    add("cnonce", cnonce, true);
    return out;
  }
};

}  // namespace herald::registrar::test
