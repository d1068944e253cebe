#include "federation/federation_router.h"

#include <algorithm>

#include <fmt/core.h>

namespace herald::fed {

namespace {

sip::Transport transportOf(policy::RouteProtocol p) {
  switch (p) {
    case policy::RouteProtocol::UDP:
      return sip::Transport::Udp;
    case policy::RouteProtocol::TCP:
      return sip::Transport::Tcp;
    case policy::RouteProtocol::TLS:
      return sip::Transport::Tls;
  }
  return sip::Transport::Tls;
}

}  // namespace

std::string TargetHealth::key(const sip::SendTarget& t) {
  return fmt::format("{}|{}", static_cast<int>(t.transport), t.endpoint.toString());
}

void TargetHealth::failed(const sip::SendTarget& t, TimePoint now) {
  std::lock_guard lock(mu_);
  failed_until_[key(t)] = now + memory_;
}

void TargetHealth::answered(const sip::SendTarget& t) {
  std::lock_guard lock(mu_);
  failed_until_.erase(key(t));
}

bool TargetHealth::recentlyFailed(const sip::SendTarget& t, TimePoint now) const {
  std::lock_guard lock(mu_);
  auto it = failed_until_.find(key(t));
  return it != failed_until_.end() && now < it->second;
}

void TargetHealth::demoteFailed(std::vector<sip::ProxyTarget>* targets, TimePoint now) const {
  std::stable_partition(targets->begin(), targets->end(), [&](const sip::ProxyTarget& t) {
    return !recentlyFailed(t.next_hop, now);
  });
}

std::string warningHeader(std::string_view agent, std::string_view text) {
  std::string quoted;
  for (char c : text) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    if (c == '\r' || c == '\n') c = ' ';
    quoted.push_back(c);
  }
  return fmt::format("Warning: 399 {} \"{}\"\r\n", agent, quoted);
}

struct FederationRouter::Pending {
  uint64_t ctx_id = 0;
  RoutingSnapshotPtr snapshot;
  Destination dest;
  DnsAnswers answers;
  uint64_t seed = 0;
  size_t waiting = 0;
};

FederationRouter::FederationRouter(dns::Resolver& resolver, TargetHealth& health, Poster post,
                                   const Clock& clock, FederationRouterConfig config)
    : resolver_(resolver),
      health_(health),
      post_(std::move(post)),
      clock_(clock),
      config_(std::move(config)) {}

void FederationRouter::route(sip::Proxy& proxy, sip::RequestContext& ctx,
                             RoutingSnapshotPtr snapshot, Destination dest) {
  auto p = std::make_shared<Pending>();
  p->ctx_id = ctx.id;
  p->snapshot = std::move(snapshot);
  p->dest = std::move(dest);
  seed_ = seed_ * 6364136223846793005ull + 1442695040888963407ull;
  p->seed = seed_;
  ++stats_.decisions;
  step(proxy, p);
}

void FederationRouter::step(sip::Proxy& proxy, const std::shared_ptr<Pending>& p) {
  sip::RequestContext* ctx = proxy.contextFor(p->ctx_id);
  if (ctx == nullptr || ctx->final_sent) return;  // gone while DNS answered
  for (;;) {
    Decision d = decide(*p->snapshot, p->dest, p->answers, p->seed);
    if (d.outcome != Outcome::NeedDns) {
      if (d.outcome == Outcome::Route) {
        ++stats_.routed;
        forward(proxy, *ctx, d);
      } else if (d.outcome == Outcome::Reject) {
        ++stats_.rejected;
        proxy.reply(*ctx, d.code, d.reason,
                    d.warning.empty() ? std::string() : warningHeader(config_.warn_agent,
                                                                      d.warning));
      } else {
        proxy.reply(*ctx, 500, "Server Internal Error (a local domain reached federation)");
      }
      return;
    }
    // Answer from the cache what it holds; ask the rest in parallel.
    std::vector<dns::Query> missing;
    for (dns::Query& q : d.queries) {
      if (auto hit = resolver_.cached(q)) {
        p->answers.add(q, std::move(*hit));
      } else {
        missing.push_back(std::move(q));
      }
    }
    if (missing.empty()) continue;
    ++stats_.dns_waits;
    p->waiting = missing.size();
    for (dns::Query& q : missing) {
      resolver_.resolve(q, [this, &proxy, p, q](dns::Answer a) {
        // The resolver's thread: hand the answer to the worker and return.
        post_([this, &proxy, p, q, a = std::move(a)]() mutable {
          p->answers.add(q, std::move(a));
          if (--p->waiting == 0) step(proxy, p);
        });
      });
    }
    return;
  }
}

void FederationRouter::forward(sip::Proxy& proxy, sip::RequestContext& ctx, const Decision& d) {
  std::vector<sip::ProxyTarget> targets;
  targets.reserve(d.targets.size());
  std::string uri(ctx.requestUri());
  for (const Target& t : d.targets) {
    sip::SendTarget hop;
    hop.transport = transportOf(t.protocol);
    hop.endpoint = t.address;
    hop.tls_name = t.host;
    targets.push_back({uri, std::move(hop)});
  }
  health_.demoteFailed(&targets, clock_.now());
  sip::TurnOptions turn;
  turn.no_answer = config_.no_answer;
  turn.on_failed = [this](const sip::ProxyTarget& t, uint16_t) {
    health_.failed(t.next_hop, clock_.now());
  };
  turn.on_answered = [this](const sip::ProxyTarget& t) { health_.answered(t.next_hop); };
  std::string domain = d.domain;
  auto on_final = [this, &proxy, domain](sip::RequestContext& c, uint16_t best) {
    if (best != 408 && best != 503) return true;  // a real answer: relay it
    bool any_answer = false;
    std::string text = fmt::format("every target of {} failed:", domain);
    for (const auto& b : c.branches) {
      const sip::ProxyTarget& t = c.turn_targets[b.turn_target];
      bool silent = b.code == 408 && !b.provisional && !b.response;
      any_answer = any_answer || !silent;
      text += fmt::format(" {} {} ({}): {};", t.next_hop.endpoint.toString(),
                          sip::transportName(t.next_hop.transport), t.next_hop.tls_name,
                          silent ? "no answer"
                          : b.code == 503 && !b.response ? "connection or TLS failed"
                                                         : fmt::format("answered {}", b.code));
    }
    text.pop_back();
    std::string warning = warningHeader(config_.warn_agent, text);
    if (!any_answer) {
      proxy.reply(c, 408, "Request Timeout (no federation target answered)", warning);
    } else {
      proxy.reply(c, 480, "Temporarily Unavailable (every federation target failed)",
                  fmt::format("Retry-After: {}\r\n{}", config_.retry_after_s, warning));
    }
    return false;
  };
  proxy.forwardInTurn(ctx, std::move(targets), std::move(on_final), std::move(turn));
}

}  // namespace herald::fed
