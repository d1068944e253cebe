#include "admin/internal/param_catalog.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <type_traits>

#include "admin/internal/api_errors.h"
#include "admin/internal/text_rules.h"

namespace herald::admin::detail {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                        "error", "critical", "off"};

// Integer parameters are ints in Policy; their ranges keep them well inside int.
int64_t asInt(const json& v) {
  if (v.is_number_unsigned()) return static_cast<int64_t>(v.get<uint64_t>());
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}
std::string asString(const json& v) { return v.is_string() ? v.get<std::string>() : ""; }
bool asBool(const json& v) { return v.is_boolean() && v.get<bool>(); }

// The Access of a member of a Policy part: field<&Policy::node, &NodeParams::sip_t1_ms>().
template <auto kPart, auto kMember>
json getField(const Policy& p) {
  return json((p.*kPart).*kMember);
}
template <auto kPart, auto kMember>
void setField(Policy& p, const json& v) {
  auto& field = (p.*kPart).*kMember;
  using T = std::remove_reference_t<decltype(field)>;
  if constexpr (std::is_same_v<T, bool>) {
    field = asBool(v);
  } else if constexpr (std::is_same_v<T, int>) {
    field = static_cast<int>(asInt(v));
  } else {
    field = asString(v);
  }
}
template <auto kPart, auto kMember>
constexpr ParamDef::Access field() {
  return {&getField<kPart, kMember>, &setField<kPart, kMember>};
}
constexpr auto kCluster = &Policy::cluster;
constexpr auto kNode = &Policy::node;

// Builders that keep each entry of kParams to its facts. Cluster parameters are the bool, fqdn
// and ip ones; node parameters (integer, enum) mirror a config key.
constexpr ParamDef clusterParam(std::string_view name, ParamType type, bool empty_allowed,
                                ParamDef::Access access, std::string_view description) {
  ParamDef d;
  d.name = name;
  d.type = type;
  d.empty_allowed = empty_allowed;
  d.description = description;
  d.access = access;
  return d;
}
constexpr ParamDef intParam(std::string_view name, int64_t min, int64_t max, std::string_view unit,
                            std::string_view config_key, ParamDef::Access access,
                            std::string_view description, std::string_view at_least = "",
                            std::string_view at_most = "") {
  ParamDef d;
  d.name = name;
  d.node_scope = true;
  d.type = ParamType::Integer;
  d.min = min;
  d.max = max;
  d.unit = unit;
  d.config_key = config_key;
  d.at_least = at_least;
  d.at_most = at_most;
  d.description = description;
  d.access = access;
  return d;
}
constexpr ParamDef enumParam(std::string_view name, std::span<const std::string_view> allowed,
                             std::string_view config_key, ParamDef::Access access,
                             std::string_view description) {
  ParamDef d;
  d.name = name;
  d.node_scope = true;
  d.type = ParamType::Enum;
  d.allowed = allowed;
  d.config_key = config_key;
  d.description = description;
  d.access = access;
  return d;
}

// Spec §4.8 (cluster) and docs/configuration.md (node). Sorted as paramCatalog() promises.
const std::array<ParamDef, 16> kParams = {
    clusterParam("availability-without-approval", ParamType::Bool, false,
                 field<kCluster, &ClusterParams::availability_without_approval>(),
                 "Local users see each other's availability without approving each other."),
    clusterParam("default-federation-routing-domain", ParamType::Fqdn, false,
                 field<kCluster, &ClusterParams::default_federation_routing_domain>(),
                 "Clearinghouse domain through which AOL-type federated domains are reached."),
    clusterParam("email-federation", ParamType::Bool, false,
                 field<kCluster, &ClusterParams::email_federation>(),
                 "Use the email address of users for inter-domain federation."),
    clusterParam("federation-routing-fqdn", ParamType::Fqdn, false,
                 field<kCluster, &ClusterParams::federation_routing_fqdn>(),
                 "Public FQDN of this cluster for federation: the _sipfederationtls._tcp SRV "
                 "target, written into Record-Route."),
    clusterParam("im-gateway-status", ParamType::Bool, false,
                 field<kCluster, &ClusterParams::im_gateway_status>(),
                 "IM gateway on. Federation needs it on."),
    clusterParam("record-route-transport", ParamType::Bool, false,
                 field<kCluster, &ClusterParams::record_route_transport>(),
                 "Write transport= into Record-Route (TCP direct federation with OCS)."),
    clusterParam("virtual-ip-address", ParamType::Ip, true,
                 field<kCluster, &ClusterParams::virtual_ip_address>(),
                 "Virtual IP address (IPv4 or IPv6) of a load balancer in front of the cluster; "
                 "empty when none."),
    clusterParam("virtual-server-name", ParamType::Fqdn, true,
                 field<kCluster, &ClusterParams::virtual_server_name>(),
                 "FQDN of a load balancer in front of the cluster; empty when none."),
    enumParam("log-level", kLogLevels, "log.level", field<kNode, &NodeParams::log_level>(),
              "Level of the node log."),
    intParam("max-connections", 1, 1000000, "", "sip.max_connections",
             field<kNode, &NodeParams::max_connections>(),
             "Open TCP/TLS connections at most; more are refused at accept."),
    intParam("registrar-max-expires", 1, 604800, "s", "registrar.max_expires",
             field<kNode, &NodeParams::registrar_max_expires_s>(),
             "Longest registration; longer requests are shortened to it. At least "
             "registrar-min-expires.",
             "registrar-min-expires", ""),
    intParam("registrar-min-expires", 1, 86400, "s", "registrar.min_expires",
             field<kNode, &NodeParams::registrar_min_expires_s>(),
             "Shortest registration accepted (423 Interval Too Brief below it).", "",
             "registrar-max-expires"),
    intParam("sip-t1", 50, 10000, "ms", "sip.timers.t1", field<kNode, &NodeParams::sip_t1_ms>(),
             "RFC 3261 T1, the round-trip estimate: first UDP retransmission interval.", "",
             "sip-t2"),
    intParam("sip-t2", 500, 60000, "ms", "sip.timers.t2", field<kNode, &NodeParams::sip_t2_ms>(),
             "RFC 3261 T2, the longest retransmission interval. At least sip-t1.", "sip-t1", ""),
    intParam("sip-t4", 500, 60000, "ms", "sip.timers.t4", field<kNode, &NodeParams::sip_t4_ms>(),
             "RFC 3261 T4, how long a message may stay in the network."),
    intParam("tcp-idle-timeout", 10, 86400, "s", "sip.tcp_idle_timeout",
             field<kNode, &NodeParams::tcp_idle_timeout_s>(),
             "A TCP/TLS connection idle this long is closed."),
};

std::string rangeText(const ParamDef& def) {
  std::string unit = def.unit.empty() ? "" : " " + std::string(def.unit);
  return std::to_string(def.min) + " to " + std::to_string(def.max) + unit;
}

}  // namespace

std::string_view paramTypeName(ParamType t) {
  switch (t) {
    case ParamType::Fqdn:
      return "fqdn";
    case ParamType::Ip:
      return "ip";
    case ParamType::Bool:
      return "bool";
    case ParamType::Integer:
      return "integer";
    case ParamType::Enum:
      return "enum";
  }
  return "string";
}

std::span<const ParamDef> paramCatalog() { return kParams; }

const ParamDef* findParam(std::string_view name) {
  for (const ParamDef& def : kParams) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

ApiResult<void> checkOrdering(const ParamDef& def, const json& value, const Policy& in_force) {
  auto bound = [&](std::string_view other_name, bool at_least) -> ApiResult<void> {
    const ParamDef* other = findParam(other_name);
    if (other == nullptr) return {};
    int64_t v = asInt(value);
    int64_t o = asInt(other->access.get(in_force));
    if (at_least ? v >= o : v <= o) return {};
    std::string unit = def.unit.empty() ? "" : " " + std::string(def.unit);
    ApiError e =
        brokenRule("value", "ordering",
                   std::string(def.name) + (at_least ? " must be at least " : " must be at most ") +
                       std::string(other_name) + " (" + std::to_string(o) + unit + ")");
    e.related = other_name;
    return tl::unexpected(e);
  };
  if (!def.at_least.empty()) {
    if (auto ok = bound(def.at_least, true); !ok) return ok;
  }
  if (!def.at_most.empty()) {
    if (auto ok = bound(def.at_most, false); !ok) return ok;
  }
  return {};
}

ApiResult<json> checkParamValue(const ParamDef& def, const json& value, const Policy* in_force) {
  const std::string name(def.name);
  switch (def.type) {
    case ParamType::Bool:
      if (!value.is_boolean())
        return tl::unexpected(wrongType("value", name + " takes true or false"));
      return value;
    case ParamType::Integer: {
      if (!value.is_number_integer()) {
        return tl::unexpected(wrongType("value", name + " takes an integer"));
      }
      // A huge unsigned value is out of range, not of another type.
      bool huge =
          value.is_number_unsigned() &&
          value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
      int64_t v = huge ? std::numeric_limits<int64_t>::max() : asInt(value);
      if (in_force != nullptr) {
        if (auto ok = checkOrdering(def, json(v), *in_force); !ok) {
          return tl::unexpected(ok.error());
        }
      }
      if (v < def.min || v > def.max) {
        return tl::unexpected(
            brokenRule("value", "range", name + " must be between " + rangeText(def)));
      }
      return json(v);
    }
    case ParamType::Enum: {
      if (!value.is_string()) return tl::unexpected(wrongType("value", name + " takes a string"));
      const std::string& s = value.get_ref<const std::string&>();
      if (std::find(def.allowed.begin(), def.allowed.end(), s) == def.allowed.end()) {
        std::string list;
        for (std::string_view a : def.allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        return tl::unexpected(brokenRule("value", "enum", name + " must be one of " + list));
      }
      return value;
    }
    case ParamType::Fqdn: {
      if (!value.is_string()) return tl::unexpected(wrongType("value", name + " takes a string"));
      const std::string& raw = value.get_ref<const std::string&>();
      if (raw.empty() && def.empty_allowed) return value;
      std::string fqdn = normalizeDomain(raw);
      if (std::string why = fqdnProblem(fqdn); !why.empty()) {
        return tl::unexpected(
            brokenRule("value", "fqdn", "'" + shown(raw) + "' is not a domain name: " + why));
      }
      return json(fqdn);
    }
    case ParamType::Ip: {
      if (!value.is_string()) return tl::unexpected(wrongType("value", name + " takes a string"));
      const std::string& raw = value.get_ref<const std::string&>();
      if (raw.empty() && def.empty_allowed) return value;
      if (!isIpLiteral(raw)) {
        return tl::unexpected(
            brokenRule("value", "ip", "'" + shown(raw) + "' is not an IPv4 or IPv6 address"));
      }
      return value;
    }
  }
  return tl::unexpected(wrongType("value", name + " has an unknown type"));
}

}  // namespace herald::admin::detail
