#pragma once

// RouteTable: the static routes of one policy snapshot, indexed for the lookup of §2 step 3.
// Built once per policy change, then immutable: any number of threads call lookup() on a
// const table without locks. Move-only (the groups point into its own storage; a move keeps
// them valid, a copy would not).
//
//   auto table = RouteTable::build(routes);            // Result<RouteTable>
//   LookupResult r = table->lookup("x.domaina.com", "bob");
//   if (r.blocked) { /* 403 */ }
//   for (size_t g = 0; g < r.usable; ++g) {
//     for (const StaticRoute* route : orderByWeight(r.groups[g]->routes, rng)) { /* try */ }
//   }
//   // nothing usable: dynamic (DNS) routing, §2 step 4
//
// Lookup cost does not grow with the number of routes: domain patterns that are a literal
// label prefix (`.com.a.`, `.com.a.*`, `.*`: nearly all of them) sit in a hash map keyed by
// that prefix, and lookup probes one prefix per label of the domain (a trie over reversed
// labels, flattened). Domain patterns with embedded wildcards (`.com.sip*.`) and user
// patterns are matched one by one; there are few.

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "common/result.h"
#include "federation/route_pattern.h"
#include "federation/static_route.h"

namespace herald::fed {

// All routes of one pattern (and type): the unit of §2 step 3's ordering and fall-through.
struct RouteGroup {
  RoutePattern pattern;
  // In service, by priority ascending then id. Points into the table.
  std::vector<const StaticRoute*> routes{};
  // Out of service: never used, listed for route explain.
  std::vector<const StaticRoute*> out_of_service{};
  // False when any in-service route of the pattern turns it off: a group falls through to less
  // specific ones only if all its routes allow it.
  bool allow_less_specific = true;
  // True when any in-service route of the pattern is blocked.
  bool blocked = false;
  // The predefined `.*` route's group (F22). Blocked, it means "open federation off", never a
  // 403; unblocked, it is tried after every explicit group, and per §2 step 4d only after DNS.
  bool open_federation = false;
};

struct LookupResult {
  // Every matching group with a route in service, most specific first (§2 step 3 i, ii):
  // longest literal prefix, then exact before wildcard, then more literal characters, then
  // domain before user, then the pattern text; the open-federation group last.
  std::vector<const RouteGroup*> groups;
  // How many groups, from the front, the caller may try in turn: it stops after the first
  // group that does not allow less-specific routes, and before a blocked group.
  size_t usable = 0;
  // The most specific group is blocked: reject with 403. (A blocked `.*` never sets this.)
  bool blocked = false;
};

class RouteTable {
 public:
  // An empty table.
  RouteTable() = default;
  // Indexes `routes` (validated by the admin plane; only the pattern is parsed again). Error
  // when a pattern does not parse, naming the route.
  [[nodiscard]] static Result<RouteTable> build(std::vector<StaticRoute> routes);

  RouteTable(RouteTable&&) = default;
  RouteTable& operator=(RouteTable&&) = default;
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // §2 step 3 for Request-URI host `domain` and user part `user` (either may be empty). A pure
  // function of the table and its arguments. When `steps` is not null, appends one line per
  // step (what was probed, what matched and why, the verdict) for route explain; the data
  // path passes null and builds no strings. The result points into this table.
  LookupResult lookup(std::string_view domain, std::string_view user,
                      std::vector<std::string>* steps = nullptr) const;

  // §2 step 2c: the `.*` route exists, is in service and is not blocked.
  bool openFederationEnabled() const;

  const std::vector<StaticRoute>& routes() const { return routes_; }
  size_t groupCount() const { return groups_.size(); }

 private:
  // A node of the label trie, keyed by its literal label prefix: the groups `.com.a.` (exact)
  // and `.com.a.*` (open), and whether a longer prefix exists (every ancestor of a stored
  // prefix is stored, so a lookup stops at the first absent one).
  struct PrefixEntry {
    int32_t exact = -1;
    int32_t open = -1;
    bool has_children = false;
  };
  // What lookup() needs of a group, kept apart from the groups (4 bytes each) so that a
  // lookup in a large table does not touch the groups themselves.
  struct GroupState {
    bool in_service = false;
    bool blocked = false;
    bool allow_less_specific = true;
    bool open_federation = false;
  };

  std::vector<StaticRoute> routes_;
  // Sorted most specific first, so a group's index is its rank.
  std::vector<RouteGroup> groups_;
  std::vector<GroupState> state_;  // parallel to groups_
  absl::flat_hash_map<std::string, PrefixEntry> prefixes_;
  // Domain patterns with embedded wildcards, and user patterns: matched one by one.
  std::vector<uint32_t> domain_globs_;
  std::vector<uint32_t> user_patterns_;
  int32_t open_federation_ = -1;
};

// One group's routes in the order to try them: priority ascending; among equal priorities a
// weighted random order (RFC 2782 style: each next route with probability weight / weight
// left). Deterministic for a given `rng` state, so tests seed it.
std::vector<const StaticRoute*> orderByWeight(std::span<const StaticRoute* const> routes,
                                              std::mt19937_64& rng);

}  // namespace herald::fed
