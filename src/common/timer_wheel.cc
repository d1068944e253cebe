#include "common/timer_wheel.h"

#include <algorithm>

#include "common/assert.h"

namespace herald {

TimerWheel::TimerWheel(TimePoint start, Duration tick, size_t slots)
    : origin_(start), tick_(tick), current_(start), slots_(slots) {
  HERALD_CHECK(tick.count() > 0 && slots > 1);
}

TimerId TimerWheel::schedule(TimePoint deadline, Payload payload) {
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  Entry& e = entries_[index];
  e.deadline = deadline;
  e.payload = payload;
  e.live = true;
  e.slot = kNoSlot;
  ++live_;
  TimerId id = static_cast<TimerId>(e.generation) << 32 | index;
  if (deadline < current_) {
    overdue_.push_back(id);  // its tick was processed already: fire on the next advance()
  } else {
    std::vector<TimerId>& slot = slots_[slotOf(deadline)];
    e.slot = static_cast<uint32_t>(slotOf(deadline));
    e.pos = static_cast<uint32_t>(slot.size());
    slot.push_back(id);
  }
  return id;
}

bool TimerWheel::cancel(TimerId id) {
  if (find(id) == nullptr) return false;
  release(id);
  return true;
}

}  // namespace herald
