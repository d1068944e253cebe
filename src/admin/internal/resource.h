#pragma once

// Resource: one collection of docs/admin-api.md ("domains", "users", ...) as AdminService
// calls see it. A method a collection does not have answers 405 (the HTTP layer adds Allow).

#include <string>

#include <nlohmann/json.hpp>

#include "admin/admin_service.h"
#include "admin/internal/api_errors.h"

namespace herald::admin::detail {

class Resource {
 public:
  virtual ~Resource() = default;
  virtual ApiResult<Answer> list(const ListQuery&) { return tl::unexpected(methodNotAllowed()); }
  virtual ApiResult<Answer> get(const std::string&) { return tl::unexpected(methodNotAllowed()); }
  virtual ApiResult<Answer> create(const nlohmann::json&, const Change&) {
    return tl::unexpected(methodNotAllowed());
  }
  virtual ApiResult<Answer> update(const std::string&, const nlohmann::json&, const Change&) {
    return tl::unexpected(methodNotAllowed());
  }
  virtual ApiResult<Answer> remove(const std::string&, const Change&) {
    return tl::unexpected(methodNotAllowed());
  }
};

}  // namespace herald::admin::detail
