#include "admin/internal/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

#include "common/assert.h"

namespace herald::admin::detail {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
// Bounds a stored record may ask for: a damaged row must not make a login take minutes.
constexpr int64_t kMaxIterations = 10'000'000;

std::vector<unsigned char> randomBytes(size_t n) {
  std::vector<unsigned char> out(n);
  // A CSPRNG that cannot produce bytes leaves no safe way to go on.
  HERALD_CHECK(RAND_bytes(out.data(), static_cast<int>(n)) == 1);
  return out;
}

std::string toHex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xF];
  }
  return out;
}

bool fromHex(std::string_view hex, std::vector<unsigned char>* out) {
  if (hex.size() % 2 != 0) return false;
  auto value = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = value(hex[i]);
    int lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return true;
}

std::vector<unsigned char> pbkdf2(std::string_view password, const std::vector<unsigned char>& salt,
                                  int64_t iterations, size_t length) {
  std::vector<unsigned char> out(length);
  HERALD_CHECK(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                                 static_cast<int>(salt.size()), static_cast<int>(iterations),
                                 EVP_sha256(), static_cast<int>(length), out.data()) == 1);
  return out;
}

}  // namespace

PasswordHash hashPassword(std::string_view password) {
  std::vector<unsigned char> salt = randomBytes(kSaltBytes);
  std::vector<unsigned char> hash = pbkdf2(password, salt, kPbkdf2Iterations, kHashBytes);
  return PasswordHash{std::string(kPbkdf2Algorithm), kPbkdf2Iterations,
                      toHex(salt.data(), salt.size()), toHex(hash.data(), hash.size())};
}

bool verifyPassword(const PasswordHash& stored, std::string_view password) {
  std::vector<unsigned char> salt;
  std::vector<unsigned char> expected;
  if (stored.algorithm != kPbkdf2Algorithm || stored.iterations < 1 ||
      stored.iterations > kMaxIterations || !fromHex(stored.salt_hex, &salt) ||
      !fromHex(stored.hash_hex, &expected) || expected.empty()) {
    return false;
  }
  std::vector<unsigned char> actual = pbkdf2(password, salt, stored.iterations, expected.size());
  return CRYPTO_memcmp(actual.data(), expected.data(), expected.size()) == 0;
}

// Random bytes where the hash would be: verifying runs the full PBKDF2 and then fails.
const PasswordHash& decoyHash() {
  static const PasswordHash decoy = [] {
    std::vector<unsigned char> salt = randomBytes(kSaltBytes);
    std::vector<unsigned char> hash = randomBytes(kHashBytes);
    return PasswordHash{std::string(kPbkdf2Algorithm), kPbkdf2Iterations,
                        toHex(salt.data(), salt.size()), toHex(hash.data(), hash.size())};
  }();
  return decoy;
}

std::string randomBase64Url(size_t bytes) {
  std::vector<unsigned char> raw = randomBytes(bytes);
  return base64Url(raw.data(), raw.size());
}

std::string base64Url(const unsigned char* data, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    unsigned char b = data[i];
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

}  // namespace herald::admin::detail
