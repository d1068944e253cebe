#pragma once

// The node's services (docs/admin-api.md, "Services"): /services, /services/{name} and the
// actions activate, deactivate (the persistent switch, applied through the Policy) and restart
// (NodeControl::restartService, not a configuration change).

#include <string>

#include "admin/internal/context.h"
#include "admin/internal/resource.h"

namespace herald::admin::detail {

class Services final : public Resource {
 public:
  explicit Services(Context& ctx) : ctx_(ctx) {}

  ApiResult<Answer> list(const ListQuery& q) override;
  ApiResult<Answer> get(const std::string& key) override;
  ApiResult<Answer> action(const std::string& name, const std::string& action,
                           const Change& change);

 private:
  nlohmann::json serviceJson(Service s, bool activated);
  ApiResult<Answer> setActivated(Service s, bool activated, const Change& change);
  ApiResult<Answer> restart(Service s, const Change& change);

  Context& ctx_;
};

}  // namespace herald::admin::detail
