#pragma once

// UserDirectory: the local users Herald authenticates. The store thread replaces the whole set
// when the users table changes under it (the offline CLI); the admin plane changes one user at
// a time. Any thread may read.

#include <cstdint>
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
  // replace() unless upsert() or erase() ran since generation() returned `seen`; false then.
  bool replaceIfUnchanged(const std::vector<store::UserRecord>& users, uint64_t seen);
  uint64_t generation() const;
  // One user added or changed / removed (the admin plane), without copying the others.
  void upsert(UserEntry user);
  void erase(std::string_view username, std::string_view domain);
  // Case: the user part is case-sensitive (RFC 3261 §19.1.4), the domain is not.
  std::optional<UserEntry> find(std::string_view username, std::string_view domain) const;
  // find() without the copy: the request path asks only whether the user exists.
  bool contains(std::string_view username, std::string_view domain) const;
  size_t size() const;

 private:
  static std::string key(std::string_view username, std::string_view domain);
  mutable std::mutex mu_;
  Map map_;
  uint64_t generation_ = 0;  // upserts and erases so far
};

}  // namespace herald::registrar
