#pragma once

// Proxy: RFC 3261 §16 stateful proxy core, the transaction user of one worker's
// TransactionManager.
//
// For each new request it sends 100 Trying (INVITE), applies the §16.3 checks (URI scheme 416,
// Max-Forwards 483, loop detection 482, Proxy-Require 420 with Unsupported), the §16.4 Route
// processing (our Route values removed, strict-router Request-URIs restored), answers CANCEL
// itself, and hands the request to a RequestRouter, which decides: reply, challenge, or
// forward. Forwarding (§16.6) forks to every target in parallel with a fresh Via, decremented
// Max-Forwards and, for dialog-creating requests, Record-Route; responses are relayed and the
// best final response chosen (§16.7). ACK for 2xx is forwarded end to end.
//
//   class Router : public RequestRouter {
//     void route(Proxy& p, RequestContext& ctx) override {
//       if (!known(ctx)) return p.reply(ctx, 404, "Not Found");
//       p.forward(ctx, {{contact_uri, next_hop}});
//     }
//   };
//
// All methods run on the owning worker. Contexts are found by id (contextFor) because async
// work (store, registrar) may finish after the request is gone.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "sip/message/sip_message.h"
#include "sip/parser/message_editor.h"
#include "sip/proxy/local_addresses.h"
#include "sip/transaction/transaction_manager.h"

namespace herald::sip {

struct ProxyConfig {
  // Default: "Herald". Server header of responses Herald generates; User-Agent of requests.
  std::string server_name = "Herald";
  // Default: true. Record-Route dialog-creating requests (INVITE, SUBSCRIBE, REFER) so that
  // the dialog's requests come back through this node.
  bool record_route = true;
  // Default: 180 s. RFC 3261 §16.8 Timer C for forwarded INVITEs.
  Duration timer_c{180000};
};

class Proxy;

// One place to forward a request to.
struct ProxyTarget {
  std::string request_uri;
  SendTarget next_hop;
};

// Serial forwarding (Proxy::forwardInTurn): how a target fails over to the next.
struct TurnOptions {
  // A target that has sent no response at all (not even 100) this long after the request
  // went out is given up and the next one tried (RFC 3263 §4.3 failover without waiting for
  // Timer F). 0: wait for the transaction's own timeout.
  Duration no_answer{0};
  // Told of each target that failed over (code 408: no answer, 503: transport error or a 503
  // response) and of each that answered (any response), e.g. to remember failed targets.
  std::function<void(const ProxyTarget&, uint16_t code)> on_failed;
  std::function<void(const ProxyTarget&)> on_answered;
};

// One request being handled. Owned by the Proxy; routers keep `id` across async work.
struct RequestContext {
  struct Branch {
    TxId client = 0;
    std::string request_uri;
    uint16_t code = 0;  // final code; 0 while pending
    bool provisional = false;
    bool cancelled = false;
    std::unique_ptr<SipMessage> response;  // the final non-2xx response, kept for §16.7
    TimePoint timer_c{};
    TimePoint no_answer_at{};  // serial forwarding: give up on a silent target then
    size_t turn_target = 0;    // serial forwarding: index into turn_targets
  };

  uint64_t id = 0;
  TxId server = 0;
  std::unique_ptr<SipMessage> request;
  Origin origin;
  // §16.4 results: how many of our own Route values lead the Route set, and the Request-URI
  // to use when the previous hop was a strict router.
  size_t own_routes = 0;
  std::string strict_route_uri;  // non-empty: Request-URI restored from the last Route
  // The router authenticated the request with Proxy-Authorization for our realm: remove it.
  bool strip_proxy_authorization = false;
  // Set by routers: the authenticated identity, for later checks.
  std::string authenticated_user;

  std::string to_tag;
  bool final_sent = false;
  std::vector<Branch> branches;
  std::function<bool(RequestContext&, uint16_t)> on_final;
  // Serial forwarding: every target in order, and the next one to try.
  std::vector<ProxyTarget> turn_targets;
  size_t next_turn = 0;
  TurnOptions turn;

  // The Request-URI after §16.4 (strict-router repair applied).
  std::string_view requestUri() const;
  // Route values that remain after ours (the next hops the request names).
  std::span<const NameAddr> remainingRoutes() const;
  bool hasToTag() const;
};

class RequestRouter {
 public:
  virtual ~RequestRouter() = default;
  // Decide what happens to a request that passed the proxy's checks. Must eventually call
  // one of Proxy::reply / Proxy::forward for ctx (now or after async work).
  virtual void route(Proxy& proxy, RequestContext& ctx) = 0;
};

// Turns a URI into a next hop. The default handles IP literals (sip, sips; transport=
// parameter); the federation layer adds DNS (RFC 3263) later.
class NextHopResolver {
 public:
  virtual ~NextHopResolver() = default;
  virtual std::optional<SendTarget> resolve(const Uri& uri) const;
};

class Proxy final : public TransactionUser {
 public:
  using Target = ProxyTarget;
  // Called once with the best final code before it is sent upstream; return false to take
  // over (the hook then replies itself, e.g. 202 after storing a message offline).
  using FinalHook = std::function<bool(RequestContext&, uint16_t best_code)>;
  using OriginateDone = std::function<void(uint16_t code)>;
  // Builds the bytes of an originated request for one target, given its Via value.
  using RequestBuilder = std::function<std::string(const Target&, const std::string& via)>;

  struct Stats {
    uint64_t requests = 0;
    uint64_t forwarded = 0;
    uint64_t replied_locally = 0;
    uint64_t loops = 0;
    uint64_t too_many_hops = 0;
  };

  Proxy(TransactionManager& tm, const LocalAddresses& local, ProxyConfig config,
        RequestRouter& router, const Clock& clock, const NextHopResolver& resolver);
  ~Proxy() override;

  // TransactionUser
  void onRequest(TxId server, std::unique_ptr<SipMessage> request, const Origin& origin) override;
  void onAck(std::unique_ptr<SipMessage> ack, const Origin& origin) override;
  void onResponse(TxId client, uint64_t cookie, std::unique_ptr<SipMessage> response) override;
  void onClientFailure(TxId client, uint64_t cookie, TxEvent why) override;
  void onServerFailure(TxId server, TxEvent why) override;

  // Router actions.
  void reply(RequestContext& ctx, uint16_t code, std::string_view reason,
             std::string_view extra_headers = {}, std::string_view content_type = {},
             std::string_view body = {});
  void forward(RequestContext& ctx, std::vector<Target> targets, FinalHook on_final = nullptr);
  // Forwards to one target at a time (RFC 3263 §4.3): on a transport error, no answer (see
  // TurnOptions::no_answer) or a 503 the next is tried at once; any other final response
  // ends it and is relayed. When all have failed, on_final gets the best code (408 when no
  // target answered at all).
  void forwardInTurn(RequestContext& ctx, std::vector<Target> targets, FinalHook on_final,
                     TurnOptions options);
  // Forwards to the next hop the request itself names (remaining Route, else Request-URI);
  // 404 when it cannot be resolved.
  void forwardToNamedHop(RequestContext& ctx);
  // Sends a request Herald originates (offline delivery, later NOTIFY) to every target in
  // parallel; done(code) once: the first 2xx, or the best final code when all have failed.
  void originate(std::vector<Target> targets, Method method, const RequestBuilder& build,
                 OriginateDone done);

  RequestContext* contextFor(uint64_t id);
  // Worker tick: Timer C of forwarded INVITEs.
  void onTick(TimePoint now);

  const LocalAddresses& local() const { return local_; }
  const NextHopResolver& resolver() const { return resolver_; }
  TransactionManager& transactions() { return tm_; }
  const ProxyConfig& config() const { return config_; }
  const Stats& stats() const { return stats_; }
  size_t activeContexts() const { return contexts_.size(); }

  // RFC 3261 §16.6 step 8: the hash of the fields that make a request loop when they repeat.
  static uint64_t loopHash(const SipMessage& request);
  // A Via value for a request sent by this node.
  std::string viaFor(const SendTarget& to, std::string_view branch) const;

 private:
  struct Originated {
    OriginateDone done;
    size_t pending = 0;
    uint16_t best = 0;
    bool finished = false;
  };

  // The request as every branch sends it (Route, Max-Forwards, credentials done); null after
  // replying 483.
  std::optional<MessageEditor> prepareForward(RequestContext& ctx);
  void startBranch(RequestContext& ctx, const MessageEditor& base, const Target& t,
                   size_t turn_target);
  // Serial forwarding: starts the next target when the last one failed over; false when
  // there is none or the last answer ends the turn.
  bool nextInTurn(RequestContext& ctx);
  void handleCancel(RequestContext& cancel);
  bool checkRequest(RequestContext& ctx);
  void relayResponse(RequestContext& ctx, const SipMessage& response);
  void branchDone(RequestContext& ctx, size_t branch, uint16_t code,
                  std::unique_ptr<SipMessage> response);
  void maybeComplete(RequestContext& ctx);
  void cancelPending(RequestContext& ctx);
  void finish(uint64_t id);
  void originatedDone(uint64_t id, uint16_t code);
  std::string newTag();

  TransactionManager& tm_;
  const LocalAddresses& local_;
  ProxyConfig config_;
  RequestRouter& router_;
  const Clock& clock_;
  const NextHopResolver& resolver_;
  uint64_t next_id_ = 1;
  uint64_t tag_counter_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<RequestContext>> contexts_;
  std::unordered_map<TxId, uint64_t> by_server_;
  std::unordered_map<uint64_t, Originated> originated_;
  Stats stats_;
};

// Picks the best final response of a proxy's branches (RFC 3261 §16.7 step 6): any 6xx, else
// the lowest class, preferring an answer over 408/503 within a class. Codes are final codes.
uint16_t bestFinalCode(const std::vector<uint16_t>& codes);

}  // namespace herald::sip
