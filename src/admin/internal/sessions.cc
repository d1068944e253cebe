#include "admin/internal/sessions.h"

#include <algorithm>

#include "admin/internal/password_hash.h"

namespace herald::admin::detail {
namespace {

int64_t seconds(Duration d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); }

}  // namespace

bool SessionTable::live(const Entry& e, TimePoint now) const {
  return now - e.last_used < kIdle && now - e.created < kAbsolute;
}

// expires_at: the idle deadline, or the absolute one when that comes first.
Session SessionTable::sessionOf(const std::string& token, const Entry& e, TimePoint now) const {
  TimePoint deadline = std::min(e.last_used + kIdle, e.created + kAbsolute);
  return Session{token, e.username, clock_.unixSeconds() + seconds(deadline - now), ""};
}

Session SessionTable::create(const std::string& username) {
  std::string token = randomBase64Url(32);
  TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(tokens_, [&](const auto& kv) { return !live(kv.second, now); });
  Entry& e = tokens_[token];
  e = Entry{username, now, now};
  return sessionOf(token, e, now);
}

std::optional<Session> SessionTable::use(const std::string& token) {
  TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return std::nullopt;
  if (!live(it->second, now)) {
    tokens_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return sessionOf(token, it->second, now);
}

bool SessionTable::revoke(const std::string& token) {
  TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return false;
  bool was_live = live(it->second, now);
  tokens_.erase(it);
  return was_live;
}

void SessionTable::revokeOthers(const std::string& username, const std::string& keep) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(tokens_,
                [&](const auto& kv) { return kv.second.username == username && kv.first != keep; });
}

}  // namespace herald::admin::detail
