#pragma once

// Device tokens (docs/admin-api.md, Authentication): a successful login hands the browser or
// CLI a token that marks it as a device this administrator signed in from before. Its next
// logins are then not refused because a guesser spent the account's, the address's or the
// node's failure budget (LoginLimiter). A device token is not a session and grants nothing
// alone: the password is still checked.
//
//   d1.<expiry, unix seconds>.<id, 16 random bytes>.<HMAC-SHA256 of "d1.<expiry>.<id>.<user>">
//
// The HMAC key is 32 random bytes in <data_dir>/admin-device-key (0600), made at first start;
// deleting that file invalidates every device token. Tokens last 90 days.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"

namespace herald::admin::detail {

class DeviceTokens {
 public:
  static constexpr int64_t kLifetimeS = 90 * 24 * 3600;

  explicit DeviceTokens(const Clock& clock) : clock_(clock) {}

  // Reads the key from `data_dir`/admin-device-key, or makes one there.
  Result<void> loadKey(const std::filesystem::path& data_dir);

  std::string issue(const std::string& username) const;

  struct Verified {
    std::string id;
    int64_t expires_at = 0;
  };
  // The token's id when `token` was issued by this node for `username` and has not expired.
  std::optional<Verified> verify(const std::string& token, const std::string& username) const;

 private:
  std::string mac(const std::string& signed_text) const;

  const Clock& clock_;
  std::string key_;  // empty until loadKey: then no token verifies and issue() returns ""
};

}  // namespace herald::admin::detail
