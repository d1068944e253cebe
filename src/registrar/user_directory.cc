#include "registrar/user_directory.h"

#include <cctype>

namespace herald::registrar {

namespace {

void buildKey(std::string_view username, std::string_view domain, std::string* k) {
  k->assign(username);
  k->push_back('@');
  for (char c : domain) {
    k->push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
}

}  // namespace

std::string UserDirectory::key(std::string_view username, std::string_view domain) {
  std::string k;
  buildKey(username, domain, &k);
  return k;
}

void UserDirectory::replace(const std::vector<store::UserRecord>& users) {
  replaceIfUnchanged(users, generation());
}

bool UserDirectory::replaceIfUnchanged(const std::vector<store::UserRecord>& users,
                                       uint64_t seen) {
  Map map;
  for (const auto& u : users) {
    map[key(u.username, u.domain)] =
        UserEntry{u.username, u.domain, u.display_name, u.ha1_md5, u.ha1_sha256};
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (generation_ != seen) return false;
  map_.swap(map);
  return true;
}

uint64_t UserDirectory::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

void UserDirectory::upsert(UserEntry user) {
  std::string k = key(user.username, user.domain);
  std::lock_guard<std::mutex> lock(mu_);
  map_[k] = std::move(user);
  ++generation_;
}

void UserDirectory::erase(std::string_view username, std::string_view domain) {
  std::string k = key(username, domain);
  std::lock_guard<std::mutex> lock(mu_);
  map_.erase(k);
  ++generation_;
}

std::optional<UserEntry> UserDirectory::find(std::string_view username,
                                             std::string_view domain) const {
  std::string k = key(username, domain);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(k);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

bool UserDirectory::contains(std::string_view username, std::string_view domain) const {
  thread_local std::string k;  // reused: no allocation per request
  buildKey(username, domain, &k);
  std::lock_guard<std::mutex> lock(mu_);
  return map_.find(k) != map_.end();
}

size_t UserDirectory::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

}  // namespace herald::registrar
