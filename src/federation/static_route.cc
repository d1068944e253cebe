#include "federation/static_route.h"

#include <algorithm>

#include <fmt/core.h>

#include "common/inet.h"

namespace herald::fed {
namespace {

constexpr size_t kMaxTextLength = 255;
constexpr int kMaxPort = 65535;
constexpr int kMaxPriority = 65535;

size_t codePoints(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string normalHost(std::string_view host) {
  std::string out(host);
  if (!out.empty() && out.back() == '.') {
    out.pop_back();
  }
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

bool isIpLiteral(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return Endpoint::fromAddress(host, 0).has_value();
}

// Checks a host name (or, when `srv`, an SRV owner name whose labels may start with '_').
std::optional<std::string> hostNameProblem(std::string_view host, bool srv) {
  if (std::any_of(host.begin(), host.end(),
                  [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    return "contains non-ASCII characters: write internationalised names as IDNA A-labels "
           "(xn--...)";
  }
  if (host.find(':') != std::string_view::npos) {
    return "contains ':': give the port in the port field, and an IPv6 address without a port";
  }
  if (srv) {
    // routeKey() allows LDH only; SRV owner names carry '_service._proto.' labels.
    std::string copy(host);
    std::replace(copy.begin(), copy.end(), '_', 'a');
    if (!routeKey(copy)) {
      return "is not a valid SRV name (labels of letters, digits, '-' and '_'; port 0 means "
             "the next hop is an SRV name)";
    }
    return std::nullopt;
  }
  if (auto key = routeKey(host); !key) {
    return "is not a valid host name: " + key.error().detail;
  }
  return std::nullopt;
}

}  // namespace

std::string_view routeProtocolName(RouteProtocol protocol) {
  switch (protocol) {
    case RouteProtocol::UDP:
      return "UDP";
    case RouteProtocol::TCP:
      return "TCP";
    case RouteProtocol::TLS:
      return "TLS";
  }
  return "?";
}

StaticRoute openFederationRoute() {
  StaticRoute r;
  r.pattern = ".*";
  r.description = "Open federation (predefined)";
  r.type = RouteType::Domain;
  r.port = kDefaultTlsPort;
  r.protocol = RouteProtocol::TLS;
  r.in_service = false;
  r.blocked = true;
  return r;
}

RouteValidation validateRoute(const StaticRoute& route) {
  RouteValidation v;
  auto error = [&v](std::string field, std::string message) {
    v.errors.push_back({std::move(field), std::move(message)});
  };
  auto warn = [&v](std::string field, std::string message) {
    v.warnings.push_back({std::move(field), std::move(message)});
  };

  auto pattern = RoutePattern::parse(route.pattern, route.type);
  if (pattern) {
    v.pattern = std::move(*pattern);
  } else {
    error("pattern", pattern.error().detail);
  }
  if (codePoints(route.description) > kMaxTextLength) {
    error("description", fmt::format("is {} characters long; at most {}",
                                     codePoints(route.description), kMaxTextLength));
  }

  bool port_ok = route.port >= 0 && route.port <= kMaxPort;
  if (!port_ok) {
    error("port", fmt::format("{} is not a port (0..65535; 0: the next hop is an SRV name)",
                              route.port));
  }
  if (route.next_hop.empty()) {
    if (!route.blocked) {
      error("next_hop", "is required for a route that is not blocked");
    }
  } else if (route.next_hop.size() > kMaxTextLength) {
    error("next_hop", fmt::format("is {} characters long; at most {}", route.next_hop.size(),
                                  kMaxTextLength));
  } else if (isIpLiteral(route.next_hop)) {
    if (route.port == 0) {
      error("port",
            "0 means the next hop is a DNS SRV name, but it is an IP address: give the port "
            "(5061 for TLS)");
    }
  } else if (auto problem = hostNameProblem(route.next_hop, route.port == 0)) {
    error("next_hop", "'" + route.next_hop + "' " + *problem);
  }

  if (route.priority < 1 || route.priority > kMaxPriority) {
    error("priority", fmt::format("{} is out of range 1..65535 (lower is preferred)",
                                  route.priority));
  }
  if (route.weight < 1 || route.weight > kMaxPriority) {
    error("weight", fmt::format("{} is out of range 1..65535", route.weight));
  }

  if (port_ok && route.protocol == RouteProtocol::TLS && route.port == kDefaultSipPort) {
    warn("port", "TLS on port 5060: SIP over TLS normally uses 5061");
  }
  if (port_ok && route.protocol != RouteProtocol::TLS && route.port == kDefaultTlsPort) {
    warn("port", fmt::format("{} on port 5061: 5061 is the SIP over TLS port; set the protocol "
                             "to TLS or the port to 5060",
                             routeProtocolName(route.protocol)));
  }
  return v;
}

void checkRouteAgainst(const StaticRoute& route, std::span<const StaticRoute> existing,
                       RouteValidation* result) {
  if (!result->pattern) {
    return;
  }
  const std::string& canonical = result->pattern->canonical();
  std::string next_hop = normalHost(route.next_hop);
  size_t same_pattern = 1;
  for (const StaticRoute& other : existing) {
    if ((route.id != 0 && other.id == route.id) || other.type != route.type) {
      continue;
    }
    auto other_pattern = RoutePattern::parse(other.pattern, other.type);
    const std::string& other_canonical = other_pattern ? other_pattern->canonical() : other.pattern;
    if (other_canonical != canonical) {
      continue;
    }
    ++same_pattern;
    if (normalHost(other.next_hop) == next_hop && other.port == route.port &&
        other.protocol == route.protocol) {
      result->errors.push_back(
          {"pattern", fmt::format("route {} already sends {} to {}:{} over {}", other.id,
                                  canonical, other.next_hop, other.port,
                                  routeProtocolName(other.protocol))});
    }
  }
  if (same_pattern > kMaxRoutesPerPattern) {
    result->warnings.push_back(
        {"pattern", fmt::format("{} routes share the pattern {}; more than {} is unusual", same_pattern,
                                canonical, kMaxRoutesPerPattern)});
  }
}

}  // namespace herald::fed
