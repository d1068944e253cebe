#pragma once

// StaticRoute: one static route (spec F10, §4.2) as plain data, part of the policy snapshot.
// src/federation validates routes (federation/static_route.h) and indexes them for lookup
// (federation/route_table.h); the admin plane stores them.

#include <cstdint>
#include <string>

namespace herald::policy {

// Spec F10: default User.
enum class RouteType : uint8_t { User, Domain };
enum class RouteProtocol : uint8_t { UDP, TCP, TLS };

inline constexpr int kDefaultSipPort = 5060;
inline constexpr int kDefaultTlsPort = 5061;

struct StaticRoute {
  // Store id; 0 for a route not stored yet.
  int64_t id = 0;
  // Destination pattern, in any form fed::RoutePattern::parse accepts for `type`; stored
  // canonical.
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

}  // namespace herald::policy
