#pragma once

// TimerWheel: a hashed timing wheel for the many short timers of SIP transactions
// (RFC 3261 §17: A-K, L, M). Scheduling and cancelling are O(1); advance() fires every timer
// whose deadline has passed, in deadline order within a tick.
//
//   TimerWheel wheel(clock.now(), Duration(10));
//   TimerId id = wheel.schedule(clock.now() + Duration(500), Payload{tx_serial, kTimerE});
//   wheel.cancel(id);
//   wheel.advance(clock.now(), [](const TimerWheel::Payload& p) { ... });
//
// A timer fires no earlier than its deadline and at most one tick late. The wheel has no
// thread of its own: its owner (a worker) calls advance() from its event loop on a periodic
// tick. All methods run on the owning thread; advance() is not reentrant.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "common/clock.h"

namespace herald {

using TimerId = uint64_t;

class TimerWheel {
 public:
  struct Payload {
    uint64_t owner = 0;  // who the timer is for (e.g. a transaction serial)
    uint32_t kind = 0;   // which timer of that owner
  };

  // REQUIRES: tick > 0; slots > 1.
  TimerWheel(TimePoint start, Duration tick, size_t slots = 4096);

  TimerId schedule(TimePoint deadline, Payload payload);
  // False if the timer already fired or was cancelled.
  bool cancel(TimerId id);

  // Fires every timer due at `now`. fire(const Payload&) may schedule and cancel timers.
  template <class F>
  void advance(TimePoint now, F&& fire);

  size_t size() const { return live_; }
  Duration tick() const { return tick_; }
  // Slot visits made by advance() so far (a bound on its work, for tests).
  uint64_t slotVisits() const { return slot_visits_; }

 private:
  // Timers live in a slab; an id is (generation << 32 | index), so a stale id never matches
  // a reused slot.
  // A cancelled timer leaves its slot at once (swapped with the slot's last timer), so that
  // advance() only touches the timers that fire: at thousands of transactions a second most
  // timers (E, F) are cancelled, and reading each of them again when its slot comes round
  // was a cache miss apiece.
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  struct Entry {
    TimePoint deadline;
    Payload payload;
    uint32_t generation = 1;  // ids are never 0 ("no timer")
    uint32_t slot = kNoSlot;  // index into slots_, or kNoSlot (overdue_ or due_)
    uint32_t pos = 0;         // index into slots_[slot]
    bool live = false;
  };

  Entry* find(TimerId id) {
    uint32_t index = static_cast<uint32_t>(id);
    if (index >= entries_.size()) return nullptr;
    Entry& e = entries_[index];
    return e.live && e.generation == static_cast<uint32_t>(id >> 32) ? &e : nullptr;
  }
  void release(TimerId id) {
    Entry& e = entries_[static_cast<uint32_t>(id)];
    if (e.slot != kNoSlot) unlink(e);
    e.live = false;
    ++e.generation;
    free_.push_back(static_cast<uint32_t>(id));
    --live_;
  }

  void unlink(Entry& e) {
    std::vector<TimerId>& slot = slots_[e.slot];
    TimerId last = slot.back();
    slot[e.pos] = last;
    entries_[static_cast<uint32_t>(last)].pos = e.pos;
    slot.pop_back();
    e.slot = kNoSlot;
  }

  size_t slotOf(TimePoint t) const {
    return static_cast<size_t>(((t - origin_) / tick_) % static_cast<int64_t>(slots_.size()));
  }

  TimePoint origin_;
  Duration tick_;
  TimePoint current_;  // start of the next tick to process
  std::vector<std::vector<TimerId>> slots_;
  std::deque<Entry> entries_;  // grows without moving live timers
  std::vector<uint32_t> free_;
  size_t live_ = 0;
  std::vector<std::pair<TimePoint, TimerId>> due_;  // scratch
  std::vector<TimerId> overdue_;
  uint64_t slot_visits_ = 0;

  // Takes the live timers due at `now` out of `slot` into due_.
  void collectDue(std::vector<TimerId>& slot, TimePoint now, TimePoint before);
  template <class F>
  void fireDue(F& fire);
};

inline void TimerWheel::collectDue(std::vector<TimerId>& slot, TimePoint now, TimePoint before) {
  ++slot_visits_;
  size_t keep = 0;
  for (size_t i = 0; i < slot.size(); ++i) {
    Entry& e = entries_[static_cast<uint32_t>(slot[i])];  // live: cancel unlinks
    if (e.deadline <= now && e.deadline < before) {
      due_.emplace_back(e.deadline, slot[i]);
      e.slot = kNoSlot;
    } else {
      e.pos = static_cast<uint32_t>(keep);  // later in this tick, or a later round
      slot[keep++] = slot[i];
    }
  }
  slot.resize(keep);
}

template <class F>
void TimerWheel::fireDue(F& fire) {
  std::sort(due_.begin(), due_.end());
  for (const auto& [deadline, id] : due_) {
    Entry* e = find(id);
    if (e == nullptr) continue;  // cancelled by an earlier timer of this batch
    Payload payload = e->payload;
    release(id);
    fire(payload);
  }
  due_.clear();
}

template <class F>
void TimerWheel::advance(TimePoint now, F&& fire) {
  // Timers scheduled with a deadline already behind the wheel.
  if (!overdue_.empty()) {
    std::vector<TimerId> overdue;
    overdue.swap(overdue_);
    for (TimerId id : overdue) {
      Entry* e = find(id);
      if (e == nullptr) continue;
      Payload payload = e->payload;
      release(id);
      fire(payload);
    }
  }
  // Behind by a whole round or more (its owner slept, e.g. an idle worker whose tick stopped):
  // one pass over every slot instead of one visit per tick slept through, then on from the
  // tick that holds `now`.
  const Duration round = tick_ * static_cast<int64_t>(slots_.size());
  if (now - current_ >= round) {
    due_.clear();
    if (live_ > 0) {
      for (auto& slot : slots_) collectDue(slot, now, TimePoint::max());
    }
    current_ += (now - current_) / tick_ * tick_;
    fireDue(fire);
  }
  // The slot of the tick [current_, current_ + tick) is looked at on every call until that
  // tick has passed, so a deadline later in the tick than `now` is not skipped.
  while (current_ <= now) {
    due_.clear();
    collectDue(slots_[slotOf(current_)], now, current_ + tick_);
    fireDue(fire);
    if (current_ + tick_ > now) break;  // this tick is not over yet
    current_ += tick_;
  }
}

}  // namespace herald
