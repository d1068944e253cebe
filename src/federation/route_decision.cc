#include "federation/route_decision.h"

#include <algorithm>
#include <random>

#include <fmt/core.h>

#include "dns/srv_order.h"
#include "federation/route_pattern.h"

namespace herald::fed {

using policy::RouteProtocol;

namespace {

std::string lowerName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  if (!out.empty() && out.back() == '.') {
    out.pop_back();
  }
  return out;
}

std::string answerKey(const dns::Query& q) {
  return fmt::format("{}|{}", static_cast<uint16_t>(q.type), lowerName(q.name));
}

bool failedLookup(dns::Status s) {
  return s == dns::Status::Timeout || s == dns::Status::ServFail || s == dns::Status::Refused ||
         s == dns::Status::Error;
}

std::string_view discoveryName(policy::Discovery d) {
  switch (d) {
    case policy::Discovery::SipFederationTls:
      return "sipfederationtls";
    case policy::Discovery::Rfc3263:
      return "rfc3263";
    case policy::Discovery::Both:
      return "both";
  }
  return "?";
}

std::string_view integrationName(policy::Integration i) {
  switch (i) {
    case policy::Integration::Sip:
      return "sip";
    case policy::Integration::Lync:
      return "lync";
    case policy::Integration::Clearinghouse:
      return "clearinghouse";
  }
  return "?";
}

// A name (or address) to turn into targets, with what the targets inherit.
struct Hop {
  std::string host;
  uint16_t port = 0;
  RouteProtocol protocol = RouteProtocol::TLS;
  std::string source;
  int64_t route_id = 0;
  bool srv = false;  // a static route with port 0: `host` is an SRV name
};

// One run of the procedure. Each step returns what it found; Pending means "stop here and
// ask for `queries_`", since what comes next depends on the answers.
class Decider {
 public:
  enum class Found { Targets, Nothing, Pending, Blocked };

  Decider(const RoutingSnapshot& snapshot, const Destination& dest, const DnsAnswers& answers,
          uint64_t seed, bool record)
      : snap_(snapshot), dest_(dest), answers_(answers), rng_(seed), record_(record) {
    d_.outcome = Outcome::Reject;
  }

  Decision run();

 private:
  template <typename... Args>
  void note(std::string_view step, fmt::format_string<Args...> f, Args&&... args) {
    if (record_) {
      d_.steps.push_back({std::string(step), fmt::format(f, std::forward<Args>(args)...)});
    }
  }
  // A failure worth naming in the final 404/504 ("_sipfederationtls._tcp.b.test: NXDOMAIN").
  void miss(std::string what) {
    if (!misses_.empty()) {
      misses_ += "; ";
    }
    misses_ += what;
  }

  // The answer to (name, type), or null after adding it to the queries to ask.
  const dns::Answer* ask(const std::string& name, dns::RecordType type);
  Found staticStep(std::string_view step, const std::string& domain);
  Found dnsStep(std::string_view step, const std::string& domain, policy::Discovery mode);
  Found srvStep(std::string_view step, const std::string& name, const std::string& source);
  Found openRouteStep();
  // The routes of `group` in weighted order; `source_format` has one {} for the route id.
  void appendHops(const RouteGroup& group, std::string_view source_format,
                  std::vector<Hop>* hops);
  // Appends the targets of `hops` in order (IP literals as they are, names by A then AAAA).
  Found resolveHops(std::string_view step, const std::vector<Hop>& hops);
  Found reject(uint16_t code, std::string reason, std::string warning);
  void route();

  const RoutingSnapshot& snap_;
  const Destination& dest_;
  const DnsAnswers& answers_;
  dns::Rng rng_;
  const bool record_;
  Decision d_;
  std::vector<std::string> table_steps_;  // RouteTable::lookup's lines
  const RouteGroup* open_group_ = nullptr;
  bool dns_failed_ = false;
  std::string misses_;
};

const dns::Answer* Decider::ask(const std::string& name, dns::RecordType type) {
  dns::Query q{name, type};
  if (const dns::Answer* a = answers_.find(q)) {
    return a;
  }
  if (std::find(d_.queries.begin(), d_.queries.end(), q) == d_.queries.end()) {
    d_.queries.push_back(std::move(q));
  }
  return nullptr;
}

Decider::Found Decider::reject(uint16_t code, std::string reason, std::string warning) {
  d_.outcome = Outcome::Reject;
  d_.code = code;
  d_.reason = std::move(reason);
  d_.warning = std::move(warning);
  d_.targets.clear();
  note("6", "reject: {} {}{}", code, d_.reason, d_.warning.empty() ? "" : " — " + d_.warning);
  return Found::Blocked;
}

Decider::Found Decider::resolveHops(std::string_view step, const std::vector<Hop>& hops) {
  bool pending = false;
  size_t before = d_.targets.size();
  for (const Hop& hop : hops) {
    if (hop.srv) {
      pending = srvStep(step, hop.host, hop.source) == Found::Pending || pending;
      continue;
    }
    if (auto ip = Endpoint::fromAddress(hop.host, hop.port)) {
      d_.targets.push_back({hop.host, *ip, hop.protocol, hop.source, hop.route_id});
      continue;
    }
    const dns::Answer* a = ask(hop.host, dns::RecordType::A);
    const dns::Answer* aaaa = ask(hop.host, dns::RecordType::AAAA);
    if (a == nullptr || aaaa == nullptr) {
      pending = true;
      continue;
    }
    size_t found = 0;
    for (const dns::Answer* answer : {a, aaaa}) {
      for (const dns::AddressRecord& r : answer->addresses) {
        Endpoint address = r.address;
        address.setPort(hop.port);
        d_.targets.push_back({hop.host, address, hop.protocol, hop.source, hop.route_id});
        ++found;
      }
    }
    if (found == 0) {
      bool failed = failedLookup(a->status) || failedLookup(aaaa->status);
      dns_failed_ = dns_failed_ || failed;
      miss(fmt::format("{}: A {}, AAAA {}", hop.host, dns::statusName(a->status),
                       dns::statusName(aaaa->status)));
      note(step, "{} has no address (A {}, AAAA {}): skipped", hop.host,
           dns::statusName(a->status), dns::statusName(aaaa->status));
    } else if (record_) {
      std::string list;
      for (size_t i = d_.targets.size() - found; i < d_.targets.size(); ++i) {
        list += fmt::format("{}{}", list.empty() ? "" : ", ", d_.targets[i].address.address());
      }
      note(step, "{} -> {}", hop.host, list);
    }
  }
  if (pending) {
    return Found::Pending;
  }
  return d_.targets.size() > before ? Found::Targets : Found::Nothing;
}

Decider::Found Decider::srvStep(std::string_view step, const std::string& name,
                                const std::string& source) {
  const dns::Answer* a = ask(name, dns::RecordType::SRV);
  if (a == nullptr) {
    return Found::Pending;
  }
  if (!a->ok()) {
    dns_failed_ = dns_failed_ || failedLookup(a->status);
    miss(fmt::format("SRV {}: {}", name, dns::statusName(a->status)));
    note(step, "SRV {}: {}{}", name, dns::statusName(a->status),
         a->error.empty() ? "" : " (" + a->error + ")");
    return Found::Nothing;
  }
  std::vector<Hop> hops;
  for (const dns::SrvRecord& r : dns::orderSrv(a->srv, rng_)) {
    if (r.target.empty() || r.target == ".") {
      continue;  // RFC 2782: "service decidedly not available"
    }
    hops.push_back({lowerName(r.target), r.port, RouteProtocol::TLS, source, 0, false});
  }
  if (record_) {
    std::string list;
    for (const dns::SrvRecord& r : a->srv) {
      list += fmt::format("{}{} {} {} {}", list.empty() ? "" : ", ", r.priority, r.weight, r.port,
                          r.target.empty() ? "." : r.target);
    }
    note(step, "SRV {}: {} record{} (ttl {} s): {}; in order: {}", name, a->srv.size(),
         a->srv.size() == 1 ? "" : "s", a->ttl, list, [&hops] {
           std::string order;
           for (const Hop& h : hops) {
             order += fmt::format("{}{}:{}", order.empty() ? "" : ", ", h.host, h.port);
           }
           return order.empty() ? std::string("none usable") : order;
         }());
  }
  if (hops.empty()) {
    miss(fmt::format("SRV {}: only '.' (service not available)", name));
    return Found::Nothing;
  }
  return resolveHops(step, hops);
}

Decider::Found Decider::staticStep(std::string_view step, const std::string& domain) {
  LookupResult r = snap_.routes.lookup(domain, dest_.user, record_ ? &table_steps_ : nullptr);
  for (std::string& line : table_steps_) {
    note(step, "{}", line);
  }
  table_steps_.clear();
  if (r.blocked) {
    const RouteGroup& g = *r.groups.front();
    const StaticRoute* blocked = nullptr;
    for (const StaticRoute* route : g.routes) {
      if (route->blocked) {
        blocked = route;
        break;
      }
    }
    return reject(403, fmt::format("Forbidden (routing to {} is blocked)", domain),
                  fmt::format("static route {} '{}' is blocked",
                              blocked != nullptr ? blocked->id : 0, g.pattern.canonical()));
  }
  std::vector<Hop> hops;
  for (size_t i = 0; i < r.usable; ++i) {
    const RouteGroup& g = *r.groups[i];
    if (g.open_federation) {
      open_group_ = &g;  // §2 step 4d: after DNS, unless explicit routes exist
      continue;
    }
    appendHops(g, fmt::format("static route {{}} '{}'", g.pattern.canonical()), &hops);
  }
  if (hops.empty()) {
    return Found::Nothing;
  }
  // Explicit routes exist: they decide (a failing static route does not fall through to DNS),
  // then the open-federation route if their groups allow less-specific ones.
  bool pending = resolveHops(step, hops) == Found::Pending;
  if (!pending && open_group_ != nullptr) {
    pending = openRouteStep() == Found::Pending;
    open_group_ = nullptr;
  }
  if (pending) {
    return Found::Pending;
  }
  if (d_.targets.empty()) {
    note(step, "the static routes of {} name no next hop that resolves; no DNS routing "
         "(a static route that exists is not bypassed)", domain);
  }
  // Found even when nothing resolved: static routes that exist are not bypassed.
  return Found::Targets;
}

Decider::Found Decider::dnsStep(std::string_view step, const std::string& domain,
                                policy::Discovery mode) {
  if (mode != policy::Discovery::Rfc3263) {
    Found f = srvStep(step, "_sipfederationtls._tcp." + domain,
                      "SRV _sipfederationtls._tcp." + domain);
    if (f != Found::Nothing) {
      return f;
    }
  }
  if (mode == policy::Discovery::SipFederationTls) {
    return Found::Nothing;
  }
  // RFC 3263 §4.1, TLS only: a NAPTR for SIPS over TCP names the SRV to use; without one, the
  // _sips._tcp SRV; without that, the domain's own addresses on 5061.
  const dns::Answer* naptr = ask(domain, dns::RecordType::NAPTR);
  if (naptr == nullptr) {
    return Found::Pending;
  }
  std::string srv_name = "_sips._tcp." + domain;
  if (naptr->ok()) {
    std::vector<dns::NaptrRecord> sips;
    for (const dns::NaptrRecord& r : naptr->naptr) {
      std::string service = lowerName(r.service);
      if (service == "sips+d2t" && lowerName(r.flags) == "s" && !r.replacement.empty()) {
        sips.push_back(r);
      }
    }
    std::stable_sort(sips.begin(), sips.end(), [](const auto& a, const auto& b) {
      return std::tie(a.order, a.preference) < std::tie(b.order, b.preference);
    });
    if (!sips.empty()) {
      srv_name = lowerName(sips.front().replacement);
      note(step, "NAPTR {}: SIPS+D2T -> {}", domain, srv_name);
    } else {
      note(step, "NAPTR {}: {} record{}, none for SIPS over TCP", domain, naptr->naptr.size(),
           naptr->naptr.size() == 1 ? "" : "s");
    }
  } else {
    dns_failed_ = dns_failed_ || failedLookup(naptr->status);
    note(step, "NAPTR {}: {}", domain, dns::statusName(naptr->status));
  }
  Found f = srvStep(step, srv_name, "SRV " + srv_name);
  if (f != Found::Nothing) {
    return f;
  }
  return resolveHops(step, {{domain, static_cast<uint16_t>(policy::kDefaultTlsPort),
                             RouteProtocol::TLS, "A/AAAA " + domain, 0, false}});
}

Decider::Found Decider::openRouteStep() {
  std::vector<Hop> hops;
  appendHops(*open_group_, "open-federation route {} '.*'", &hops);
  note("4d", "the open-federation route '.*': {} next hop{}", hops.size(),
       hops.size() == 1 ? "" : "s");
  return resolveHops("4d", hops) == Found::Pending ? Found::Pending : Found::Targets;
}

void Decider::appendHops(const RouteGroup& group, std::string_view source_format,
                         std::vector<Hop>* hops) {
  for (const StaticRoute* route : orderByWeight(group.routes, rng_)) {
    hops->push_back({lowerName(route->next_hop), static_cast<uint16_t>(route->port),
                     route->protocol, fmt::format(fmt::runtime(source_format), route->id),
                     route->id, route->port == 0});
  }
}

void Decider::route() {
  if (!d_.targets.empty()) {
    d_.outcome = Outcome::Route;
    if (record_) {
      for (size_t i = 0; i < d_.targets.size(); ++i) {
        const Target& t = d_.targets[i];
        note("5", "target {}: {} {} ({}) from {}", i + 1, t.address.toString(),
             routeProtocolName(t.protocol), t.host, t.source);
      }
    }
    return;
  }
  if (dns_failed_) {
    reject(504, fmt::format("Server Time-out (DNS did not answer for {})", d_.domain), misses_);
  } else {
    reject(404, fmt::format("Not Found (no route to {})", d_.domain),
           misses_.empty() ? "no static route and no DNS record names a target" : misses_);
  }
}

Decision Decider::run() {
  // 0. Normalise.
  d_.domain = lowerName(dest_.domain);
  if (auto key = routeKey(d_.domain); !key) {
    reject(400, "Bad Request (malformed domain in the Request-URI)", key.error().detail);
    return std::move(d_);
  }
  note("0", "destination {}{}{}", dest_.user, dest_.user.empty() ? "" : "@", d_.domain);

  // 1. Local.
  const policy::Policy& policy = *snap_.policy;
  if (policy.local_domains.count(d_.domain) != 0) {
    d_.outcome = Outcome::Local;
    note("1", "{} is a local domain: delivered here, not federation", d_.domain);
    return std::move(d_);
  }
  note("1", "{} is not a local domain", d_.domain);

  // 2. Federated, or open federation.
  auto fed = policy.federated_domains.find(d_.domain);
  const policy::FederatedDomain* domain = fed == policy.federated_domains.end() ? nullptr
                                                                               : &fed->second;
  policy::Discovery mode = policy::Discovery::Both;
  if (domain != nullptr) {
    mode = domain->discovery;
    note("2", "{} is a federated domain (integration {}, discovery {})", d_.domain,
         integrationName(domain->integration), discoveryName(mode));
  } else if (snap_.routes.openFederationEnabled()) {
    d_.open_federation = true;
    note("2", "{} is not a federated domain; open federation is on (the '.*' route is "
         "unblocked): routed by DNS", d_.domain);
  } else {
    reject(403, fmt::format("Forbidden ({} is not a federated domain)", d_.domain),
           "add it as a federated domain, or turn on open federation by unblocking the '.*' "
           "static route");
    return std::move(d_);
  }
  // 2d: the outgoing policy (spec F21) joins here with the federation security issue.

  auto finish = [this](Found f) {
    if (f == Found::Pending) {
      d_.outcome = Outcome::NeedDns;
      d_.targets.clear();
      note("4", "waiting for {} DNS answer{}", d_.queries.size(),
           d_.queries.size() == 1 ? "" : "s");
    } else if (f != Found::Blocked) {
      route();
    }
    return std::move(d_);
  };

  // 3, 4. Static routes, then DNS, of D; for a clearinghouse domain then of G (4c).
  std::vector<std::pair<std::string, policy::Discovery>> chain{{d_.domain, mode}};
  if (domain != nullptr && domain->integration == policy::Integration::Clearinghouse) {
    std::string hub = lowerName(domain->via_domain.empty()
                                    ? policy.cluster.default_federation_routing_domain
                                    : domain->via_domain);
    if (!hub.empty() && hub != d_.domain) {
      auto hub_entry = policy.federated_domains.find(hub);
      chain.emplace_back(hub, hub_entry == policy.federated_domains.end()
                                  ? policy::Discovery::Both
                                  : hub_entry->second.discovery);
      note("4c", "{} is reached through the clearinghouse {}: static({}) -> SRV({}) -> "
           "static({}) -> SRV({})", d_.domain, hub, d_.domain, d_.domain, hub, hub);
    }
  }
  for (size_t i = 0; i < chain.size(); ++i) {
    const auto& [name, discovery] = chain[i];
    std::string_view step = i == 0 ? "3" : "4c";
    Found f = staticStep(step, name);
    if (f != Found::Nothing) {
      return finish(f);
    }
    f = dnsStep(i == 0 ? "4a" : "4c", name, discovery);
    if (f != Found::Nothing) {
      return finish(f);
    }
  }
  // 4d. The open-federation route, when nothing more specific answered.
  if (open_group_ != nullptr) {
    return finish(openRouteStep());
  }
  return finish(Found::Nothing);
}

}  // namespace

Result<std::shared_ptr<const RoutingSnapshot>> RoutingSnapshot::build(policy::PolicyPtr policy) {
  auto table = RouteTable::build(policy->static_routes);
  if (!table) {
    return unexpected(table.error());
  }
  auto snap = std::make_shared<RoutingSnapshot>();
  snap->policy = std::move(policy);
  snap->routes = std::move(*table);
  return std::shared_ptr<const RoutingSnapshot>(std::move(snap));
}

void DnsAnswers::add(const dns::Query& query, dns::Answer answer) {
  std::string key = answerKey(query);
  if (auto it = answers_.find(key); it != answers_.end()) {
    order_[it->second].second = std::move(answer);
    return;
  }
  answers_.emplace(std::move(key), order_.size());
  order_.emplace_back(query, std::move(answer));
}

const dns::Answer* DnsAnswers::find(const dns::Query& query) const {
  auto it = answers_.find(answerKey(query));
  return it == answers_.end() ? nullptr : &order_[it->second].second;
}

std::string_view outcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::Local:
      return "local";
    case Outcome::NeedDns:
      return "need-dns";
    case Outcome::Route:
      return "route";
    case Outcome::Reject:
      return "reject";
  }
  return "?";
}

Decision decide(const RoutingSnapshot& snapshot, const Destination& dest,
                const DnsAnswers& answers, uint64_t seed, bool record) {
  return Decider(snapshot, dest, answers, seed, record).run();
}

}  // namespace herald::fed
