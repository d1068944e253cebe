#include "admin/internal/policy_builder.h"

#include "admin/internal/federated_domains.h"
#include "admin/internal/param_catalog.h"
#include "admin/internal/service_names.h"
#include "common/log.h"

namespace herald::admin::detail {

Policy defaultPolicy(const Seed& seed) {
  Policy p;
  p.cluster = seed.cluster_defaults;
  p.node = seed.node_defaults;
  return p;
}

Result<Policy> buildPolicy(store::Store& store, const Seed& seed, int64_t version) {
  Policy p = defaultPolicy(seed);
  p.version = version;
  auto domains = store.queryDomains({});
  if (!domains) return unexpected(domains.error());
  for (const auto& d : domains->items) p.local_domains.insert(d.name);
  auto federated = store.queryFederatedDomains({});
  if (!federated) return unexpected(federated.error());
  for (const auto& row : federated->items) {
    auto d = toPolicy(row);
    if (!d) {
      HLOG_WARN(Admin, "ignoring stored federated domain {}: a value is not valid", row.name);
      continue;
    }
    p.federated_domains.emplace(row.name, std::move(*d));
  }

  auto params = store.listParams(seed.node_name);
  if (!params) return unexpected(params.error());
  for (const auto& row : *params) {
    const ParamDef* def = findParam(row.name);
    if (def == nullptr || !row.value_json) continue;  // unknown to this version, or reset
    if ((row.scope == "node") != def->node_scope) continue;
    auto value = nlohmann::json::parse(*row.value_json, nullptr, false);
    ApiResult<nlohmann::json> checked = tl::unexpected(ApiError{});
    if (!value.is_discarded()) checked = checkParamValue(*def, value, nullptr);
    if (!checked) {
      // Only a hand-edited store gets here; the parameter keeps its default.
      HLOG_WARN(Admin, "ignoring stored value of parameter {}: not valid", row.name);
      continue;
    }
    def->access.set(p, *checked);
  }

  auto switches = store.listServiceSwitches();
  if (!switches) return unexpected(switches.error());
  for (const auto& row : *switches) {
    if (auto s = serviceByName(row.name)) setActivated(p.services, *s, row.activated);
  }
  return p;
}

}  // namespace herald::admin::detail
