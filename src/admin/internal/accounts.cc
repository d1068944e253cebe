#include "admin/internal/accounts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "admin/internal/api_errors.h"
#include "admin/internal/change_runner.h"
#include "admin/internal/fields.h"
#include "admin/internal/password_hash.h"
#include "admin/internal/text_rules.h"
#include "common/log.h"

namespace herald::admin::detail {
namespace {

constexpr const char* kFirstAdmin = "admin";
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

// Writes `text` to a new file readable by its owner only, replacing an older one.
Result<void> writeSecretFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return unexpected(unavailable("cannot create " + tmp.string() + ": " + strerror(errno)));
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return unexpected(unavailable("cannot write " + path.string() + ": " + strerror(errno)));
  }
  return {};
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
    file = data_dir / "initial-admin-password";
    if (auto w = writeSecretFile(file, password + "\n"); !w) {
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

ApiResult<Session> Accounts::login(const std::string& username, const std::string& password,
                                   const std::string& source_address, int64_t* retry_after_s) {
  // While blocked, the password is not even checked: a guess then learns nothing.
  if (auto wait = limiter_.blockedFor(source_address)) {
    if (retry_after_s != nullptr) *retry_after_s = *wait;
    return tl::unexpected(rateLimited(*wait, "failed logins"));
  }
  std::optional<store::AdminRecord> admin;
  {
    std::lock_guard<std::mutex> lock(ctx_.store_mu);
    auto found = ctx_.store->findAdmin(username);
    if (!found) return tl::unexpected(internalError(found.error()));
    admin = std::move(*found);
  }
  // The same work for an unknown name as for a wrong password.
  bool ok = verifyPassword(admin ? hashOf(*admin) : decoyHash(), password) && admin.has_value();
  if (!ok) {
    limiter_.recordFailure(source_address);
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
  return sessions_.create(username);
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
  // with failed logins from the same address, and while it is limited none is checked.
  if (auto wait = limiter_.blockedFor(source_address)) {
    return tl::unexpected(rateLimited(*wait, "wrong passwords"));
  }
  if (!verifyPassword(hashOf(*admin), **current)) {
    limiter_.recordFailure(source_address);
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
  return {};
}

}  // namespace herald::admin::detail
