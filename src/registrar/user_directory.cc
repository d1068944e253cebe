#include "registrar/user_directory.h"

#include <cctype>

namespace herald::registrar {

std::string UserDirectory::key(std::string_view username, std::string_view domain) {
  std::string k(username);
  k.push_back('@');
  for (char c : domain) k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return k;
}

void UserDirectory::replace(const std::vector<store::UserRecord>& users) {
  auto map = std::make_shared<Map>();
  for (const auto& u : users) {
    (*map)[key(u.username, u.domain)] =
        UserEntry{u.username, u.domain, u.display_name, u.ha1_md5, u.ha1_sha256};
  }
  std::lock_guard<std::mutex> lock(mu_);
  map_ = std::move(map);
}

std::optional<UserEntry> UserDirectory::find(std::string_view username,
                                             std::string_view domain) const {
  std::shared_ptr<const Map> map;
  {
    std::lock_guard<std::mutex> lock(mu_);
    map = map_;
  }
  auto it = map->find(key(username, domain));
  if (it == map->end()) return std::nullopt;
  return it->second;
}

size_t UserDirectory::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_->size();
}

}  // namespace herald::registrar
