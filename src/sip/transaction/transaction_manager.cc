#include "sip/transaction/transaction_manager.h"

#include "common/assert.h"
#include "common/log.h"
#include "sip/parser/message_editor.h"
#include "sip/parser/message_parser.h"
#include "sip/transaction/transaction_key.h"

namespace herald::sip {

namespace {
constexpr std::string_view kBranchPrefix = "z9hG4bKH";
}

TransactionManager::TransactionManager(const Clock& clock, const TimerConfig& timers,
                                       MessageSender& sender, uint32_t worker)
    : clock_(clock),
      timers_(timers),
      sender_(sender),
      worker_(worker),
      wheel_(clock.now(), Duration(10)) {
  server_keys_.reserve(1 << 14);
  client_keys_.reserve(1 << 14);
}

TxId TransactionManager::allocate() {
  uint32_t index;
  if (!slab_free_.empty()) {
    index = slab_free_.back();
    slab_free_.pop_back();
  } else {
    index = static_cast<uint32_t>(slab_.size());
    slab_.emplace_back();
    slab_generation_.push_back(1);
  }
  ++live_;
  return static_cast<TxId>(slab_generation_[index]) << 32 | index;
}

TransactionManager::Entry* TransactionManager::entry(TxId id) {
  uint32_t index = static_cast<uint32_t>(id);
  if (index >= slab_.size() || slab_generation_[index] != static_cast<uint32_t>(id >> 32)) {
    return nullptr;
  }
  Entry& e = slab_[index];
  return std::holds_alternative<std::monostate>(e.tx) ? nullptr : &e;
}

void TransactionManager::release(TxId id) {
  uint32_t index = static_cast<uint32_t>(id);
  Entry& e = slab_[index];
  e.tx.emplace<std::monostate>();
  e.key.clear();  // keeps its capacity for the next transaction in this slot
  e.key_hash = 0;
  e.cookie = 0;
  e.cancel_pending = false;
  e.retire = false;
  ++slab_generation_[index];
  slab_free_.push_back(index);
  --live_;
}

TransactionManager::~TransactionManager() = default;

uint64_t TransactionManager::checkHash(const std::string& key) {
  return std::hash<std::string>{}(key);  // murmur in libstdc++: independent of FNV-1a
}

void TransactionManager::retire(TxId id, Entry& e) {
  const bool server = e.isServer();
  std::string_view response;
  if (server && e.server().lastResponse()) response = *e.server().lastResponse();
  (server ? retired_server_ : retired_client_)
      .add(e.key_hash, checkHash(e.key), clock_.now() + (server ? 64 * timers_.t1 : timers_.t4),
           response);
  reap(id);
}

const RetiredLog::Record* TransactionManager::findRetired(const RetiredLog& log,
                                                          const std::string& key) const {
  return log.find(hashKey(key), checkHash(key));
}

uint64_t TransactionManager::hashKey(const std::string& key) {
  // FNV-1a, 64 bit.
  uint64_t h = 14695981039346656037ull;
  for (char c : key) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

TxId TransactionManager::lookup(const KeyIndex& index, const std::string& key) const {
  auto it = index.find(hashKey(key));
  if (it == index.end()) return 0;
  uint32_t slot = static_cast<uint32_t>(it->second);
  if (slot >= slab_.size() || slab_generation_[slot] != static_cast<uint32_t>(it->second >> 32)) {
    return 0;
  }
  return slab_[slot].key == key ? it->second : 0;
}

TimerId TransactionManager::startTimer(TxId tx, TxTimer timer, Duration after) {
  if (timer == TxTimer::J || timer == TxTimer::K) {
    // Only non-INVITE transactions over UDP wait these out: retired when the call returns.
    if (Entry* e = entry(tx)) e->retire = true;
    return 0;
  }
  return wheel_.schedule(clock_.now() + after,
                         TimerWheel::Payload{tx, static_cast<uint32_t>(timer)});
}

void TransactionManager::cancelTimer(TimerId id) { wheel_.cancel(id); }

void TransactionManager::send(TxId tx, const SendTarget& to, const SharedBytes& bytes) {
  sender_.send(to, bytes, tx);
}

std::string TransactionManager::newBranch(uint64_t loop_hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string b;
  b.reserve(48);
  b.append(kBranchPrefix);
  b.append(std::to_string(worker_));
  b.push_back('.');
  for (int shift = 60; shift >= 0; shift -= 4) b.push_back(kHex[(loop_hash >> shift) & 0xF]);
  b.push_back('.');
  uint64_t serial = next_branch_++;
  char digits[16];
  int n = 0;
  do {
    digits[n++] = kHex[serial & 0xF];
    serial >>= 4;
  } while (serial != 0);
  while (n > 0) b.push_back(digits[--n]);
  return b;
}

std::optional<uint32_t> TransactionManager::workerOfBranch(std::string_view branch) {
  if (branch.substr(0, kBranchPrefix.size()) != kBranchPrefix) return std::nullopt;
  uint32_t w = 0;
  size_t i = kBranchPrefix.size();
  size_t digits = 0;
  while (i < branch.size() && branch[i] >= '0' && branch[i] <= '9' && digits < 4) {
    w = w * 10 + static_cast<uint32_t>(branch[i] - '0');
    ++i;
    ++digits;
  }
  if (digits == 0 || i >= branch.size() || branch[i] != '.') return std::nullopt;
  return w;
}

std::optional<uint64_t> TransactionManager::loopHashOfBranch(std::string_view branch) {
  if (!workerOfBranch(branch)) return std::nullopt;
  size_t dot = branch.find('.');
  if (dot == std::string_view::npos || dot + 17 > branch.size()) return std::nullopt;
  uint64_t h = 0;
  for (size_t i = dot + 1; i < dot + 17; ++i) {
    char c = branch[i];
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) return std::nullopt;
    h = h * 16 + static_cast<uint64_t>(v);
  }
  return h;
}

SendTarget TransactionManager::responseTarget(const SipMessage& request, const Origin& origin) {
  SendTarget t;
  t.transport = origin.transport;
  t.endpoint = origin.source;
  t.connection = origin.connection;
  if (origin.transport == Transport::Udp) {
    // RFC 3581: with rport, back to the source port; otherwise to the sent-by port of the
    // source address (RFC 3261 §18.2.2; maddr is not honoured: no multicast responses).
    auto via = request.topVia();
    if (via && !(*via)->rport_requested) {
      t.endpoint.setPort((*via)->port.value_or(5060));
    }
  }
  return t;
}

void TransactionManager::receiveRequest(std::unique_ptr<SipMessage> request, const Origin& origin) {
  // received/rport in the top Via of our responses and of what the TU forwards.
  annotateReceivedFrom(*request, origin.source);
  serverTransactionKey(*request, &scratch_);
  if (request->method() == Method::Ack) {
    TxId id = lookup(server_keys_, scratch_);
    if (id != 0) {
      Entry& e = *entry(id);
      TxEvent ev = e.server().onAck(*this);
      if (e.server().terminated()) reap(id);
      if (ev == TxEvent::PassToUser && user_ != nullptr) user_->onAck(std::move(request), origin);
      return;
    }
    if (user_ != nullptr) user_->onAck(std::move(request), origin);
    return;
  }
  if (TxId existing = lookup(server_keys_, scratch_); existing != 0) {
    ++stats_.retransmissions_absorbed;
    entry(existing)->server().onRequestRetransmission(*this);
    return;
  }
  if (const RetiredLog::Record* r = findRetired(retired_server_, scratch_)) {
    ++stats_.retransmissions_absorbed;
    if (r->length > 0) {
      sender_.send(responseTarget(*request, origin), makeBytes(std::string(r->response())), 0);
    }
    return;
  }
  TxId id = allocate();
  Entry& e = slab_[static_cast<uint32_t>(id)];
  e.tx.emplace<ServerTransaction>(id, request->method() == Method::Invite,
                                  responseTarget(*request, origin), timers_);
  e.key = scratch_;
  e.key_hash = hashKey(e.key);
  server_keys_[e.key_hash] = id;
  ++stats_.server_created;
  if (user_ != nullptr) user_->onRequest(id, std::move(request), origin);
}

void TransactionManager::receiveResponse(std::unique_ptr<SipMessage> response,
                                         const Origin& origin) {
  (void)origin;
  clientTransactionKey((*response->topVia())->branch, (*response->cseq())->method_text, &scratch_);
  TxId id = lookup(client_keys_, scratch_);
  if (id == 0 && findRetired(retired_client_, scratch_) != nullptr) {
    ++stats_.retransmissions_absorbed;  // Timer K: a retransmission of the final response
    return;
  }
  if (id == 0) {
    // Not ours, or for a transaction that has ended: Herald is not a stateless proxy, so the
    // response is dropped (never forwarded by its Via, RFC 4475 bcast).
    ++stats_.stray_responses;
    return;
  }
  Entry& e = *entry(id);
  TxEvent ev = e.client().onResponse(*this, *response);
  uint16_t code = response->statusCode();
  // Read what is needed now: sending a CANCEL may grow the slab and move entries.
  uint64_t cookie = e.cookie;
  bool done = e.client().terminated();
  if (e.retire) {
    retire(id, e);
  } else if (ev == TxEvent::PassToUser && code < 200 && e.cancel_pending) {
    sendCancel(id, e);
  }
  if (ev == TxEvent::PassToUser && user_ != nullptr) {
    user_->onResponse(id, cookie, std::move(response));
  }
  if (done) reap(id);
}

void TransactionManager::onTransportError(TxId tx) {
  Entry* found = entry(tx);
  if (found == nullptr) return;
  ++stats_.transport_errors;
  Entry& e = *found;
  if (e.isClient()) {
    handleClientEvent(tx, e, e.client().onTransportError(*this));
  } else {
    TxEvent ev = e.server().onTransportError(*this);
    if (ev != TxEvent::None && user_ != nullptr) user_->onServerFailure(tx, ev);
    reap(tx);
  }
}

void TransactionManager::handleClientEvent(TxId id, Entry& e, TxEvent ev) {
  uint64_t cookie = e.cookie;
  bool done = e.client().terminated();
  if (done) reap(id);
  if ((ev == TxEvent::Timeout || ev == TxEvent::TransportError) && user_ != nullptr) {
    if (ev == TxEvent::Timeout) ++stats_.client_timeouts;
    user_->onClientFailure(id, cookie, ev);
  }
}

void TransactionManager::onTimer(TxId tx, TxTimer timer) {
  Entry* found = entry(tx);
  if (found == nullptr) return;
  Entry& e = *found;
  if (e.isClient()) {
    handleClientEvent(tx, e, e.client().onTimer(*this, timer));
    return;
  }
  TxEvent ev = e.server().onTimer(*this, timer);
  bool done = e.server().terminated();
  if (done) reap(tx);
  if (ev == TxEvent::Timeout && user_ != nullptr) user_->onServerFailure(tx, ev);
}

void TransactionManager::advance(TimePoint now) {
  retired_server_.expire(now);
  retired_client_.expire(now);
  wheel_.advance(now, [this](const TimerWheel::Payload& p) {
    onTimer(p.owner, static_cast<TxTimer>(p.kind));
  });
}

void TransactionManager::reap(TxId id) {
  Entry* e = entry(id);
  if (e == nullptr) return;
  auto& index = e->isServer() ? server_keys_ : client_keys_;
  auto k = index.find(e->key_hash);
  if (k != index.end() && k->second == id) index.erase(k);
  release(id);
}

void TransactionManager::respond(TxId server, uint16_t code, SharedBytes response) {
  Entry* e = entry(server);
  if (e == nullptr || !e->isServer()) return;
  e->server().respond(*this, code, response);
  if (e->retire) {
    retire(server, *e);
  } else if (e->server().terminated()) {
    reap(server);
  }
}

TxId TransactionManager::sendRequest(const SendTarget& to, SharedBytes request,
                                     std::string_view branch, Method method, uint64_t cookie) {
  std::unique_ptr<SipMessage> invite;
  if (method == Method::Invite) {
    auto parsed = MessageParser::parseStream(Buffer::copyOf(*request));
    if (parsed) invite = std::make_unique<SipMessage>(std::move(*parsed));
  }
  TxId id = allocate();
  Entry& e = slab_[static_cast<uint32_t>(id)];
  std::string_view method_name = methodName(method);
  e.key = clientTransactionKey(branch, method_name.empty() ? "UNKNOWN" : method_name);
  e.cookie = cookie;
  e.tx.emplace<ClientTransaction>(id, to, std::move(request), std::move(invite), timers_);
  if (method == Method::Invite && !e.client().isInvite()) {
    HERALD_BUG("INVITE request bytes do not parse");
  }
  e.key_hash = hashKey(e.key);
  client_keys_[e.key_hash] = id;
  ++stats_.client_created;
  e.client().start(*this);
  return id;
}

// REQUIRES: e is not used by the caller afterwards (sendRequest may move the slab).
void TransactionManager::sendCancel(TxId id, Entry& e) {
  e.cancel_pending = false;
  const SipMessage* invite = nullptr;
  auto parsed = MessageParser::parseStream(Buffer::copyOf(*e.client().request()));
  if (parsed) invite = &*parsed;
  if (invite == nullptr) return;
  auto via = invite->topVia();
  if (!via) return;
  std::string branch((*via)->branch);
  SendTarget target = e.client().target();
  uint64_t cookie = e.cookie;
  HLOG_DEBUG(SipTransaction, "CANCEL for client transaction {}", id);
  sendRequest(target, makeBytes(buildCancel(*invite)), branch, Method::Cancel, cookie);
}

void TransactionManager::cancelInvite(TxId client) {
  Entry* found = entry(client);
  if (found == nullptr || !found->isClient() || !found->client().isInvite()) return;
  Entry& e = *found;
  switch (e.client().state()) {
    case ClientTransaction::State::Calling:
      e.cancel_pending = true;  // RFC 3261 §9.1: wait for a provisional response
      break;
    case ClientTransaction::State::Proceeding:
      sendCancel(client, e);
      break;
    default:
      break;
  }
}

void TransactionManager::sendStateless(const SendTarget& to, SharedBytes bytes) {
  sender_.send(to, bytes, 0);
}

TxId TransactionManager::findInviteServer(const SipMessage& cancel) const {
  return lookup(server_keys_, inviteKeyFor(cancel));
}

}  // namespace herald::sip
