#pragma once

// Static routes (spec F10, §4.2): the field validation of policy::StaticRoute.
// The admin plane validates a route with validateRoute() and checkRouteAgainst() before it
// stores it; RouteTable (route_table.h) indexes validated routes for lookup.
//
//   StaticRoute r{.pattern = ".com.domaina.*", .type = RouteType::Domain,
//                 .next_hop = "edge.domaina.com", .port = 5061, .protocol = RouteProtocol::TLS};
//   RouteValidation v = validateRoute(r);
//   if (!v.ok()) { for (auto& e : v.errors) print(e.field, e.message); }

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "federation/route_pattern.h"
#include "policy/static_route.h"

namespace herald::fed {

using policy::kDefaultSipPort;
using policy::kDefaultTlsPort;
using policy::RouteProtocol;
using policy::StaticRoute;

std::string_view routeProtocolName(RouteProtocol protocol);  // "UDP", "TCP", "TLS"

// Spec §4.2: at most 100 routes per identical pattern (a warning, as Cisco logs it).
inline constexpr size_t kMaxRoutesPerPattern = 100;

// The predefined open-federation route (F22): pattern `.*`, type Domain, blocked and out of
// service until an administrator sets its next hop and unblocks it; never deleted.
StaticRoute openFederationRoute();

struct FieldIssue {
  // The StaticRoute member name: "pattern", "next_hop", "port", ...
  std::string field;
  std::string message;
};

struct RouteValidation {
  std::vector<FieldIssue> errors;
  std::vector<FieldIssue> warnings;
  // The parsed pattern, when the pattern field is valid; its canonical() is what to store.
  std::optional<RoutePattern> pattern;

  bool ok() const { return errors.empty(); }
};

// Checks every field of `route` on its own (no other routes involved). Warnings: TLS on port
// 5060, TCP or UDP on 5061.
RouteValidation validateRoute(const StaticRoute& route);

// The rules between routes (§4.2), for `route` (valid) against the stored `existing` ones (a
// route with the same non-zero id is the one being updated and is skipped): an error when
// another route has the same (type, canonical pattern, next hop, port, protocol); a warning
// when `route` would be route number 101 or more of its pattern.
void checkRouteAgainst(const StaticRoute& route, std::span<const StaticRoute> existing,
                       RouteValidation* result);

}  // namespace herald::fed
