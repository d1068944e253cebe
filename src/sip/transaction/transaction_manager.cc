#include "sip/transaction/transaction_manager.h"

#include <cstdio>

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
      wheel_(clock.now(), Duration(10)) {}

TransactionManager::~TransactionManager() = default;

TimerId TransactionManager::startTimer(TxId tx, TxTimer timer, Duration after) {
  return wheel_.schedule(clock_.now() + after,
                         TimerWheel::Payload{tx, static_cast<uint32_t>(timer)});
}

void TransactionManager::cancelTimer(TimerId id) { wheel_.cancel(id); }

void TransactionManager::send(TxId tx, const SendTarget& to, const SharedBytes& bytes) {
  sender_.send(to, bytes, tx);
}

std::string TransactionManager::newBranch(uint64_t loop_hash) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "z9hG4bKH%u.%016llx.%llx", worker_,
                static_cast<unsigned long long>(loop_hash),
                static_cast<unsigned long long>(next_branch_++));
  return buf;
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
  if (request->method() == Method::Ack) {
    auto it = server_keys_.find(serverTransactionKey(*request));
    if (it != server_keys_.end()) {
      Entry& e = entries_.at(it->second);
      TxEvent ev = e.server->onAck(*this);
      TxId id = it->second;
      if (e.server->terminated()) reap(id);
      if (ev == TxEvent::PassToUser && user_ != nullptr) user_->onAck(std::move(request), origin);
      return;
    }
    if (user_ != nullptr) user_->onAck(std::move(request), origin);
    return;
  }
  std::string key = serverTransactionKey(*request);
  auto it = server_keys_.find(key);
  if (it != server_keys_.end()) {
    ++stats_.retransmissions_absorbed;
    entries_.at(it->second).server->onRequestRetransmission(*this);
    return;
  }
  TxId id = next_id_++;
  Entry e;
  e.server = std::make_unique<ServerTransaction>(id, request->method() == Method::Invite,
                                                 responseTarget(*request, origin), timers_);
  e.key = key;
  server_keys_.emplace(std::move(key), id);
  entries_.emplace(id, std::move(e));
  ++stats_.server_created;
  if (user_ != nullptr) user_->onRequest(id, std::move(request), origin);
}

void TransactionManager::receiveResponse(std::unique_ptr<SipMessage> response,
                                         const Origin& origin) {
  (void)origin;
  auto it = client_keys_.find(clientTransactionKey(*response));
  if (it == client_keys_.end()) {
    // Not ours, or for a transaction that has ended: Herald is not a stateless proxy, so the
    // response is dropped (never forwarded by its Via, RFC 4475 bcast).
    ++stats_.stray_responses;
    return;
  }
  TxId id = it->second;
  Entry& e = entries_.at(id);
  TxEvent ev = e.client->onResponse(*this, *response);
  uint16_t code = response->statusCode();
  if (ev == TxEvent::PassToUser && code < 200 && e.cancel_pending) sendCancel(id, e);
  uint64_t cookie = e.cookie;
  bool done = e.client->terminated();
  if (ev == TxEvent::PassToUser && user_ != nullptr) {
    user_->onResponse(id, cookie, std::move(response));
  }
  if (done) reap(id);
}

void TransactionManager::onTransportError(TxId tx) {
  auto it = entries_.find(tx);
  if (it == entries_.end()) return;
  ++stats_.transport_errors;
  Entry& e = it->second;
  if (e.client) {
    handleClientEvent(tx, e, e.client->onTransportError(*this));
  } else {
    TxEvent ev = e.server->onTransportError(*this);
    if (ev != TxEvent::None && user_ != nullptr) user_->onServerFailure(tx, ev);
    reap(tx);
  }
}

void TransactionManager::handleClientEvent(TxId id, Entry& e, TxEvent ev) {
  uint64_t cookie = e.cookie;
  bool done = e.client->terminated();
  if (done) reap(id);
  if ((ev == TxEvent::Timeout || ev == TxEvent::TransportError) && user_ != nullptr) {
    if (ev == TxEvent::Timeout) ++stats_.client_timeouts;
    user_->onClientFailure(id, cookie, ev);
  }
}

void TransactionManager::onTimer(TxId tx, TxTimer timer) {
  auto it = entries_.find(tx);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (e.client) {
    handleClientEvent(tx, e, e.client->onTimer(*this, timer));
    return;
  }
  TxEvent ev = e.server->onTimer(*this, timer);
  bool done = e.server->terminated();
  if (done) reap(tx);
  if (ev == TxEvent::Timeout && user_ != nullptr) user_->onServerFailure(tx, ev);
}

void TransactionManager::advance(TimePoint now) {
  wheel_.advance(now, [this](const TimerWheel::Payload& p) {
    onTimer(p.owner, static_cast<TxTimer>(p.kind));
  });
}

void TransactionManager::reap(TxId id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (it->second.server) {
    server_keys_.erase(it->second.key);
  } else {
    client_keys_.erase(it->second.key);
  }
  entries_.erase(it);
}

void TransactionManager::respond(TxId server, uint16_t code, SharedBytes response) {
  auto it = entries_.find(server);
  if (it == entries_.end() || !it->second.server) return;
  it->second.server->respond(*this, code, response);
  if (it->second.server->terminated()) reap(server);
}

TxId TransactionManager::sendRequest(const SendTarget& to, SharedBytes request,
                                     std::string_view branch, Method method, uint64_t cookie) {
  std::unique_ptr<SipMessage> invite;
  if (method == Method::Invite) {
    auto parsed = MessageParser::parseStream(Buffer::copyOf(*request));
    if (parsed) invite = std::make_unique<SipMessage>(std::move(*parsed));
  }
  TxId id = next_id_++;
  Entry e;
  std::string_view method_name = methodName(method);
  e.key = clientTransactionKey(branch, method_name.empty() ? "UNKNOWN" : method_name);
  e.cookie = cookie;
  e.client =
      std::make_unique<ClientTransaction>(id, to, std::move(request), std::move(invite), timers_);
  if (method == Method::Invite && !e.client->isInvite()) {
    HERALD_BUG("INVITE request bytes do not parse");
  }
  client_keys_.emplace(e.key, id);
  auto [pos, inserted] = entries_.emplace(id, std::move(e));
  (void)inserted;
  ++stats_.client_created;
  pos->second.client->start(*this);
  return id;
}

void TransactionManager::sendCancel(TxId id, Entry& e) {
  e.cancel_pending = false;
  const SipMessage* invite = nullptr;
  auto parsed = MessageParser::parseStream(Buffer::copyOf(*e.client->request()));
  if (parsed) invite = &*parsed;
  if (invite == nullptr) return;
  auto via = invite->topVia();
  if (!via) return;
  std::string branch((*via)->branch);
  SendTarget target = e.client->target();
  uint64_t cookie = e.cookie;
  HLOG_DEBUG(SipTransaction, "CANCEL for client transaction {}", id);
  sendRequest(target, makeBytes(buildCancel(*invite)), branch, Method::Cancel, cookie);
}

void TransactionManager::cancelInvite(TxId client) {
  auto it = entries_.find(client);
  if (it == entries_.end() || !it->second.client || !it->second.client->isInvite()) return;
  Entry& e = it->second;
  switch (e.client->state()) {
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
  auto it = server_keys_.find(inviteKeyFor(cancel));
  return it == server_keys_.end() ? 0 : it->second;
}

}  // namespace herald::sip
