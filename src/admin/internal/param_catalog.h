#pragma once

// The service parameters of docs/admin-api.md: their types, ranges, allowed values and
// cross-field orderings, and where each lives in a Policy. Adding a parameter is one entry in
// param_catalog.cc (and a field in admin/policy.h).

#include <cstdint>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

#include "admin/admin_service.h"
#include "admin/node_control.h"  // the policy types

namespace herald::admin::detail {

enum class ParamType { Fqdn, Ip, Bool, Integer, Enum };
std::string_view paramTypeName(ParamType t);

struct ParamDef {
  std::string_view name;
  bool node_scope = false;
  ParamType type = ParamType::Bool;
  bool empty_allowed = false;  // fqdn, ip: "" means "not set"
  int64_t min = 0;             // integer: inclusive range
  int64_t max = 0;
  std::string_view unit;                      // integer: "ms", "s" or ""
  std::string_view config_key;                // node scope: the config file key it mirrors
  std::span<const std::string_view> allowed;  // enum
  std::string_view at_least;  // ordering: the value must be >= this parameter's value
  std::string_view at_most;   // ordering: the value must be <= this parameter's value
  std::string_view description;
  // The parameter's value in a Policy, and setting it. REQUIRES for set: a value that
  // checkParamValue() returned.
  struct Access {
    nlohmann::json (*get)(const Policy&) = nullptr;
    void (*set)(Policy&, const nlohmann::json&) = nullptr;
  } access;
};

// Cluster parameters first, then node ones, each by name (the order of GET /params).
std::span<const ParamDef> paramCatalog();
const ParamDef* findParam(std::string_view name);

// Checks a value for `def`: its JSON type (400 rule `type`), then, when `in_force` is given,
// the cross-field ordering against the other parameter's value in it (422 `ordering` with
// `related`), then the parameter's own rules (422 `range`, `enum`, `fqdn`, `ip`). Ordering
// comes before range because the contract's example answers sip-t2 = 300 (also below
// sip-t2's minimum) with `ordering`. Returns the value as it is kept: integers as int64,
// domain names lower-cased without a trailing dot.
ApiResult<nlohmann::json> checkParamValue(const ParamDef& def, const nlohmann::json& value,
                                          const Policy* in_force);

// The cross-field ordering alone (a reset checks the default against it).
// REQUIRES: `value` is an integer when `def` has an ordering.
ApiResult<void> checkOrdering(const ParamDef& def, const nlohmann::json& value,
                              const Policy& in_force);

}  // namespace herald::admin::detail
