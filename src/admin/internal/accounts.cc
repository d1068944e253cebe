#include "admin/internal/accounts.h"

#include <array>

#include "admin/internal/api_errors.h"
#include "admin/internal/change_runner.h"
#include "admin/internal/fields.h"
#include "admin/internal/password_hash.h"
#include "admin/internal/text_rules.h"
#include "common/log.h"
#include "store/file_modes.h"

namespace herald::admin::detail {
namespace {

constexpr const char* kFirstAdmin = "admin";
constexpr const char* kInitialPasswordFile = "initial-admin-password";
constexpr size_t kMinAdminPassword = 12;
constexpr size_t kMaxAdminPassword = 128;
constexpr std::array<std::string_view, 2> kPasswordFields = {"current_password", "password"};

PasswordHash hashOf(const store::AdminRecord& a) {
  return PasswordHash{a.algorithm, a.iterations, a.salt_hex, a.hash_hex};
}

store::AdminRecord recordOf(const std::string& name, const PasswordHash& h, int64_t created,
                            int64_t now) {
  return store::AdminRecord{name, h.algorithm, h.iterations, h.salt_hex, h.hash_hex, created, now};
}

}  // namespace

ApiResult<std::optional<std::filesystem::path>> Accounts::ensureFirstAdmin(
    const std::filesystem::path& data_dir, const std::string& configured) {
  {
    std::lock_guard<std::mutex> lock(ctx_.store_mu);
    auto count = ctx_.store->countAdmins();
    if (!count) return tl::unexpected(internalError(count.error()));
    if (*count > 0) return std::optional<std::filesystem::path>();
  }
  std::string password = configured;
  std::filesystem::path file;
  if (password.empty()) {
    // The file first: an administrator whose password nobody can read locks everyone out.
    password = randomBase64Url(18);
    file = data_dir / kInitialPasswordFile;
    if (auto w = store::writePrivateFile(file, password + "\n"); !w) {
      return tl::unexpected(internalError(w.error()));
    }
  }
  PasswordHash hash = hashPassword(password);
  int64_t now = ctx_.clock.unixSeconds();
  std::lock_guard<std::mutex> lock(ctx_.store_mu);
  if (auto w = ctx_.store->putAdmin(recordOf(kFirstAdmin, hash, now, now)); !w) {
    return tl::unexpected(internalError(w.error()));
  }
  if (file.empty()) {
    HLOG_INFO(Admin, "first start: administrator '{}' has the configured initial password",
              kFirstAdmin);
    return std::optional<std::filesystem::path>();
  }
  HLOG_WARN(Admin, "first start: the password of administrator '{}' is in {}; change it",
            kFirstAdmin, file.string());
  return std::optional<std::filesystem::path>(file);
}

ApiResult<void> Accounts::audit(const Actor& actor, const std::string& action,
                                const std::string& object_id) {
  auto r = plainChange(ctx_, [&](store::Store&, int64_t) -> ApiResult<Outcome> {
    return Outcome{Answer{}, auditEntry(actor, action, "admin", object_id, nullptr, nullptr),
                   nullptr};
  });
  if (!r) return tl::unexpected(r.error());
  return {};
}

ApiResult<void> Accounts::loadDeviceKey(const std::filesystem::path& data_dir) {
  data_dir_ = data_dir;
  if (auto r = devices_.loadKey(data_dir); !r) return tl::unexpected(internalError(r.error()));
  return {};
}

ApiResult<Session> Accounts::login(const std::string& username, const std::string& password,
                                   const std::string& source_address,
                                   const std::string& device_token, int64_t* retry_after_s) {
  std::optional<DeviceTokens::Verified> device;
  if (!device_token.empty()) device = devices_.verify(device_token, username);
  // The place is taken before the password is checked, so that concurrent guesses count; while
  // refused, the password is not even checked: a guess then learns nothing.
  auto admission = limiter_.admit(loginSourceKey(source_address), username.substr(0, 256),
                                  device ? device->id : "", device ? device->expires_at : 0);
  if (!admission.ticket) {
    ++rate_limited_;
    HLOG_INFO(Admin, "login as '{}' from {} refused for {} s: too many {}",
              failedLoginActor(username), source_address, admission.retry_after_s,
              admission.reason);
    if (retry_after_s != nullptr) *retry_after_s = admission.retry_after_s;
    return tl::unexpected(rateLimited(admission.retry_after_s, admission.reason));
  }
  const LoginLimiter::Ticket& ticket = *admission.ticket;
  std::optional<store::AdminRecord> admin;
  {
    std::lock_guard<std::mutex> lock(ctx_.store_mu);
    auto found = ctx_.store->findAdmin(username);
    if (!found) {
      limiter_.finish(ticket, LoginLimiter::Outcome::Abandoned);
      return tl::unexpected(internalError(found.error()));
    }
    admin = std::move(*found);
  }
  // The same work for an unknown name as for a wrong password.
  bool ok = verifyPassword(admin ? hashOf(*admin) : decoyHash(), password) && admin.has_value();
  limiter_.finish(ticket, ok ? LoginLimiter::Outcome::Succeeded : LoginLimiter::Outcome::Failed);
  if (!ok) {
    ++failed_logins_;
    std::string tried = failedLoginActor(username);
    if (auto a = audit(Actor{tried, source_address}, "login_failed", tried); !a) {
      return tl::unexpected(a.error());
    }
    return tl::unexpected(unauthorized("wrong user name or password"));
  }
  if (auto a = audit(Actor{username, source_address}, "login", username); !a) {
    return tl::unexpected(a.error());
  }
  Session session = sessions_.create(username);
  session.device_token = devices_.issue(username);
  return session;
}

ApiResult<void> Accounts::logout(const std::string& token) {
  if (!sessions_.revoke(token))
    return tl::unexpected(unauthorized("sign in first: no valid token"));
  return {};
}

ApiResult<Session> Accounts::authenticate(const std::string& token) {
  auto session = sessions_.use(token);
  if (!session) return tl::unexpected(unauthorized("sign in first: no valid token"));
  return *session;
}

ApiResult<void> Accounts::changePassword(const std::string& name, const nlohmann::json& body,
                                         const Session& session,
                                         const std::string& source_address) {
  if (name != session.username) {
    return tl::unexpected(forbidden("you can change only your own password"));
  }
  if (auto known = checkKnownFields(body, kPasswordFields); !known) {
    return tl::unexpected(known.error());
  }
  auto current = stringMember(body, "current_password", true);
  if (!current) return tl::unexpected(current.error());
  auto next = stringMember(body, "password", true);
  if (!next) return tl::unexpected(next.error());
  if (auto ok = checkPassword("password", **next, kMinAdminPassword, kMaxAdminPassword); !ok) {
    return tl::unexpected(ok.error());
  }
  std::optional<store::AdminRecord> admin;
  {
    std::lock_guard<std::mutex> lock(ctx_.store_mu);
    auto found = ctx_.store->findAdmin(name);
    if (!found) return tl::unexpected(internalError(found.error()));
    admin = std::move(*found);
  }
  if (!admin) return tl::unexpected(notFound("no administrator " + shown(name)));
  // A stolen token must not become a way to guess the password: wrong current passwords count
  // with failed logins (address, account, node), and while those are spent none is checked.
  auto admission = limiter_.admit(loginSourceKey(source_address), name);
  if (!admission.ticket) {
    ++rate_limited_;
    return tl::unexpected(rateLimited(admission.retry_after_s, "wrong passwords"));
  }
  bool ok = verifyPassword(hashOf(*admin), **current);
  limiter_.finish(*admission.ticket,
                  ok ? LoginLimiter::Outcome::Succeeded : LoginLimiter::Outcome::Failed);
  if (!ok) {
    return tl::unexpected(
        brokenRule("current_password", "current_password", "the current password is not right"));
  }
  PasswordHash hash = hashPassword(**next);
  auto r = plainChange(ctx_, [&](store::Store& s, int64_t now) -> ApiResult<Outcome> {
    if (auto w = s.putAdmin(recordOf(name, hash, admin->created_at, now)); !w) {
      return tl::unexpected(internalError(w.error()));
    }
    return Outcome{
        Answer{},
        auditEntry(Actor{name, source_address}, "password", "admin", name, nullptr, nullptr),
        nullptr};
  });
  if (!r) return tl::unexpected(r.error());
  sessions_.revokeOthers(name, session.token);
  if (name == kFirstAdmin && !data_dir_.empty()) {
    // The first-start password is no longer the password: it must not lie around.
    std::error_code ec;
    std::filesystem::path file = data_dir_ / kInitialPasswordFile;
    if (std::filesystem::remove(file, ec)) {
      HLOG_INFO(Admin, "administrator '{}' changed the first-start password; {} removed", name,
                file.string());
    } else if (ec) {
      HLOG_WARN(Admin, "cannot remove {}: {}", file.string(), ec.message());
    }
  }
  return {};
}

}  // namespace herald::admin::detail
