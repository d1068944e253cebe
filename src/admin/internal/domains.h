#pragma once

// Local domains (docs/admin-api.md, "Local domains"): /domains and /domains/{name}.

#include <string>
#include <vector>

#include "admin/internal/context.h"
#include "admin/internal/resource.h"

namespace herald::admin::detail {

class Domains final : public Resource {
 public:
  explicit Domains(Context& ctx) : ctx_(ctx) {}

  ApiResult<Answer> list(const ListQuery& q) override;
  ApiResult<Answer> get(const std::string& key) override;
  ApiResult<Answer> create(const nlohmann::json& body, const Change& change) override;
  ApiResult<Answer> update(const std::string& key, const nlohmann::json& body,
                           const Change& change) override;
  ApiResult<Answer> remove(const std::string& key, const Change& change) override;

  // At open: adds the config file's sip.domains that the store lacks (audit actor "config").
  ApiResult<void> importConfigDomains(const std::vector<std::string>& names);

 private:
  Context& ctx_;
};

}  // namespace herald::admin::detail
