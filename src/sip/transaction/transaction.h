#pragma once

// RFC 3261 §17 transaction state machines with the RFC 6026 corrections (INVITE "Accepted"
// states, timers L and M). Plain classes: events in, effects out through TransactionContext,
// so that they run under a fake clock in tests. No sockets, no threads.
//
// Client INVITE:   Calling -1xx-> Proceeding -2xx-> Accepted -M-> Terminated
//                     |                 \-3xx..6xx-> Completed (ACK sent) -D-> Terminated
//                     \-B-> Terminated (timeout)
// Client non-INVITE: Trying -1xx-> Proceeding -final-> Completed -K-> Terminated; F: timeout
// Server INVITE:   Proceeding -2xx-> Accepted -L-> Terminated
//                      \-3xx..6xx-> Completed -ACK-> Confirmed -I-> Terminated; H: no ACK
// Server non-INVITE: Trying -1xx-> Proceeding -final-> Completed -J-> Terminated
//
// All methods run on the worker that owns the transaction.

#include <cstdint>
#include <memory>

#include "common/timer_wheel.h"
#include "sip/message/sip_message.h"
#include "sip/transaction/types.h"

namespace herald::sip {

class TransactionContext {
 public:
  virtual ~TransactionContext() = default;
  virtual TimerId startTimer(TxId tx, TxTimer timer, Duration after) = 0;
  virtual void cancelTimer(TimerId id) = 0;
  // Sends bytes for transaction tx; a transport failure comes back as onTransportError.
  virtual void send(TxId tx, const SendTarget& to, const SharedBytes& bytes) = 0;
};

// What the transaction user (proxy, registrar) must be told after an event.
enum class TxEvent : uint8_t {
  None,
  PassToUser,      // the response / ACK goes to the TU
  Timeout,         // client: B or F fired; server: H fired (no ACK)
  TransportError,  // the transport could not send
};

class ClientTransaction {
 public:
  enum class State : uint8_t { Calling, Trying, Proceeding, Accepted, Completed, Terminated };

  // request: the bytes to send. For INVITE, the parsed request is kept to build the ACK for a
  // non-2xx final response.
  ClientTransaction(TxId id, SendTarget target, SharedBytes request,
                    std::unique_ptr<SipMessage> parsed_invite, const TimerConfig& timers);

  void start(TransactionContext& ctx);
  TxEvent onResponse(TransactionContext& ctx, const SipMessage& response);
  TxEvent onTimer(TransactionContext& ctx, TxTimer timer);
  TxEvent onTransportError(TransactionContext& ctx);

  TxId id() const { return id_; }
  bool isInvite() const { return is_invite_; }
  State state() const { return state_; }
  bool terminated() const { return state_ == State::Terminated; }
  const SendTarget& target() const { return target_; }
  const SharedBytes& request() const { return request_; }
  // The last response that moved the state forward (its code), 0 before any.
  uint16_t lastCode() const { return last_code_; }

 private:
  void startTimer(TransactionContext& ctx, TxTimer t, Duration d, TimerId* slot);
  void stopTimer(TransactionContext& ctx, TimerId* slot);
  void terminate(TransactionContext& ctx);

  TxId id_;
  SendTarget target_;
  SharedBytes request_;
  bool is_invite_;
  std::unique_ptr<SipMessage> invite_;  // until a final response: to build the ACK
  SharedBytes ack_;
  TimerConfig timers_;
  State state_;
  uint16_t last_code_ = 0;
  Duration retransmit_interval_{0};
  TimerId retransmit_timer_ = 0;  // A or E
  TimerId timeout_timer_ = 0;     // B or F
  TimerId wait_timer_ = 0;        // D, K or M
};

class ServerTransaction {
 public:
  enum class State : uint8_t { Trying, Proceeding, Accepted, Completed, Confirmed, Terminated };

  ServerTransaction(TxId id, bool invite, SendTarget response_target, const TimerConfig& timers);

  // A retransmission of the request arrived.
  void onRequestRetransmission(TransactionContext& ctx);
  // An ACK matched this INVITE transaction. PassToUser when it acknowledges a 2xx (the TU
  // forwards it end to end).
  TxEvent onAck(TransactionContext& ctx);
  // The TU sends a response. Ignored when the state no longer allows it.
  void respond(TransactionContext& ctx, uint16_t code, const SharedBytes& bytes);
  TxEvent onTimer(TransactionContext& ctx, TxTimer timer);
  TxEvent onTransportError(TransactionContext& ctx);

  TxId id() const { return id_; }
  bool isInvite() const { return invite_; }
  State state() const { return state_; }
  bool terminated() const { return state_ == State::Terminated; }
  // A final response has been sent.
  bool finalSent() const { return final_code_ != 0; }
  uint16_t finalCode() const { return final_code_; }
  const SendTarget& responseTarget() const { return target_; }
  const SharedBytes& lastResponse() const { return last_response_; }

 private:
  void startTimer(TransactionContext& ctx, TxTimer t, Duration d, TimerId* slot);
  void stopTimer(TransactionContext& ctx, TimerId* slot);
  void terminate(TransactionContext& ctx);

  TxId id_;
  bool invite_;
  SendTarget target_;
  TimerConfig timers_;
  State state_;
  uint16_t final_code_ = 0;
  SharedBytes last_response_;
  Duration retransmit_interval_{0};
  TimerId retransmit_timer_ = 0;  // G
  TimerId timeout_timer_ = 0;     // H
  TimerId wait_timer_ = 0;        // I, J or L
};

}  // namespace herald::sip
