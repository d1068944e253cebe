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

  size_t size() const { return timers_.size(); }
  Duration tick() const { return tick_; }

 private:
  struct Entry {
    TimePoint deadline;
    Payload payload;
  };

  size_t slotOf(TimePoint t) const {
    return static_cast<size_t>(((t - origin_) / tick_) % static_cast<int64_t>(slots_.size()));
  }

  TimePoint origin_;
  Duration tick_;
  TimePoint current_;  // start of the next tick to process
  TimerId next_id_ = 1;
  std::vector<std::vector<TimerId>> slots_;
  std::unordered_map<TimerId, Entry> timers_;
  std::vector<std::pair<TimePoint, TimerId>> due_;  // scratch
  std::vector<TimerId> overdue_;
};

template <class F>
void TimerWheel::advance(TimePoint now, F&& fire) {
  // Timers scheduled with a deadline already behind the wheel.
  if (!overdue_.empty()) {
    std::vector<TimerId> overdue;
    overdue.swap(overdue_);
    for (TimerId id : overdue) {
      auto it = timers_.find(id);
      if (it == timers_.end()) continue;
      Payload payload = it->second.payload;
      timers_.erase(it);
      fire(payload);
    }
  }
  while (current_ <= now) {
    std::vector<TimerId>& slot = slots_[slotOf(current_)];
    due_.clear();
    size_t keep = 0;
    for (size_t i = 0; i < slot.size(); ++i) {
      auto it = timers_.find(slot[i]);
      if (it == timers_.end()) continue;  // cancelled
      if (it->second.deadline <= now && it->second.deadline < current_ + tick_) {
        due_.emplace_back(it->second.deadline, slot[i]);
      } else {
        slot[keep++] = slot[i];  // a later round of the wheel
      }
    }
    slot.resize(keep);
    std::sort(due_.begin(), due_.end());
    for (const auto& [deadline, id] : due_) {
      auto it = timers_.find(id);
      if (it == timers_.end()) continue;  // cancelled by an earlier timer of this tick
      Payload payload = it->second.payload;
      timers_.erase(it);
      fire(payload);
    }
    current_ += tick_;
  }
}

}  // namespace herald
