#pragma once

// Administrators (docs/admin-api.md, Authentication and Administrators): the first-start
// account, login with its limits (LoginLimiter, DeviceTokens), sessions, logout, and changing
// one's own password.
// Password checks run outside the store lock: they are slow on purpose.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "admin/internal/context.h"
#include "admin/internal/device_tokens.h"
#include "admin/internal/login_limiter.h"
#include "admin/internal/sessions.h"

namespace herald::admin::detail {

class Accounts {
 public:
  explicit Accounts(Context& ctx)
      : ctx_(ctx), sessions_(ctx.clock), limiter_(ctx.clock), devices_(ctx.clock) {}

  // With no administrator in the store, creates `admin`: with `password` when given (the
  // config's admin.initial_password), otherwise with a random password written to
  // `data_dir`/initial-admin-password (0600). Returns that file's path when it wrote it.
  ApiResult<std::optional<std::filesystem::path>> ensureFirstAdmin(
      const std::filesystem::path& data_dir, const std::string& password);

  // Reads or makes the key of device tokens (DeviceTokens) in `data_dir`, and remembers the
  // directory: changing the first administrator's password removes initial-admin-password.
  ApiResult<void> loadDeviceKey(const std::filesystem::path& data_dir);

  // Limited by LoginLimiter; a valid `device_token` of `username` lifts the shared budgets.
  // The session carries a fresh device token.
  ApiResult<Session> login(const std::string& username, const std::string& password,
                           const std::string& source_address, const std::string& device_token,
                           int64_t* retry_after_s);
  ApiResult<void> logout(const std::string& token);
  ApiResult<Session> authenticate(const std::string& token);
  ApiResult<void> changePassword(const std::string& name, const nlohmann::json& body,
                                 const Session& session, const std::string& source_address);

  // Failed logins since start (the admin.logins_failed counter of GET /status).
  uint64_t failedLogins() const { return failed_logins_.load(); }
  // Attempts refused by the limits (admin.logins_rate_limited).
  uint64_t rateLimitedLogins() const { return rate_limited_.load(); }

 private:
  ApiResult<void> audit(const Actor& actor, const std::string& action,
                        const std::string& object_id);

  Context& ctx_;
  std::filesystem::path data_dir_;
  SessionTable sessions_;
  LoginLimiter limiter_;
  DeviceTokens devices_;
  std::atomic<uint64_t> failed_logins_{0};
  std::atomic<uint64_t> rate_limited_{0};
};

}  // namespace herald::admin::detail
