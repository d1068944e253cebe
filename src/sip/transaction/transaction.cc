#include "sip/transaction/transaction.h"

#include <algorithm>

#include "sip/parser/message_editor.h"

namespace herald::sip {

// ---------------------------------------------------------------------------------------------
// Client

ClientTransaction::ClientTransaction(TxId id, SendTarget target, SharedBytes request,
                                     std::unique_ptr<SipMessage> parsed_invite,
                                     const TimerConfig& timers)
    : id_(id),
      target_(std::move(target)),
      request_(std::move(request)),
      is_invite_(parsed_invite != nullptr),
      invite_(std::move(parsed_invite)),
      timers_(timers),
      state_(is_invite_ ? State::Calling : State::Trying) {}

void ClientTransaction::startTimer(TransactionContext& ctx, TxTimer t, Duration d, TimerId* slot) {
  if (*slot != 0) ctx.cancelTimer(*slot);
  *slot = ctx.startTimer(id_, t, d);
}

void ClientTransaction::stopTimer(TransactionContext& ctx, TimerId* slot) {
  if (*slot != 0) {
    ctx.cancelTimer(*slot);
    *slot = 0;
  }
}

void ClientTransaction::terminate(TransactionContext& ctx) {
  stopTimer(ctx, &retransmit_timer_);
  stopTimer(ctx, &timeout_timer_);
  stopTimer(ctx, &wait_timer_);
  state_ = State::Terminated;
  invite_.reset();
}

void ClientTransaction::start(TransactionContext& ctx) {
  const bool reliable = isReliable(target_.transport);
  ctx.send(id_, target_, request_);
  if (state_ == State::Terminated) return;  // the send failed synchronously
  retransmit_interval_ = timers_.t1;
  if (is_invite_) {
    // RFC 3261 §17.1.1.2: Timer A (unreliable only) and Timer B = 64*T1.
    if (!reliable) startTimer(ctx, TxTimer::A, timers_.t1, &retransmit_timer_);
    startTimer(ctx, TxTimer::B, 64 * timers_.t1, &timeout_timer_);
  } else {
    // §17.1.2.2: Timer E (unreliable only) and Timer F = 64*T1.
    if (!reliable) startTimer(ctx, TxTimer::E, timers_.t1, &retransmit_timer_);
    startTimer(ctx, TxTimer::F, 64 * timers_.t1, &timeout_timer_);
  }
}

TxEvent ClientTransaction::onResponse(TransactionContext& ctx, const SipMessage& response) {
  const uint16_t code = response.statusCode();
  const bool reliable = isReliable(target_.transport);
  if (is_invite_) {
    switch (state_) {
      case State::Calling:
      case State::Proceeding:
        if (code < 200) {
          state_ = State::Proceeding;
          stopTimer(ctx, &retransmit_timer_);
          stopTimer(ctx, &timeout_timer_);  // an INVITE in Proceeding waits (proxy Timer C)
          last_code_ = code;
          return TxEvent::PassToUser;
        }
        stopTimer(ctx, &retransmit_timer_);
        stopTimer(ctx, &timeout_timer_);
        last_code_ = code;
        if (code < 300) {
          // RFC 6026 §8.4: Accepted; later 2xx (retransmissions, other forks) go to the TU.
          state_ = State::Accepted;
          startTimer(ctx, TxTimer::M, 64 * timers_.t1, &wait_timer_);
          invite_.reset();
          return TxEvent::PassToUser;
        }
        // §17.1.1.3: ACK the non-2xx final response, wait Timer D for retransmissions.
        if (invite_ == nullptr) return TxEvent::None;
        ack_ = makeBytes(buildAckForNon2xx(*invite_, response));
        invite_.reset();
        state_ = State::Completed;
        ctx.send(id_, target_, ack_);
        if (reliable) {
          terminate(ctx);
        } else {
          startTimer(ctx, TxTimer::D, std::max(Duration(32000), 64 * timers_.t1), &wait_timer_);
        }
        return TxEvent::PassToUser;
      case State::Accepted:
        return code >= 200 && code < 300 ? TxEvent::PassToUser : TxEvent::None;
      case State::Completed:
        if (code >= 300 && ack_) ctx.send(id_, target_, ack_);
        return TxEvent::None;
      case State::Trying:
      case State::Terminated:
        return TxEvent::None;
    }
    return TxEvent::None;
  }
  // Non-INVITE.
  if (state_ != State::Trying && state_ != State::Proceeding) return TxEvent::None;
  last_code_ = code;
  if (code < 200) {
    state_ = State::Proceeding;
    return TxEvent::PassToUser;
  }
  stopTimer(ctx, &retransmit_timer_);
  stopTimer(ctx, &timeout_timer_);
  state_ = State::Completed;
  if (reliable) {
    terminate(ctx);
  } else {
    startTimer(ctx, TxTimer::K, timers_.t4, &wait_timer_);
  }
  return TxEvent::PassToUser;
}

TxEvent ClientTransaction::onTimer(TransactionContext& ctx, TxTimer timer) {
  switch (timer) {
    case TxTimer::A:
      retransmit_timer_ = 0;
      if (state_ != State::Calling) return TxEvent::None;
      ctx.send(id_, target_, request_);
      retransmit_interval_ *= 2;  // §17.1.1.2: A doubles, without the T2 cap
      startTimer(ctx, TxTimer::A, retransmit_interval_, &retransmit_timer_);
      return TxEvent::None;
    case TxTimer::E:
      retransmit_timer_ = 0;
      if (state_ != State::Trying && state_ != State::Proceeding) return TxEvent::None;
      ctx.send(id_, target_, request_);
      // §17.1.2.2: E doubles up to T2 in Trying; in Proceeding it is T2.
      retransmit_interval_ =
          state_ == State::Trying ? std::min(2 * retransmit_interval_, timers_.t2) : timers_.t2;
      startTimer(ctx, TxTimer::E, retransmit_interval_, &retransmit_timer_);
      return TxEvent::None;
    case TxTimer::B:
    case TxTimer::F:
      timeout_timer_ = 0;
      if (state_ != State::Calling && state_ != State::Trying && state_ != State::Proceeding) {
        return TxEvent::None;
      }
      terminate(ctx);
      return TxEvent::Timeout;
    case TxTimer::D:
    case TxTimer::K:
    case TxTimer::M:
      wait_timer_ = 0;
      terminate(ctx);
      return TxEvent::None;
    default:
      return TxEvent::None;
  }
}

TxEvent ClientTransaction::onTransportError(TransactionContext& ctx) {
  if (state_ == State::Terminated) return TxEvent::None;
  bool before_final =
      state_ == State::Calling || state_ == State::Trying || state_ == State::Proceeding;
  terminate(ctx);
  return before_final ? TxEvent::TransportError : TxEvent::None;
}

// ---------------------------------------------------------------------------------------------
// Server

ServerTransaction::ServerTransaction(TxId id, bool invite, SendTarget response_target,
                                     const TimerConfig& timers)
    : id_(id),
      invite_(invite),
      target_(std::move(response_target)),
      timers_(timers),
      state_(invite ? State::Proceeding : State::Trying) {}

void ServerTransaction::startTimer(TransactionContext& ctx, TxTimer t, Duration d, TimerId* slot) {
  if (*slot != 0) ctx.cancelTimer(*slot);
  *slot = ctx.startTimer(id_, t, d);
}

void ServerTransaction::stopTimer(TransactionContext& ctx, TimerId* slot) {
  if (*slot != 0) {
    ctx.cancelTimer(*slot);
    *slot = 0;
  }
}

void ServerTransaction::terminate(TransactionContext& ctx) {
  stopTimer(ctx, &retransmit_timer_);
  stopTimer(ctx, &timeout_timer_);
  stopTimer(ctx, &wait_timer_);
  state_ = State::Terminated;
  last_response_.reset();
}

void ServerTransaction::onRequestRetransmission(TransactionContext& ctx) {
  // §17.2.1 / §17.2.2: resend the last response in Proceeding and Completed; absorb otherwise
  // (RFC 6026: also in Accepted, where the TU retransmits 2xx itself).
  if ((state_ == State::Proceeding || state_ == State::Completed) && last_response_) {
    ctx.send(id_, target_, last_response_);
  }
}

TxEvent ServerTransaction::onAck(TransactionContext& ctx) {
  if (!invite_) return TxEvent::None;
  if (state_ == State::Accepted) return TxEvent::PassToUser;  // RFC 6026 §7.1
  if (state_ != State::Completed) return TxEvent::None;
  state_ = State::Confirmed;
  stopTimer(ctx, &retransmit_timer_);
  stopTimer(ctx, &timeout_timer_);
  if (isReliable(target_.transport)) {
    terminate(ctx);
  } else {
    startTimer(ctx, TxTimer::I, timers_.t4, &wait_timer_);
  }
  return TxEvent::None;
}

void ServerTransaction::respond(TransactionContext& ctx, uint16_t code, const SharedBytes& bytes) {
  const bool reliable = isReliable(target_.transport);
  if (invite_) {
    if (state_ == State::Accepted) {
      if (code >= 200 && code < 300) ctx.send(id_, target_, bytes);  // more 2xx pass through
      return;
    }
    if (state_ != State::Proceeding) return;
    last_response_ = bytes;
    ctx.send(id_, target_, bytes);
    if (state_ == State::Terminated) return;
    if (code < 200) return;
    final_code_ = code;
    if (code < 300) {
      // RFC 6026 §7.1: Accepted, Timer L; the TU (end to end) retransmits 2xx.
      state_ = State::Accepted;
      last_response_.reset();
      startTimer(ctx, TxTimer::L, 64 * timers_.t1, &wait_timer_);
      return;
    }
    state_ = State::Completed;
    if (!reliable) {
      retransmit_interval_ = timers_.t1;
      startTimer(ctx, TxTimer::G, timers_.t1, &retransmit_timer_);
    }
    startTimer(ctx, TxTimer::H, 64 * timers_.t1, &timeout_timer_);
    return;
  }
  if (state_ != State::Trying && state_ != State::Proceeding) return;
  last_response_ = bytes;
  ctx.send(id_, target_, bytes);
  if (state_ == State::Terminated) return;
  if (code < 200) {
    state_ = State::Proceeding;
    return;
  }
  final_code_ = code;
  state_ = State::Completed;
  if (reliable) {
    terminate(ctx);
  } else {
    startTimer(ctx, TxTimer::J, 64 * timers_.t1, &wait_timer_);
  }
}

TxEvent ServerTransaction::onTimer(TransactionContext& ctx, TxTimer timer) {
  switch (timer) {
    case TxTimer::G:
      retransmit_timer_ = 0;
      if (state_ != State::Completed || !last_response_) return TxEvent::None;
      ctx.send(id_, target_, last_response_);
      retransmit_interval_ = std::min(2 * retransmit_interval_, timers_.t2);
      startTimer(ctx, TxTimer::G, retransmit_interval_, &retransmit_timer_);
      return TxEvent::None;
    case TxTimer::H:
      timeout_timer_ = 0;
      if (state_ != State::Completed) return TxEvent::None;
      terminate(ctx);
      return TxEvent::Timeout;
    case TxTimer::I:
    case TxTimer::J:
    case TxTimer::L:
      wait_timer_ = 0;
      terminate(ctx);
      return TxEvent::None;
    default:
      return TxEvent::None;
  }
}

TxEvent ServerTransaction::onTransportError(TransactionContext& ctx) {
  if (state_ == State::Terminated) return TxEvent::None;
  terminate(ctx);
  return TxEvent::TransportError;
}

}  // namespace herald::sip
