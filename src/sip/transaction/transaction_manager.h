#pragma once

// TransactionManager: the transactions of one worker, their timers, and the matching of
// incoming messages to them (RFC 3261 §17.1.3, §17.2.3). The transport hands it messages that
// belong to this worker; the transaction user (proxy, registrar) gets new requests, responses
// and failures through TransactionUser and acts through respond() / sendRequest().
//
//   TransactionManager tm(clock, timers, sender, /*worker=*/0);
//   tm.setUser(&proxy);
//   tm.receiveRequest(std::move(msg), origin);      // -> proxy.onRequest(id, ...)
//   tm.respond(id, 200, makeBytes(buildResponse(...)));
//   tm.advance(clock.now());                        // on the worker's timer tick
//
// Branches made by newBranch() carry the worker index, so that any worker can route a response
// to the worker that owns its client transaction (workerOfBranch()).
//
// All methods run on the owning worker. Nothing here blocks or takes a lock.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "common/clock.h"
#include "common/timer_wheel.h"
#include "sip/message/sip_message.h"
#include "sip/transaction/retired_log.h"
#include "sip/transaction/transaction.h"
#include "sip/transaction/types.h"

namespace herald::sip {

class TransactionUser {
 public:
  virtual ~TransactionUser() = default;
  // A request that opened a new server transaction (any method but ACK). The TU answers with
  // TransactionManager::respond(server, ...).
  virtual void onRequest(TxId server, std::unique_ptr<SipMessage> request,
                         const Origin& origin) = 0;
  // An ACK outside any transaction (it acknowledges a 2xx) or for an INVITE server
  // transaction in the Accepted state; a proxy forwards it end to end.
  virtual void onAck(std::unique_ptr<SipMessage> ack, const Origin& origin) = 0;
  // A response for a client transaction started with sendRequest(..., cookie).
  virtual void onResponse(TxId client, uint64_t cookie, std::unique_ptr<SipMessage> response) = 0;
  // The client transaction ended without a final response: Timeout or TransportError.
  virtual void onClientFailure(TxId client, uint64_t cookie, TxEvent why) = 0;
  // A server transaction failed: TransportError while responding, or Timeout (no ACK for a
  // non-2xx final response to an INVITE).
  virtual void onServerFailure(TxId server, TxEvent why) = 0;
};

class MessageSender {
 public:
  virtual ~MessageSender() = default;
  // Queues bytes for sending. A failure comes back later, on the manager's worker, as
  // TransactionManager::onTransportError(tx); tx 0 means nobody is told.
  virtual void send(const SendTarget& to, const SharedBytes& bytes, TxId tx) = 0;
};

class TransactionManager final : private TransactionContext {
 public:
  struct Stats {
    uint64_t server_created = 0;
    uint64_t client_created = 0;
    uint64_t retransmissions_absorbed = 0;
    uint64_t stray_responses = 0;
    uint64_t client_timeouts = 0;
    uint64_t transport_errors = 0;
  };

  TransactionManager(const Clock& clock, const TimerConfig& timers, MessageSender& sender,
                     uint32_t worker);
  ~TransactionManager() override;

  void setUser(TransactionUser* user) { user_ = user; }

  // Inbound. REQUIRES: the message passed validate(Basic) and belongs to this worker.
  void receiveRequest(std::unique_ptr<SipMessage> request, const Origin& origin);
  void receiveResponse(std::unique_ptr<SipMessage> response, const Origin& origin);
  void onTransportError(TxId tx);
  // Fires due timers; call on every timer tick.
  void advance(TimePoint now);

  // Sends a response on a server transaction; ignored when it has ended.
  void respond(TxId server, uint16_t code, SharedBytes response);
  // Starts a client transaction for `request`, whose top Via carries `branch` (made by
  // newBranch()). For INVITE the request is parsed once more to build ACK and CANCEL later.
  TxId sendRequest(const SendTarget& to, SharedBytes request, std::string_view branch,
                   Method method, uint64_t cookie);
  // Cancels a pending INVITE client transaction (RFC 3261 §9.1): sends CANCEL once a
  // provisional response has arrived. No effect after a final response.
  void cancelInvite(TxId client);
  // Sends bytes outside any transaction (ACK for 2xx, stateless replies).
  void sendStateless(const SendTarget& to, SharedBytes bytes);

  // The INVITE server transaction a CANCEL refers to; 0 when there is none.
  TxId findInviteServer(const SipMessage& cancel) const;
  // The target for responses to a request that arrived from origin (RFC 3261 §18.2.2,
  // RFC 3581).
  static SendTarget responseTarget(const SipMessage& request, const Origin& origin);

  // "z9hG4bKH<worker>.<loop hash>.<serial>": RFC 3261 magic cookie, this worker's index,
  // the proxy's loop-detection hash (RFC 3261 §16.6 step 8), a unique serial.
  std::string newBranch(uint64_t loop_hash);
  static std::optional<uint32_t> workerOfBranch(std::string_view branch);
  // The loop hash embedded by newBranch(), if the branch is one of ours.
  static std::optional<uint64_t> loopHashOfBranch(std::string_view branch);

  // Transactions at work (not counting retired ones, see RetiredLog).
  size_t serverCount() const { return server_keys_.size(); }
  size_t clientCount() const { return client_keys_.size(); }
  // Retired transactions still absorbing retransmissions (Timer J / K).
  size_t retiredCount() const {
    return retired_server_.size() + retired_client_.size();
  }
  size_t liveTransactions() const { return live_; }
  const Stats& stats() const { return stats_; }
  // Timer bases for transactions created from now on (live configuration changes).
  void setTimers(const TimerConfig& timers) { timers_ = timers; }
  uint32_t worker() const { return worker_; }

 private:
  // A slot holds one server or one client transaction, inline rather than in an allocation
  // of its own (at 10,000 MESSAGE/s over UDP some 300,000 are alive, Timer J).
  struct Entry {
    std::variant<std::monostate, ServerTransaction, ClientTransaction> tx;
    bool isServer() const { return std::holds_alternative<ServerTransaction>(tx); }
    bool isClient() const { return std::holds_alternative<ClientTransaction>(tx); }
    ServerTransaction& server() { return std::get<ServerTransaction>(tx); }
    ClientTransaction& client() { return std::get<ClientTransaction>(tx); }
    std::string key;
    uint64_t key_hash = 0;  // hashKey(key), its index slot
    uint64_t cookie = 0;
    bool cancel_pending = false;
    // The machine asked for Timer J or K: once its call returns, retire() it.
    bool retire = false;
  };
  // Key hash -> transaction. Open addressing: one probe into a flat array, where a node map
  // cost a cache and TLB miss per node at these sizes.
  using KeyIndex = absl::flat_hash_map<uint64_t, TxId>;

  // TransactionContext
  TimerId startTimer(TxId tx, TxTimer timer, Duration after) override;
  void cancelTimer(TimerId id) override;
  void send(TxId tx, const SendTarget& to, const SharedBytes& bytes) override;

  void onTimer(TxId tx, TxTimer timer);
  void handleClientEvent(TxId id, Entry& e, TxEvent ev);
  void reap(TxId id);
  void sendCancel(TxId id, Entry& e);

  const Clock& clock_;
  TimerConfig timers_;
  MessageSender& sender_;
  uint32_t worker_;
  TransactionUser* user_ = nullptr;
  TimerWheel wheel_;
  uint64_t next_branch_ = 1;
  // Keys are indexed by a 64-bit hash; the entry keeps the key to confirm a match.
  TxId lookup(const KeyIndex& index, const std::string& key) const;
  static uint64_t hashKey(const std::string& key);

  // Transactions live in a slab: TxId = generation << 32 | index, so a stale id never finds a
  // reused slot and a lookup by id is one indexed access. A deque, so that growing it never
  // moves the live entries (a vector doubling at 300,000 transactions stalled a worker 40 ms).
  TxId allocate();
  Entry* entry(TxId id);
  void release(TxId id);

  std::deque<Entry> slab_;
  std::vector<uint32_t> slab_generation_;
  std::vector<uint32_t> slab_free_;
  size_t live_ = 0;
  KeyIndex server_keys_;
  KeyIndex client_keys_;
  std::string scratch_;  // key being looked up, reused
  Stats stats_;

  // Retired transactions: non-INVITE ones over UDP whose only duty left is to absorb
  // retransmissions, the server side for Timer J (64*T1: resend the final response to each
  // request retransmission, RFC 3261 §17.2.2) and the client side for Timer K (T4: swallow
  // response retransmissions, §17.1.2.2). A record in a RetiredLog replaces the whole
  // transaction, so the slab holds only transactions still at work and stays in cache; at
  // 5,000 MESSAGE/s the J records alone number 160,000.
  // Moves the transaction to its log and frees its slot. REQUIRES: e.retire.
  void retire(TxId id, Entry& e);
  // The record for key, or nullptr.
  const RetiredLog::Record* findRetired(const RetiredLog& log, const std::string& key) const;
  static uint64_t checkHash(const std::string& key);
  RetiredLog retired_server_;
  RetiredLog retired_client_;
};

}  // namespace herald::sip
