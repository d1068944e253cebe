#pragma once

// StaticRoute: one static route (spec F10, §4.2) as plain data, with its field validation.
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

namespace herald::fed {

enum class RouteProtocol : uint8_t { UDP, TCP, TLS };

std::string_view routeProtocolName(RouteProtocol protocol);  // "UDP", "TCP", "TLS"

inline constexpr int kDefaultSipPort = 5060;
inline constexpr int kDefaultTlsPort = 5061;
// Spec §4.2: at most 100 routes per identical pattern (a warning, as Cisco logs it).
inline constexpr size_t kMaxRoutesPerPattern = 100;

struct StaticRoute {
  // Store id; 0 for a route not stored yet.
  int64_t id = 0;
  // Destination pattern, in any form RoutePattern::parse accepts for `type`; stored canonical.
  std::string pattern{};
  // Up to 255 characters.
  std::string description{};
  // Default: User (F10). Domain routes match the Request-URI host, User routes its user part.
  RouteType type = RouteType::User;
  // An IP address, an FQDN or host name, or (port 0) a DNS SRV name. May be empty only while
  // the route is blocked (the predefined open-federation route before it is set up).
  std::string next_hop{};
  // Default: 5060. 0: next_hop is an SRV name. Federation routes use 5061 with TLS.
  int port = kDefaultSipPort;
  // Default: TCP (F10). Federation: TLS.
  RouteProtocol protocol = RouteProtocol::TCP;
  // 1..65535, lower is preferred. Default: 1.
  int priority = 1;
  // 1..65535, among routes of equal priority: share of traffic in proportion. Default: 1.
  int weight = 1;
  // Default: true. An out-of-service route is kept but never matches.
  bool in_service = true;
  // Default: false. A blocked route that is the most specific match rejects (403).
  bool blocked = false;
  // Default: true. When every next hop of this route's pattern failed, try the next less
  // specific matching pattern (§2 step 3).
  bool allow_less_specific = true;
};

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
