#pragma once

// Federated domains (docs/admin-api.md, "Federated domains"; spec F1, F2, F4, F33, §4.1):
// /federated-domains and /federated-domains/{name}. The enum values of the API and their
// policy counterparts live here too, for the policy builder.

#include <optional>
#include <string>

#include "admin/internal/context.h"
#include "admin/internal/resource.h"
#include "store/store.h"

namespace herald::admin::detail {

class FederatedDomains final : public Resource {
 public:
  explicit FederatedDomains(Context& ctx) : ctx_(ctx) {}

  ApiResult<Answer> list(const ListQuery& q) override;
  ApiResult<Answer> get(const std::string& key) override;
  ApiResult<Answer> create(const nlohmann::json& body, const Change& change) override;
  ApiResult<Answer> update(const std::string& key, const nlohmann::json& body,
                           const Change& change) override;
  ApiResult<Answer> remove(const std::string& key, const Change& change) override;

 private:
  Context& ctx_;
};

// A name as stored: lower-case A-labels without a trailing dot; a U-label name ("bücher.de")
// becomes its A-label form (IDNA2008, libidn2). nullopt when it cannot be converted.
std::optional<std::string> federatedName(std::string_view raw);

// The record as the policy snapshot holds it; nullopt for values this version does not know
// (a hand-edited store).
std::optional<policy::FederatedDomain> toPolicy(const store::FederatedDomainRecord& r);

}  // namespace herald::admin::detail
