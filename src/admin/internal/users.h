#pragma once

// Local SIP users (docs/admin-api.md, "Users"): /users, /users/{address} and
// /users/{address}/password. Passwords become digest HA1 values (MD5 and SHA-256, realm =
// domain) as the registrar computes them; the node hears of each change through
// NodeControl::userChanged / userDeleted after COMMIT.

#include <string>

#include "admin/internal/context.h"
#include "admin/internal/resource.h"

namespace herald::admin::detail {

class Users final : public Resource {
 public:
  explicit Users(Context& ctx) : ctx_(ctx) {}

  ApiResult<Answer> list(const ListQuery& q) override;
  ApiResult<Answer> get(const std::string& key) override;
  ApiResult<Answer> create(const nlohmann::json& body, const Change& change) override;
  ApiResult<Answer> update(const std::string& key, const nlohmann::json& body,
                           const Change& change) override;
  ApiResult<Answer> remove(const std::string& key, const Change& change) override;
  ApiResult<Answer> setPassword(const std::string& key, const nlohmann::json& body,
                                const Change& change);

 private:
  nlohmann::json userJson(const store::UserRecord& u);
  ApiResult<store::UserRecord> find(store::Store& s, const std::string& key);

  Context& ctx_;
};

}  // namespace herald::admin::detail
