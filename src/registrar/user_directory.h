#pragma once

// UserDirectory: the local users Herald authenticates, as an immutable snapshot that the
// store thread replaces when the users table changes. Any thread may read.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/store.h"

namespace herald::registrar {

struct UserEntry {
  std::string username;
  std::string domain;
  std::string display_name;
  std::string ha1_md5;
  std::string ha1_sha256;
};

class UserDirectory {
 public:
  using Map = std::unordered_map<std::string, UserEntry>;  // key "user@domain"

  void replace(const std::vector<store::UserRecord>& users);
  // Case: the user part is case-sensitive (RFC 3261 §19.1.4), the domain is not.
  std::optional<UserEntry> find(std::string_view username, std::string_view domain) const;
  size_t size() const;

 private:
  static std::string key(std::string_view username, std::string_view domain);
  mutable std::mutex mu_;
  std::shared_ptr<const Map> map_ = std::make_shared<Map>();
};

}  // namespace herald::registrar
