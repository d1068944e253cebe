#pragma once

// The routing decision of spec §2: where a request for user@D goes. One pure function,
// decide(), of the routing snapshot, the destination and the DNS answers known so far, that
// records its steps on request. The data path (FederationRouter) and `route explain` both
// call it; there is no second copy of the procedure.
//
// DNS is asynchronous, so decide() is resumable. When it needs answers it does not have, it
// returns Outcome::NeedDns with every query it can name at this point; the caller resolves
// them (in parallel, without blocking a SIP worker), adds the answers and calls decide()
// again with the same seed. The call replays the same steps with more answers and goes
// further. Usually two rounds: SRV, then the targets' A/AAAA.
//
//   DnsAnswers answers;
//   Decision d = decide(*snapshot, {"bob", "b.test"}, answers, seed);
//   while (d.outcome == Outcome::NeedDns) {
//     for (const dns::Query& q : d.queries) answers.add(q, resolve(q));
//     d = decide(*snapshot, {"bob", "b.test"}, answers, seed);
//   }
//   if (d.outcome == Outcome::Route) tryInTurn(d.targets);      // failover: FederationRouter
//   if (d.outcome == Outcome::Reject) reply(d.code, d.reason);  // + Warning: d.warning
//
// The procedure (docs/federation.md has it with examples):
//   0  normalise D (lower case, no final dot); a malformed D is 400
//   1  D local: Outcome::Local (not federation)
//   2  D federated, or unknown while open federation (`.*` unblocked) is on; else 403
//   3  static routes (RouteTable::lookup): the most specific blocked -> 403; usable groups ->
//      their next hops (IP, A/AAAA of a name, or the SRV name of a port-0 route), and no DNS
//   4  DNS per the domain's discovery mode: SRV _sipfederationtls._tcp.D; RFC 3263 NAPTR ->
//      SIPS+D2T SRV, SRV _sips._tcp.D, A/AAAA D:5061 (TLS only: federation never goes in
//      clear text by DNS)
//   4c clearinghouse domains: static(D) -> SRV(D) -> static(G) -> SRV(G), G the domain's
//      via-domain or the cluster's default federation routing domain (aol.com); a step
//      advances only when the previous one found nothing
//   4d the open-federation route's next hop, when it is on and nothing else was found
//   6  nothing found: 504 when a DNS lookup timed out or failed, else 404
// What happens when the targets fail (408, 480) is the failover's part (federation_router.h).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "common/inet.h"
#include "common/result.h"
#include "dns/answer.h"
#include "federation/route_table.h"
#include "policy/policy.h"

namespace herald::fed {

// What the decision reads: one policy snapshot and its static routes indexed. Built once per
// policy change (not per worker, not per request), then shared read-only.
struct RoutingSnapshot {
  policy::PolicyPtr policy;
  RouteTable routes;

  // Error when a stored route does not parse (the admin plane validates them, so this means
  // a damaged store); the message names the route.
  [[nodiscard]] static Result<std::shared_ptr<const RoutingSnapshot>> build(
      policy::PolicyPtr policy);
};
using RoutingSnapshotPtr = std::shared_ptr<const RoutingSnapshot>;

// The Request-URI's parts that routing looks at.
struct Destination {
  std::string user;    // unescaped user part; may be empty
  std::string domain;  // host, any case, a final dot allowed
};

// One place to send the request, in the order to try.
struct Target {
  // The name the peer must prove in TLS (SNI and certificate check): the SRV target, the
  // static route's next hop, or the address text for an IP next hop.
  std::string host;
  Endpoint address;  // with its port
  policy::RouteProtocol protocol = policy::RouteProtocol::TLS;
  // Where it came from, for logs and route explain: "static route 12 '.com.b.*'",
  // "SRV _sipfederationtls._tcp.b.test".
  std::string source;
  int64_t route_id = 0;  // the static route, 0 when from DNS

  bool operator==(const Target& o) const = default;
};

// The answers of the DNS queries made so far for one decision.
class DnsAnswers {
 public:
  void add(const dns::Query& query, dns::Answer answer);
  // Null when not asked yet.
  const dns::Answer* find(const dns::Query& query) const;
  size_t size() const { return answers_.size(); }
  // In the order added, for route explain.
  const std::vector<std::pair<dns::Query, dns::Answer>>& all() const { return order_; }

 private:
  absl::flat_hash_map<std::string, size_t> answers_;  // "<type>|<lower-case name>" -> index
  std::vector<std::pair<dns::Query, dns::Answer>> order_;
};

enum class Outcome {
  Local,    // D is a local domain: not federation (§2 step 1)
  NeedDns,  // call again with the answers of `queries`
  Route,    // try `targets` in turn
  Reject,   // answer `code` `reason`
};
std::string_view outcomeName(Outcome outcome);

// One line of the record: the step of §2 it belongs to ("0".."6", "4c") and what happened.
struct Step {
  std::string step;
  std::string text;
};

struct Decision {
  Outcome outcome = Outcome::Reject;
  std::vector<dns::Query> queries;  // NeedDns
  std::vector<Target> targets;      // Route
  // Reject: the status code and its reason phrase ("Not Found (no route to b.test)"), and the
  // details an administrator needs, for a Warning header ("" when the phrase says it all).
  uint16_t code = 0;
  std::string reason;
  std::string warning;
  // D after step 0 (lower case, no final dot).
  std::string domain;
  // D is not a federated domain and is routed because open federation is on: the caller
  // remembers it as a discovered domain once a target answers (F22).
  bool open_federation = false;
  // The steps, when decide() was asked to record them.
  std::vector<Step> steps;
};

// §2 for `dest`. Pure: the same arguments give the same decision; `seed` drives the weighted
// random orders (static route weights, SRV weights). `record` fills Decision::steps (route
// explain); the data path passes false and builds no text it does not answer with.
Decision decide(const RoutingSnapshot& snapshot, const Destination& dest,
                const DnsAnswers& answers, uint64_t seed, bool record = false);

}  // namespace herald::fed
