#pragma once

// FederationRouter: the data path of federation routing on one SIP worker. It runs decide()
// (route_decision.h) for a request to another organisation, answering its DNS questions from
// the resolver's cache at once and otherwise asynchronously (the worker never waits; the
// answers are posted back to it), then forwards to the targets in turn with fast failover,
// remembering failed targets in a TargetHealth shared by every worker.
//
//   FederationRouter fed(resolver, health, [&](auto f) { transport.post(w, std::move(f)); },
//                        clock, {});
//   fed.route(proxy, ctx, snapshot, {"bob", "b.test"});   // replies or forwards, now or later
//
// When every target failed: 408 when none answered at all, else 480 with Retry-After; both
// with a Warning that lists each target and what happened (docs/federation.md).

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include <absl/container/flat_hash_map.h>

#include "common/clock.h"
#include "dns/resolver.h"
#include "federation/route_decision.h"
#include "sip/proxy/proxy.h"

namespace herald::fed {

// Targets that failed lately, per (address, port, transport), not per domain name: a failed
// one is tried after the healthy ones until `memory` has passed or it answers again. Any
// thread.
class TargetHealth {
 public:
  explicit TargetHealth(Duration memory = Duration(30000)) : memory_(memory) {}

  void failed(const sip::SendTarget& t, TimePoint now);
  void answered(const sip::SendTarget& t);
  bool recentlyFailed(const sip::SendTarget& t, TimePoint now) const;
  // Moves the recently failed targets after the others, keeping the order within each part.
  void demoteFailed(std::vector<sip::ProxyTarget>* targets, TimePoint now) const;

 private:
  static std::string key(const sip::SendTarget& t);

  Duration memory_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, TimePoint> failed_until_;
};

struct FederationRouterConfig {
  // Default: 1 s. A target that sends no response at all this long is given up (issue point
  // "fast failover"); the transport gives a TLS handshake the same time.
  Duration no_answer{1000};
  // Default: 60 s. Retry-After of the 480 sent when every target failed.
  int retry_after_s = 60;
  // Warning agent (RFC 3261 §20.43): this node's host name.
  std::string warn_agent = "herald";
};

class FederationRouter {
 public:
  // Runs a function on this router's worker, from any thread.
  using Poster = std::function<void(std::function<void()>)>;

  FederationRouter(dns::Resolver& resolver, TargetHealth& health, Poster post,
                   const Clock& clock, FederationRouterConfig config);

  // Routes `ctx` (a request for `dest`, which is not a local domain) per `snapshot`. Replies
  // or forwards, now or after DNS. REQUIRES: on this router's worker.
  void route(sip::Proxy& proxy, sip::RequestContext& ctx, RoutingSnapshotPtr snapshot,
             Destination dest);

  struct Stats {
    uint64_t decisions = 0;
    uint64_t dns_waits = 0;  // decisions that waited for DNS
    uint64_t rejected = 0;
    uint64_t routed = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Pending;
  void step(sip::Proxy& proxy, const std::shared_ptr<Pending>& p);
  void forward(sip::Proxy& proxy, sip::RequestContext& ctx, const Decision& d);

  dns::Resolver& resolver_;
  TargetHealth& health_;
  Poster post_;
  const Clock& clock_;
  FederationRouterConfig config_;
  uint64_t seed_ = 0x9e3779b97f4a7c15ull;
  Stats stats_;
};

// "Warning: 399 <agent> \"<text>\"\r\n", the text's quotes and backslashes escaped.
std::string warningHeader(std::string_view agent, std::string_view text);

}  // namespace herald::fed
