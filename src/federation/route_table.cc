#include "federation/route_table.h"

#include <algorithm>
#include <tuple>

#include <absl/strings/string_view.h>
#include <fmt/core.h>

namespace herald::fed {
namespace {

// §2 step 3 i and ii: true when `a` is more specific than `b`. A strict total order over
// distinct (type, pattern) pairs.
bool moreSpecific(const RouteGroup& a, const RouteGroup& b) {
  const RoutePattern& p = a.pattern;
  const RoutePattern& q = b.pattern;
  // Sort keys, "smaller is more specific".
  auto key = [](const RouteGroup& g) {
    const RoutePattern& x = g.pattern;
    return std::make_tuple(g.open_federation, -static_cast<int64_t>(x.literalPrefix().size()),
                           !x.exact(), -static_cast<int64_t>(x.literalCount()),
                           x.type() != RouteType::Domain);
  };
  auto ka = key(a);
  auto kb = key(b);
  if (ka != kb) {
    return ka < kb;
  }
  return p.canonical() < q.canonical();
}

std::string routeIds(const std::vector<const StaticRoute*>& routes) {
  std::string out;
  for (const StaticRoute* r : routes) {
    out += out.empty() ? "" : ", ";
    out += std::to_string(r->id);
  }
  return out;
}

std::string describe(const RouteGroup& g) {
  const RoutePattern& p = g.pattern;
  if (g.open_federation) {
    return "'.*' (open federation: every domain)";
  }
  if (p.type() == RouteType::User) {
    return fmt::format("user pattern '{}'", p.canonical());
  }
  if (p.exact()) {
    return fmt::format("'{}' (exactly {})", p.canonical(), p.natural());
  }
  if (p.labelPrefix()) {
    std::string natural = p.natural();
    return fmt::format("'{}' ({}: {} and the names below it)", p.canonical(), natural,
                       natural.substr(2));
  }
  return fmt::format("'{}' (wildcard pattern, natural form {})", p.canonical(), p.natural());
}

}  // namespace

Result<RouteTable> RouteTable::build(std::vector<StaticRoute> routes) {
  RouteTable t;
  t.routes_ = std::move(routes);

  // Group routes by (type, canonical pattern).
  absl::flat_hash_map<std::string, uint32_t> by_pattern;
  std::vector<RouteGroup> groups;
  for (const StaticRoute& route : t.routes_) {
    auto pattern = RoutePattern::parse(route.pattern, route.type);
    if (!pattern) {
      return unexpected(invalidArgument(fmt::format("static route {}: {}", route.id,
                                                    pattern.error().detail)));
    }
    std::string name = std::string(1, static_cast<char>(route.type)) + pattern->canonical();
    auto [it, inserted] = by_pattern.try_emplace(std::move(name), groups.size());
    if (inserted) {
      groups.push_back(RouteGroup{.pattern = std::move(*pattern)});
      groups.back().open_federation = groups.back().pattern.isOpenFederation();
    }
    RouteGroup& g = groups[it->second];
    (route.in_service ? g.routes : g.out_of_service).push_back(&route);
  }
  for (RouteGroup& g : groups) {
    std::sort(g.routes.begin(), g.routes.end(), [](const StaticRoute* a, const StaticRoute* b) {
      return std::tie(a->priority, a->id) < std::tie(b->priority, b->id);
    });
    for (const StaticRoute* r : g.routes) {
      g.allow_less_specific = g.allow_less_specific && r->allow_less_specific;
      g.blocked = g.blocked || r->blocked;
    }
  }
  std::sort(groups.begin(), groups.end(), moreSpecific);
  t.groups_ = std::move(groups);

  for (uint32_t i = 0; i < t.groups_.size(); ++i) {
    const RouteGroup& g = t.groups_[i];
    t.state_.push_back(GroupState{.in_service = !g.routes.empty(),
                                  .blocked = g.blocked,
                                  .allow_less_specific = g.allow_less_specific,
                                  .open_federation = g.open_federation});
    const RoutePattern& p = g.pattern;
    if (p.type() == RouteType::User) {
      t.user_patterns_.push_back(i);
    } else if (p.labelPrefix()) {
      const std::string& prefix = p.literalPrefix();
      // The ancestors ".", ".com.", ... up to the prefix itself.
      for (size_t dot = 0; dot + 1 < prefix.size(); dot = prefix.find('.', dot + 1)) {
        t.prefixes_[prefix.substr(0, dot + 1)].has_children = true;
      }
      PrefixEntry& entry = t.prefixes_[prefix];
      (p.exact() ? entry.exact : entry.open) = static_cast<int32_t>(i);
      if (t.groups_[i].open_federation) {
        t.open_federation_ = static_cast<int32_t>(i);
      }
    } else {
      t.domain_globs_.push_back(i);
    }
  }
  return t;
}

bool RouteTable::openFederationEnabled() const {
  if (open_federation_ < 0) {
    return false;
  }
  const RouteGroup& g = groups_[static_cast<size_t>(open_federation_)];
  return !g.routes.empty() && !g.blocked;
}

LookupResult RouteTable::lookup(std::string_view domain, std::string_view user,
                                std::vector<std::string>* steps) const {
  LookupResult r;
  auto consider = [&](int32_t index, std::string_view key) {
    const RouteGroup& g = groups_[static_cast<size_t>(index)];
    if (!state_[static_cast<size_t>(index)].in_service) {
      if (steps) {
        steps->push_back(fmt::format("{} matches {}, but no route of it is in service ({})",
                                     describe(g), key, routeIds(g.out_of_service)));
      }
      return;
    }
    if (steps) {
      steps->push_back(fmt::format(
          "{} matches {}: route{} {} in service{}{}{}", describe(g), key,
          g.routes.size() > 1 ? "s" : "", routeIds(g.routes), g.blocked ? ", blocked" : "",
          g.allow_less_specific ? "" : ", no less-specific fall-through",
          g.out_of_service.empty() ? "" : "; out of service: " + routeIds(g.out_of_service)));
    }
    r.groups.push_back(&g);
  };

  if (!domain.empty()) {
    auto key = routeKey(domain);
    if (!key) {
      if (steps) {
        steps->push_back("domain routes: " + key.error().detail + "; none can match");
      }
    } else {
      if (steps) {
        steps->push_back(fmt::format("domain {} has route key {}", domain, *key));
      }
      // One probe per label prefix: ".", ".com.", ".com.domaina.", ... In a large table
      // each probe misses the cache; prefetching them all first overlaps those misses.
      for (size_t i = 1; i < key->size(); ++i) {
        if ((*key)[i] == '.') {
          prefixes_.prefetch(absl::string_view(key->data(), i + 1));
        }
      }
      for (size_t i = 0; i < key->size(); ++i) {
        if ((*key)[i] != '.') {
          continue;
        }
        auto it = prefixes_.find(absl::string_view(key->data(), i + 1));
        if (it == prefixes_.end()) {
          break;  // no longer prefix is stored either
        }
        if (it->second.open >= 0) {
          consider(it->second.open, *key);
        }
        if (i + 1 == key->size() && it->second.exact >= 0) {
          consider(it->second.exact, *key);
        }
        if (!it->second.has_children) {
          break;
        }
      }
      for (uint32_t index : domain_globs_) {
        if (groups_[index].pattern.matches(*key)) {
          consider(static_cast<int32_t>(index), *key);
        }
      }
    }
  }
  if (!user.empty()) {
    for (uint32_t index : user_patterns_) {
      if (groups_[index].pattern.matches(user)) {
        consider(static_cast<int32_t>(index), fmt::format("user '{}'", user));
      }
    }
  }
  // groups_ is sorted by specificity, so address order is rank order.
  std::sort(r.groups.begin(), r.groups.end());

  if (r.groups.empty()) {
    if (steps) {
      steps->push_back("no static route matches: dynamic (DNS) routing (§2 step 4)");
    }
    return r;
  }
  if (steps) {
    std::string order;
    for (size_t i = 0; i < r.groups.size(); ++i) {
      order += fmt::format("{}{}. {}", i == 0 ? "" : ", ", i + 1, r.groups[i]->pattern.canonical());
    }
    steps->push_back("most specific first: " + order);
  }
  auto state = [this](const RouteGroup* g) -> const GroupState& {
    return state_[static_cast<size_t>(g - groups_.data())];
  };
  const GroupState& first = state(r.groups.front());
  if (first.blocked && !first.open_federation) {
    r.blocked = true;
    if (steps) {
      steps->push_back(fmt::format("the most specific pattern {} is blocked: reject (403)",
                                   r.groups.front()->pattern.canonical()));
    }
    return r;
  }
  for (const RouteGroup* g : r.groups) {
    if (state(g).blocked) {
      if (steps) {
        steps->push_back(
            state(g).open_federation
                ? std::string("the open-federation route '.*' is blocked: open federation is off")
                : fmt::format("{} is blocked: it and any less specific pattern are not tried",
                              g->pattern.canonical()));
      }
      break;
    }
    ++r.usable;
    if (!state(g).allow_less_specific) {
      if (steps && r.usable < r.groups.size()) {
        steps->push_back(fmt::format(
            "{} does not allow less-specific routes: if its next hops fail, the request fails",
            g->pattern.canonical()));
      }
      break;
    }
  }
  if (steps) {
    steps->push_back(r.usable == 0 ? std::string("no usable static route: dynamic (DNS) routing "
                                                 "(§2 step 4)")
                                   : fmt::format("{} pattern group{} to try in order", r.usable,
                                                 r.usable > 1 ? "s" : ""));
  }
  return r;
}

std::vector<const StaticRoute*> orderByWeight(std::span<const StaticRoute* const> routes,
                                              std::mt19937_64& rng) {
  std::vector<const StaticRoute*> out(routes.begin(), routes.end());
  std::stable_sort(out.begin(), out.end(), [](const StaticRoute* a, const StaticRoute* b) {
    return a->priority < b->priority;
  });
  auto weight = [](const StaticRoute* r) { return static_cast<uint64_t>(std::max(r->weight, 1)); };
  for (size_t begin = 0; begin < out.size();) {
    size_t end = begin + 1;
    while (end < out.size() && out[end]->priority == out[begin]->priority) {
      ++end;
    }
    for (size_t i = begin; i + 1 < end; ++i) {
      uint64_t total = 0;
      for (size_t j = i; j < end; ++j) {
        total += weight(out[j]);
      }
      uint64_t draw = rng() % total;
      size_t pick = i;
      while (draw >= weight(out[pick])) {
        draw -= weight(out[pick]);
        ++pick;
      }
      std::swap(out[i], out[pick]);
    }
    begin = end;
  }
  return out;
}

}  // namespace herald::fed
