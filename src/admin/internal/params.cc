#include "admin/internal/params.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "admin/internal/change_runner.h"
#include "admin/internal/fields.h"
#include "admin/internal/param_catalog.h"
#include "admin/internal/policy_builder.h"
#include "admin/internal/text_rules.h"

namespace herald::admin::detail {
namespace {

using nlohmann::json;

// Every member of a parameter as GET shows it; all but `value` are read-only or identity.
constexpr std::array<std::string_view, 17> kFields = {
    "name",          "scope",   "node",      "type", "value", "default",    "is_default",
    "empty_allowed", "allowed", "min",       "max",  "unit",  "config_key", "restart_required",
    "description",   "version", "updated_at"};

// The store's rows by name (the cluster ones and this node's).
using Rows = std::map<std::string, store::ParamRecord, std::less<>>;

ApiResult<Rows> loadRows(store::Store& s, const std::string& node) {
  auto rows = s.listParams(node);
  if (!rows) return tl::unexpected(internalError(rows.error()));
  Rows out;
  for (auto& r : *rows) {
    std::string name = r.name;
    out.emplace(std::move(name), std::move(r));
  }
  return out;
}

// The parameter as the API shows it, with `policy` in force.
json paramJson(const ParamDef& def, const Policy& policy, const Seed& seed,
               const store::ParamRecord* row, int64_t opened_at) {
  Policy defaults = defaultPolicy(seed);
  json j;
  j["name"] = def.name;
  j["scope"] = def.node_scope ? "node" : "cluster";
  if (def.node_scope) j["node"] = seed.node_name;
  j["type"] = paramTypeName(def.type);
  j["value"] = def.access.get(policy);
  j["default"] = def.access.get(defaults);
  j["is_default"] = row == nullptr || !row->value_json;
  if (def.type == ParamType::Fqdn || def.type == ParamType::Ip) {
    j["empty_allowed"] = def.empty_allowed;
  }
  if (def.type == ParamType::Enum) {
    j["allowed"] = json::array();
    for (std::string_view a : def.allowed) j["allowed"].push_back(a);
  }
  if (def.type == ParamType::Integer) {
    j["min"] = def.min;
    j["max"] = def.max;
    if (!def.unit.empty()) j["unit"] = def.unit;
  }
  if (def.node_scope) j["config_key"] = def.config_key;
  j["restart_required"] = false;
  j["description"] = def.description;
  j["version"] = row != nullptr ? row->version : 1;
  j["updated_at"] = rfc3339(row != nullptr ? row->updated_at : opened_at);
  return j;
}

const store::ParamRecord* rowOf(const Rows& rows, std::string_view name) {
  auto it = rows.find(name);
  return it == rows.end() ? nullptr : &it->second;
}

}  // namespace

ApiResult<Answer> Params::list(const ListQuery& q) {
  if (auto ok = checkPaging(q); !ok) return tl::unexpected(ok.error());
  std::string scope = filter(q, "scope");
  if (!scope.empty() && scope != "cluster" && scope != "node") {
    return tl::unexpected(badQuery("scope", "scope is cluster or node"));
  }
  std::string needle = normalizeDomain(q.q);  // ASCII lower-case; names are kebab-case
  PolicyPtr policy = ctx_.policy();
  std::lock_guard<std::mutex> lock(ctx_.store_mu);
  auto rows = loadRows(*ctx_.store, ctx_.seed.node_name);
  if (!rows) return tl::unexpected(rows.error());
  std::vector<json> matches;
  for (const ParamDef& def : paramCatalog()) {
    if (!scope.empty() && (scope == "node") != def.node_scope) continue;
    if (!needle.empty() && std::string(def.name).find(needle) == std::string::npos) continue;
    matches.push_back(paramJson(def, *policy, ctx_.seed, rowOf(*rows, def.name), ctx_.opened_at));
  }
  Answer a{json::array(), static_cast<int64_t>(matches.size()), 0, policy->version};
  for (size_t i = static_cast<size_t>(q.offset);
       i < matches.size() && a.item.size() < static_cast<size_t>(q.limit); ++i) {
    a.item.push_back(std::move(matches[i]));
  }
  return a;
}

ApiResult<Answer> Params::get(const std::string& key) {
  const ParamDef* def = findParam(key);
  if (def == nullptr) return tl::unexpected(notFound("no parameter " + shown(key)));
  PolicyPtr policy = ctx_.policy();
  std::lock_guard<std::mutex> lock(ctx_.store_mu);
  auto rows = loadRows(*ctx_.store, ctx_.seed.node_name);
  if (!rows) return tl::unexpected(rows.error());
  json item = paramJson(*def, *policy, ctx_.seed, rowOf(*rows, def->name), ctx_.opened_at);
  int64_t version = item["version"].get<int64_t>();
  return Answer{std::move(item), 0, version, policy->version};
}

ApiResult<Answer> Params::update(const std::string& key, const json& body, const Change& change) {
  return setValue(key, &body, change);
}

ApiResult<Answer> Params::remove(const std::string& key, const Change& change) {
  return setValue(key, nullptr, change);
}

// A PUT (body) or a reset (no body).
ApiResult<Answer> Params::setValue(const std::string& key, const json* body, const Change& change) {
  const ParamDef* def = findParam(key);
  if (def == nullptr) return tl::unexpected(notFound("no parameter " + shown(key)));
  return configChange(ctx_, [&](store::Store& s, int64_t now) -> ApiResult<Outcome> {
    // Under the change lock the policy in force is the one the store holds.
    PolicyPtr policy = ctx_.policy();
    auto rows = loadRows(s, ctx_.seed.node_name);
    if (!rows) return tl::unexpected(rows.error());
    const store::ParamRecord* row = rowOf(*rows, def->name);
    json before = paramJson(*def, *policy, ctx_.seed, row, ctx_.opened_at);
    int64_t version = before["version"].get<int64_t>();
    if (auto ok = checkIfMatch(change, version); !ok) return tl::unexpected(ok.error());

    std::optional<json> value;  // nullopt: the reset
    if (body != nullptr) {
      if (auto known = checkKnownFields(*body, kFields); !known) {
        return tl::unexpected(known.error());
      }
      if (auto same = checkIdentity(*body, "name", std::string(def->name)); !same) {
        return tl::unexpected(same.error());
      }
      auto it = body->find("value");
      if (it == body->end()) return tl::unexpected(missingField("value"));
      auto checked = checkParamValue(*def, *it, policy.get());
      if (!checked) return tl::unexpected(checked.error());
      value = std::move(*checked);
    }
    Outcome out{Answer{before, 0, version, 0}, std::nullopt, nullptr};
    // A PUT of the value in force, or a reset of a parameter at its default, changes nothing.
    if (value ? *value == before["value"] : before["is_default"].get<bool>()) return out;
    json in_force = value ? *value : before["default"];
    if (!value) {
      if (auto ok = checkOrdering(*def, in_force, *policy); !ok) return tl::unexpected(ok.error());
    }
    store::ParamRecord next{std::string(def->name),
                            def->node_scope ? "node" : "cluster",
                            def->node_scope ? ctx_.seed.node_name : "",
                            std::nullopt,
                            version + 1,
                            now};
    if (value) next.value_json = value->dump();
    if (auto w = s.putParam(next); !w) return tl::unexpected(internalError(w.error()));
    Policy after_policy = *policy;
    def->access.set(after_policy, in_force);
    json after = paramJson(*def, after_policy, ctx_.seed, &next, ctx_.opened_at);
    out.answer = Answer{after, 0, next.version, 0};
    // A reset is an update too (docs/admin-api.md, Audit log).
    out.audit = auditEntry(change.actor, "update", "param", std::string(def->name), before, after);
    return out;
  });
}

}  // namespace herald::admin::detail
