#pragma once

// Service parameters (docs/admin-api.md, "Service parameters"): /params and /params/{name}.
// The value in force is the Policy's; a value set through the API is a row of the store's
// params table and wins over the config file's (the parameter's `default`); a reset nulls the
// row's value, so that the version keeps growing.

#include <string>

#include "admin/internal/context.h"
#include "admin/internal/resource.h"

namespace herald::admin::detail {

struct ParamDef;

class Params final : public Resource {
 public:
  explicit Params(Context& ctx) : ctx_(ctx) {}

  ApiResult<Answer> list(const ListQuery& q) override;
  ApiResult<Answer> get(const std::string& key) override;
  // PUT {"value": ...}
  ApiResult<Answer> update(const std::string& key, const nlohmann::json& body,
                           const Change& change) override;
  // DELETE: a reset to the default; answers the parameter after it.
  ApiResult<Answer> remove(const std::string& key, const Change& change) override;

 private:
  ApiResult<Answer> setValue(const std::string& key, const nlohmann::json* body,
                             const Change& change);
  Context& ctx_;
};

}  // namespace herald::admin::detail
