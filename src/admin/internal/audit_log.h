#pragma once

// The audit log (docs/admin-api.md, "Audit log"): GET /audit, newest first, filtered by
// before_id, object_type and actor. Entries are written by the change runner.

#include "admin/internal/context.h"
#include "admin/internal/resource.h"

namespace herald::admin::detail {

class AuditLog final : public Resource {
 public:
  explicit AuditLog(Context& ctx) : ctx_(ctx) {}

  // `total` counts the entries that match object_type and actor (not before_id), so that it
  // stays the same while a client pages with before_id.
  ApiResult<Answer> list(const ListQuery& q) override;
  ApiResult<Answer> get(const std::string& key) override;

 private:
  Context& ctx_;
};

}  // namespace herald::admin::detail
