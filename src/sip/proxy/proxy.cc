#include "sip/proxy/proxy.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "common/log.h"
#include "sip/message/chars.h"
#include "sip/parser/message_editor.h"

namespace herald::sip {

namespace {

constexpr uint64_t kOriginatedBit = 1ull << 63;

uint64_t cookieFor(uint64_t ctx_id, size_t branch) { return ctx_id << 16 | (branch & 0xFFFF); }

bool createsDialog(Method m) {
  return m == Method::Invite || m == Method::Subscribe || m == Method::Refer;
}

// FNV-1a over a sequence of fields.
struct Hasher {
  uint64_t h = 14695981039346656037ull;
  void add(std::string_view s) {
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    h = (h ^ 0xFF) * 1099511628211ull;
  }
};

std::string_view reasonFor(uint16_t code) {
  switch (code) {
    case 408:
      return "Request Timeout";
    case 480:
      return "Temporarily Unavailable";
    case 500:
      return "Server Internal Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

}  // namespace

std::string_view RequestContext::requestUri() const {
  return strict_route_uri.empty() ? request->requestLine().uri : std::string_view(strict_route_uri);
}

std::span<const NameAddr> RequestContext::remainingRoutes() const {
  auto routes = request->routes();
  if (!routes) return {};
  size_t end = routes->size();
  if (!strict_route_uri.empty() && end > 0) --end;  // the last one became the Request-URI
  if (own_routes >= end) return {};
  return routes->subspan(own_routes, end - own_routes);
}

bool RequestContext::hasToTag() const {
  auto to = request->to();
  return to && !(*to)->tag.empty();
}

std::optional<SendTarget> NextHopResolver::resolve(const Uri& uri) const {
  if (!uri.isSip()) return std::nullopt;
  std::string_view maddr;
  if (auto m = uri.params.find("maddr")) maddr = m->value;
  std::string_view host = maddr.empty() ? uri.host : maddr;
  SendTarget t;
  t.transport = uri.scheme == UriScheme::Sips ? Transport::Tls : Transport::Udp;
  if (auto tp = transportFromName(uri.transportParam())) {
    if (uri.scheme != UriScheme::Sips) t.transport = *tp;
  }
  auto ep = Endpoint::fromAddress(host, uri.port.value_or(defaultPort(t.transport)));
  if (!ep) return std::nullopt;  // names need DNS (RFC 3263), not resolved here
  t.endpoint = *ep;
  return t;
}

uint16_t bestFinalCode(const std::vector<uint16_t>& codes) {
  uint16_t best = 0;
  auto rank = [](uint16_t c) {
    // Lower is better. 6xx wins outright; then by class; within a class, answers beat
    // 408/503, which only say that a branch failed.
    if (c >= 600) return 0;
    int cls = c / 100;
    int generic = (c == 408 || c == 503 || c == 500 || c == 480) ? 1 : 0;
    return cls * 10 + generic;
  };
  for (uint16_t c : codes) {
    if (c < 200) continue;
    if (best == 0 || rank(c) < rank(best)) best = c;
  }
  return best;
}

Proxy::Proxy(TransactionManager& tm, const LocalAddresses& local, ProxyConfig config,
             RequestRouter& router, const Clock& clock, const NextHopResolver& resolver)
    : tm_(tm),
      local_(local),
      config_(std::move(config)),
      router_(router),
      clock_(clock),
      resolver_(resolver) {}

Proxy::~Proxy() = default;

RequestContext* Proxy::contextFor(uint64_t id) {
  auto it = contexts_.find(id);
  return it == contexts_.end() ? nullptr : it->second.get();
}

std::string Proxy::newTag() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[32];
  std::snprintf(buf, sizeof(buf), "h%llx%llx",
                static_cast<unsigned long long>(rng() & 0xFFFFFFFFFF),
                static_cast<unsigned long long>(++tag_counter_));
  return buf;
}

uint64_t Proxy::loopHash(const SipMessage& request) {
  Hasher h;
  h.add(request.requestLine().uri);
  if (auto to = request.to()) h.add((*to)->tag);
  if (auto from = request.from()) h.add((*from)->tag);
  if (auto id = request.callId()) h.add(*id);
  if (auto cseq = request.cseq()) h.add(std::to_string((*cseq)->number));
  for (HeaderId id : {HeaderId::ProxyRequire, HeaderId::ProxyAuthorization, HeaderId::Route}) {
    request.forEach(id, [&h](const HeaderField& f) { h.add(f.value); });
  }
  return h.h;
}

std::string Proxy::viaFor(const SendTarget& to, std::string_view branch) const {
  std::string via = "SIP/2.0/";
  via += transportName(to.transport);
  via += ' ';
  via += local_.sentBy(to.transport, to.endpoint.family());
  via += ";branch=";
  via += branch;
  if (to.transport == Transport::Udp) via += ";rport";
  return via;
}

void Proxy::onRequest(TxId server, std::unique_ptr<SipMessage> request, const Origin& origin) {
  ++stats_.requests;
  auto owned = std::make_unique<RequestContext>();
  RequestContext& ctx = *owned;
  ctx.id = next_id_++;
  ctx.server = server;
  ctx.request = std::move(request);
  ctx.origin = origin;
  contexts_.emplace(ctx.id, std::move(owned));
  by_server_[server] = ctx.id;
  Method method = ctx.request->method();
  if (method == Method::Invite) {
    // §16.2: a proxy answers 100 Trying to an INVITE at once.
    tm_.respond(
        server, 100,
        makeBytes(buildResponse(*ctx.request, ResponseSpec{100, "Trying", {}, {}, {}, {}})));
  }
  if (method == Method::Cancel) {
    handleCancel(ctx);
    return;
  }
  if (!checkRequest(ctx)) return;
  router_.route(*this, ctx);
}

bool Proxy::checkRequest(RequestContext& ctx) {
  const SipMessage& req = *ctx.request;
  auto uri = req.requestUri();
  // §16.3 step 2: a scheme we cannot route.
  if (!uri || !(*uri)->isSip()) {
    reply(ctx, 416, "Unsupported URI Scheme");
    return false;
  }
  // §16.4: a strict router put our URI in the Request-URI and the real one in the last Route.
  auto routes = req.routes();
  if (!routes) {
    reply(ctx, 400, "Bad Route");
    return false;
  }
  if (local_.isMe(**uri) && !routes->empty()) {
    ctx.strict_route_uri = std::string(routes->back().uri.raw);
  }
  // Our own Route values lead: they are consumed here (loose routing).
  while (ctx.own_routes < routes->size() && local_.isMe((*routes)[ctx.own_routes].uri)) {
    ++ctx.own_routes;
  }
  // §16.3 step 3: Max-Forwards.
  auto mf = req.maxForwards();
  if (mf && *mf && **mf == 0) {
    bool to_me = local_.isMe(**uri) && req.method() == Method::Options;
    if (!to_me) {
      ++stats_.too_many_hops;
      reply(ctx, 483, "Too Many Hops");
      return false;
    }
  }
  // §16.3 step 4: loop detection through the hash in our own branches.
  auto vias = req.vias();
  if (vias) {
    std::optional<uint64_t> hash;
    for (const Via& v : *vias) {
      auto ours = TransactionManager::loopHashOfBranch(v.branch);
      if (!ours || !local_.isMyHost(v.host)) continue;
      if (!hash) hash = loopHash(req);
      if (*ours == *hash) {
        ++stats_.loops;
        reply(ctx, 482, "Loop Detected");
        return false;
      }
    }
  }
  // §16.3 step 5: Proxy-Require.
  auto required = req.tokenList(HeaderId::ProxyRequire);
  if (!required) {
    reply(ctx, 400, "Bad Proxy-Require");
    return false;
  }
  if (!required->empty()) {
    std::string unsupported = "Unsupported: ";
    for (size_t i = 0; i < required->size(); ++i) {
      if (i > 0) unsupported += ", ";
      unsupported += (*required)[i];
    }
    unsupported += "\r\n";
    reply(ctx, 420, "Bad Extension", unsupported);
    return false;
  }
  return true;
}

void Proxy::reply(RequestContext& ctx, uint16_t code, std::string_view reason,
                  std::string_view extra_headers, std::string_view content_type,
                  std::string_view body) {
  if (ctx.final_sent && code >= 200) return;
  if (code >= 200) ++stats_.replied_locally;
  if (ctx.to_tag.empty() && code > 100) ctx.to_tag = newTag();
  std::string headers = "Server: " + config_.server_name + "\r\n";
  headers.append(extra_headers);
  ResponseSpec spec;
  spec.code = code;
  spec.reason = reason;
  spec.to_tag = ctx.to_tag;
  spec.extra_headers = headers;
  spec.content_type = content_type;
  spec.body = body;
  tm_.respond(ctx.server, code, makeBytes(buildResponse(*ctx.request, spec)));
  if (code >= 200) {
    ctx.final_sent = true;
    cancelPending(ctx);
    maybeComplete(ctx);
  }
}

std::optional<MessageEditor> Proxy::prepareForward(RequestContext& ctx) {
  const SipMessage& req = *ctx.request;
  MessageEditor base(req);
  for (size_t i = 0; i < ctx.own_routes; ++i) (void)base.popRoute();
  if (!ctx.strict_route_uri.empty()) {
    // The last Route became the Request-URI (§16.4); it leaves the Route set.
    base.removeHeaders(HeaderId::Route);
    auto routes = req.routes();
    std::string kept;
    for (size_t i = ctx.own_routes; routes && i + 1 < routes->size(); ++i) {
      if (!kept.empty()) kept += ", ";
      kept += (*routes)[i].raw;
    }
    if (!kept.empty()) base.addHeader("Route", kept);
  }
  if (auto mf = base.decrementMaxForwards(); !mf) {
    reply(ctx, 483, "Too Many Hops");
    return std::nullopt;
  }
  if (ctx.strip_proxy_authorization) base.removeHeaders(HeaderId::ProxyAuthorization);
  return base;
}

void Proxy::startBranch(RequestContext& ctx, const MessageEditor& base, const Target& t,
                        size_t turn_target) {
  const SipMessage& req = *ctx.request;
  Method method = req.method();
  MessageEditor ed = base;
  if (t.request_uri != req.requestLine().uri) ed.setRequestUri(t.request_uri);
  if (config_.record_route && createsDialog(method) && !ctx.hasToTag()) {
    // RFC 5658: two Record-Route values when the two sides differ in transport or family.
    std::string out_side = local_.recordRoute(t.next_hop.transport, t.next_hop.endpoint.family());
    std::string in_side = local_.recordRoute(ctx.origin.transport, ctx.origin.source.family());
    ed.pushRecordRoute(out_side);
    if (in_side != out_side) ed.pushRecordRoute(in_side);
  }
  std::string branch = tm_.newBranch(loopHash(req));
  ed.pushVia(viaFor(t.next_hop, branch));
  size_t index = ctx.branches.size();
  RequestContext::Branch b;
  b.request_uri = t.request_uri;
  b.turn_target = turn_target;
  if (method == Method::Invite) b.timer_c = clock_.now() + config_.timer_c;
  if (ctx.turn.no_answer.count() > 0) b.no_answer_at = clock_.now() + ctx.turn.no_answer;
  ctx.branches.push_back(std::move(b));
  ctx.branches[index].client = tm_.sendRequest(t.next_hop, makeBytes(ed.build()), branch, method,
                                               cookieFor(ctx.id, index));
  ++stats_.forwarded;
}

void Proxy::forward(RequestContext& ctx, std::vector<Target> targets, FinalHook on_final) {
  if (targets.empty()) {
    reply(ctx, 480, "Temporarily Unavailable");
    return;
  }
  ctx.on_final = std::move(on_final);
  auto base = prepareForward(ctx);
  if (!base) return;
  for (const Target& t : targets) startBranch(ctx, *base, t, 0);
}

void Proxy::forwardInTurn(RequestContext& ctx, std::vector<Target> targets, FinalHook on_final,
                          TurnOptions options) {
  if (targets.empty()) {
    reply(ctx, 480, "Temporarily Unavailable");
    return;
  }
  ctx.on_final = std::move(on_final);
  ctx.turn = std::move(options);
  ctx.turn_targets = std::move(targets);
  ctx.next_turn = 1;
  auto base = prepareForward(ctx);
  if (!base) return;
  startBranch(ctx, *base, ctx.turn_targets[0], 0);
}

bool Proxy::nextInTurn(RequestContext& ctx) {
  if (ctx.turn_targets.empty() || ctx.branches.empty()) return false;
  const RequestContext::Branch& last = ctx.branches.back();
  if (last.code != 408 && last.code != 503) return false;
  if (ctx.next_turn >= ctx.turn_targets.size()) return false;
  auto base = prepareForward(ctx);
  if (!base) return true;  // replied 483
  size_t index = ctx.next_turn++;
  startBranch(ctx, *base, ctx.turn_targets[index], index);
  return true;
}

void Proxy::forwardToNamedHop(RequestContext& ctx) {
  auto remaining = ctx.remainingRoutes();
  std::optional<SendTarget> hop;
  if (!remaining.empty()) {
    hop = resolver_.resolve(remaining.front().uri);
  } else {
    auto uri = parseUri(ctx.requestUri());
    if (uri) hop = resolver_.resolve(*uri);
  }
  if (!hop) {
    reply(ctx, 404, "Not Found");
    return;
  }
  forward(ctx, {Target{std::string(ctx.requestUri()), *hop}});
}

void Proxy::handleCancel(RequestContext& cancel) {
  TxId invite = tm_.findInviteServer(*cancel.request);
  if (invite == 0) {
    reply(cancel, 481, "Call/Transaction Does Not Exist");
    return;
  }
  reply(cancel, 200, "OK");
  auto it = by_server_.find(invite);
  if (it == by_server_.end()) return;
  RequestContext* ctx = contextFor(it->second);
  if (ctx == nullptr || ctx->final_sent) return;
  if (ctx->branches.empty()) {
    reply(*ctx, 487, "Request Terminated");
    return;
  }
  cancelPending(*ctx);
}

void Proxy::cancelPending(RequestContext& ctx) {
  if (ctx.request->method() != Method::Invite) return;
  for (auto& b : ctx.branches) {
    if (b.code == 0 && !b.cancelled) {
      b.cancelled = true;
      tm_.cancelInvite(b.client);
    }
  }
}

void Proxy::relayResponse(RequestContext& ctx, const SipMessage& response) {
  MessageEditor ed(response);
  if (!ed.popVia()) return;
  uint16_t code = response.statusCode();
  tm_.respond(ctx.server, code, makeBytes(ed.build()));
}

void Proxy::onResponse(TxId client, uint64_t cookie, std::unique_ptr<SipMessage> response) {
  (void)client;
  uint16_t code = response->statusCode();
  if (cookie & kOriginatedBit) {
    if (code >= 200) originatedDone(cookie & ~kOriginatedBit, code);
    return;
  }
  RequestContext* ctx = contextFor(cookie >> 16);
  size_t index = cookie & 0xFFFF;
  if (ctx == nullptr || index >= ctx->branches.size()) return;
  RequestContext::Branch& b = ctx->branches[index];
  bool invite = ctx->request->method() == Method::Invite;
  if (code < 200) {
    b.provisional = true;
    // §16.7 step 5: 101-199 are forwarded at once; 100 stays here.
    if (code > 100 && !ctx->final_sent) relayResponse(*ctx, *response);
    return;
  }
  if (code < 300) {
    // 2xx go upstream at once; for INVITE every 2xx (each is a dialog), for the rest the first.
    if (!ctx->final_sent || invite) {
      bool first = !ctx->final_sent;
      ctx->final_sent = true;
      relayResponse(*ctx, *response);
      if (first) cancelPending(*ctx);
    }
    branchDone(*ctx, index, code, nullptr);
    return;
  }
  if (code >= 600) cancelPending(*ctx);
  branchDone(*ctx, index, code, std::move(response));
}

void Proxy::onClientFailure(TxId client, uint64_t cookie, TxEvent why) {
  (void)client;
  uint16_t code = why == TxEvent::Timeout ? 408 : 503;
  if (cookie & kOriginatedBit) {
    originatedDone(cookie & ~kOriginatedBit, code);
    return;
  }
  RequestContext* ctx = contextFor(cookie >> 16);
  size_t index = cookie & 0xFFFF;
  if (ctx == nullptr || index >= ctx->branches.size()) return;
  branchDone(*ctx, index, code, nullptr);
}

void Proxy::onServerFailure(TxId server, TxEvent why) {
  (void)why;
  auto it = by_server_.find(server);
  if (it == by_server_.end()) return;
  RequestContext* ctx = contextFor(it->second);
  if (ctx == nullptr) return;
  ctx->final_sent = true;  // nothing more can be sent upstream
  cancelPending(*ctx);
  maybeComplete(*ctx);
}

void Proxy::branchDone(RequestContext& ctx, size_t index, uint16_t code,
                       std::unique_ptr<SipMessage> response) {
  RequestContext::Branch& b = ctx.branches[index];
  if (b.code != 0) return;
  b.code = code;
  b.response = std::move(response);
  if (!ctx.turn_targets.empty()) {
    const Target& t = ctx.turn_targets[b.turn_target];
    bool failed_over = code == 408 || code == 503;
    if (failed_over && ctx.turn.on_failed) ctx.turn.on_failed(t, code);
    // A 503 or 408 response still means the target is up.
    if ((!failed_over || b.provisional) && ctx.turn.on_answered) ctx.turn.on_answered(t);
  }
  maybeComplete(ctx);
}

void Proxy::maybeComplete(RequestContext& ctx) {
  for (const auto& b : ctx.branches) {
    if (b.code == 0) return;  // still waiting
  }
  if (!ctx.final_sent && nextInTurn(ctx)) return;
  if (!ctx.final_sent) {
    std::vector<uint16_t> codes;
    for (const auto& b : ctx.branches) codes.push_back(b.code);
    uint16_t best = bestFinalCode(codes);
    if (best == 0) best = 408;
    if (ctx.on_final) {
      auto hook = std::move(ctx.on_final);
      ctx.on_final = nullptr;
      if (!hook(ctx, best)) return;  // the hook replies (possibly later)
    }
    const SipMessage* best_response = nullptr;
    for (const auto& b : ctx.branches) {
      if (b.code == best && b.response) {
        best_response = b.response.get();
        break;
      }
    }
    if (best_response != nullptr && best != 503) {
      ctx.final_sent = true;
      relayResponse(ctx, *best_response);
    } else {
      // §16.7 step 6: a 503 is never forwarded as such; 500 with the same meaning.
      uint16_t code = best == 503 ? 500 : best;
      reply(ctx, code, reasonFor(code));
      return;  // reply() completes
    }
  }
  finish(ctx.id);
}

void Proxy::finish(uint64_t id) {
  auto it = contexts_.find(id);
  if (it == contexts_.end()) return;
  RequestContext& ctx = *it->second;
  for (const auto& b : ctx.branches) {
    if (b.code == 0) return;
  }
  if (!ctx.final_sent) return;
  by_server_.erase(ctx.server);
  contexts_.erase(it);
}

void Proxy::onAck(std::unique_ptr<SipMessage> ack, const Origin& origin) {
  (void)origin;
  // An ACK for a 2xx travels end to end (§16.6 applies to it statelessly).
  auto routes = ack->routes();
  auto uri = ack->requestUri();
  if (!routes || !uri) return;
  size_t own = 0;
  while (own < routes->size() && local_.isMe((*routes)[own].uri)) ++own;
  std::optional<SendTarget> hop;
  if (own < routes->size()) {
    hop = resolver_.resolve((*routes)[own].uri);
  } else if (!local_.isMe(**uri)) {
    hop = resolver_.resolve(**uri);
  }
  if (!hop) return;
  MessageEditor ed(*ack);
  for (size_t i = 0; i < own; ++i) (void)ed.popRoute();
  if (!ed.decrementMaxForwards()) return;
  ed.pushVia(viaFor(*hop, tm_.newBranch(loopHash(*ack))));
  tm_.sendStateless(*hop, makeBytes(ed.build()));
}

void Proxy::originate(std::vector<Target> targets, Method method, const RequestBuilder& build,
                      OriginateDone done) {
  uint64_t id = next_id_++;
  if (targets.empty()) {
    done(480);
    return;
  }
  Originated o;
  o.done = std::move(done);
  o.pending = targets.size();
  originated_.emplace(id, std::move(o));
  for (const Target& t : targets) {
    std::string branch = tm_.newBranch(id);
    std::string bytes = build(t, viaFor(t.next_hop, branch));
    tm_.sendRequest(t.next_hop, makeBytes(std::move(bytes)), branch, method, kOriginatedBit | id);
  }
}

void Proxy::originatedDone(uint64_t id, uint16_t code) {
  auto it = originated_.find(id);
  if (it == originated_.end()) return;
  Originated& o = it->second;
  if (o.best == 0 || (code >= 200 && code < 300)) {
    o.best = code;
  } else {
    o.best = bestFinalCode({o.best, code});
  }
  --o.pending;
  if (!o.finished && code >= 200 && code < 300) {
    o.finished = true;
    o.done(code);
  }
  if (o.pending == 0) {
    if (!o.finished) o.done(o.best);
    originated_.erase(it);
  }
}

void Proxy::onTick(TimePoint now) {
  // Serial forwarding: a target silent past TurnOptions::no_answer is given up (its
  // transaction runs on; a late 2xx is still relayed if nothing final went upstream).
  std::vector<std::pair<uint64_t, size_t>> silent;
  for (auto& [id, ctx] : contexts_) {
    if (ctx->turn.no_answer.count() == 0 || ctx->final_sent) continue;
    for (size_t i = 0; i < ctx->branches.size(); ++i) {
      const auto& b = ctx->branches[i];
      if (b.code == 0 && !b.provisional && now >= b.no_answer_at) silent.emplace_back(id, i);
    }
  }
  for (auto [id, index] : silent) {
    if (RequestContext* ctx = contextFor(id)) branchDone(*ctx, index, 408, nullptr);
  }
  // Timer C (§16.8): a forwarded INVITE that lingers in Proceeding is cancelled.
  for (auto& [id, ctx] : contexts_) {
    if (ctx->request->method() != Method::Invite) continue;
    for (auto& b : ctx->branches) {
      if (b.code == 0 && !b.cancelled && b.timer_c.time_since_epoch().count() != 0 &&
          now >= b.timer_c) {
        b.cancelled = true;
        if (b.provisional) {
          tm_.cancelInvite(b.client);
        }
      }
    }
  }
}

}  // namespace herald::sip
