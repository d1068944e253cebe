#pragma once

// Administrators' passwords: PBKDF2-HMAC-SHA256 (OpenSSL) with a random 16-byte salt per
// password and kPbkdf2Iterations rounds (OWASP's 2023 figure for this hash), and the random
// tokens of sessions and first-start passwords.
//
//   auto h = hashPassword("correct horse battery");     // store h, never the password
//   bool ok = verifyPassword(h, attempt);               // constant-time comparison

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::admin::detail {

inline constexpr int64_t kPbkdf2Iterations = 600'000;
inline constexpr std::string_view kPbkdf2Algorithm = "pbkdf2-sha256";

struct PasswordHash {
  std::string algorithm;  // kPbkdf2Algorithm
  int64_t iterations = 0;
  std::string salt_hex;
  std::string hash_hex;
};

PasswordHash hashPassword(std::string_view password);
// Recomputes with the stored algorithm, rounds and salt and compares in constant time. False
// for an algorithm or parameters this version does not know.
bool verifyPassword(const PasswordHash& stored, std::string_view password);
// A hash no password matches in practice, with the same cost as a real one: login checks it
// for unknown user names so that they take as long as known ones.
const PasswordHash& decoyHash();

// `bytes` random bytes (OpenSSL RAND_bytes), base64url without padding.
std::string randomBase64Url(size_t bytes);
// `n` bytes as base64url without padding.
std::string base64Url(const unsigned char* data, size_t n);

}  // namespace herald::admin::detail
