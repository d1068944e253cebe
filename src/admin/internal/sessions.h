#pragma once

// Administrators' sessions (docs/admin-api.md, Authentication): tokens of 32 random bytes
// (base64url) that expire 8 h after their last use and 24 h after login. In memory only: a
// restart signs everyone out. Thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "admin/admin_service.h"
#include "common/clock.h"

namespace herald::admin::detail {

class SessionTable {
 public:
  static constexpr Duration kIdle = std::chrono::hours(8);
  static constexpr Duration kAbsolute = std::chrono::hours(24);

  explicit SessionTable(const Clock& clock) : clock_(clock) {}

  Session create(const std::string& username);
  // The session of a live token, its idle deadline moved on; nullopt otherwise.
  std::optional<Session> use(const std::string& token);
  // False when the token is not live.
  bool revoke(const std::string& token);
  // Revokes every token of `username` but `keep`.
  void revokeOthers(const std::string& username, const std::string& keep);

 private:
  struct Entry {
    std::string username;
    TimePoint created;
    TimePoint last_used;
  };
  bool live(const Entry& e, TimePoint now) const;
  Session sessionOf(const std::string& token, const Entry& e, TimePoint now) const;

  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Entry> tokens_;
};

}  // namespace herald::admin::detail
