#include "admin/internal/device_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "admin/internal/password_hash.h"
#include "store/file_modes.h"

namespace herald::admin::detail {
namespace {

constexpr std::string_view kPrefix = "d1.";
constexpr size_t kKeyChars = 43;  // 32 bytes in base64url
constexpr size_t kMaxTokenChars = 128;

}  // namespace

Result<void> DeviceTokens::loadKey(const std::filesystem::path& data_dir) {
  std::filesystem::path path = data_dir / "admin-device-key";
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    std::string key = text.str();
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    if (key.size() >= kKeyChars) {
      key_ = key;
      return {};
    }
    // A damaged or truncated key is replaced: only device tokens are lost.
  }
  std::string key = randomBase64Url(32);
  HERALD_TRY(store::writePrivateFile(path, key + "\n"));
  key_ = key;
  return {};
}

std::string DeviceTokens::mac(const std::string& signed_text) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), out, &len);
  return base64Url(out, len);
}

std::string DeviceTokens::issue(const std::string& username) const {
  if (key_.empty()) return "";
  std::string head = std::string(kPrefix) + std::to_string(clock_.unixSeconds() + kLifetimeS) +
                     "." + randomBase64Url(16);
  return head + "." + mac(head + "." + username);
}

std::optional<DeviceTokens::Verified> DeviceTokens::verify(const std::string& token,
                                                           const std::string& username) const {
  if (key_.empty() || token.size() > kMaxTokenChars || !token.starts_with(kPrefix)) {
    return std::nullopt;
  }
  size_t exp_end = token.find('.', kPrefix.size());
  if (exp_end == std::string::npos) return std::nullopt;
  size_t id_end = token.find('.', exp_end + 1);
  if (id_end == std::string::npos || id_end == exp_end + 1) return std::nullopt;
  int64_t expires = 0;
  const char* first = token.data() + kPrefix.size();
  const char* last = token.data() + exp_end;
  auto [end, ec] = std::from_chars(first, last, expires);
  if (ec != std::errc() || end != last) return std::nullopt;
  std::string expected = mac(token.substr(0, id_end) + "." + username);
  std::string_view got = std::string_view(token).substr(id_end + 1);
  if (got.size() != expected.size() ||
      CRYPTO_memcmp(got.data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  if (expires <= clock_.unixSeconds()) return std::nullopt;
  return Verified{token.substr(exp_end + 1, id_end - exp_end - 1), expires};
}

}  // namespace herald::admin::detail
