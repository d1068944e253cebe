#include "common/timer_wheel.h"

#include <algorithm>

#include "common/assert.h"

namespace herald {

TimerWheel::TimerWheel(TimePoint start, Duration tick, size_t slots)
    : origin_(start), tick_(tick), current_(start), slots_(slots) {
  HERALD_CHECK(tick.count() > 0 && slots > 1);
}

TimerId TimerWheel::schedule(TimePoint deadline, Payload payload) {
  TimerId id = next_id_++;
  timers_.emplace(id, Entry{deadline, payload});
  if (deadline < current_) {
    overdue_.push_back(id);  // its tick was processed already: fire on the next advance()
  } else {
    slots_[slotOf(deadline)].push_back(id);
  }
  return id;
}

bool TimerWheel::cancel(TimerId id) { return timers_.erase(id) != 0; }

}  // namespace herald
