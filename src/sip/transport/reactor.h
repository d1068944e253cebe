#pragma once

// Reactor: one thread's event loop on Linux epoll, edge-triggered. A descriptor is registered
// once for input and output; its handler drains it until EAGAIN, or asks to be called again
// (ready list) when it stops early for fairness. Cross-thread wake-ups use an eventfd that is
// written only when the loop sleeps. One-shot timers run from a min-heap.
//
// Why not asio here: asio's async_wait re-arms the descriptor with epoll_ctl on every wait, one
// extra system call per wake-up on the hottest path (measured: about 2 us per message in this
// VM), and its cross-thread post always interrupts the reactor.
//
// All methods but wake() and the constructor run on the loop's thread.

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <queue>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"

namespace herald::sip {

class Reactor {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // events: EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP/EPOLLRDHUP bits, or 0 when called again from
    // the ready list. Return true to be called again soon (work left, stopped for fairness).
    virtual bool onEvents(uint32_t events) = 0;
  };

  using TimerId = uint64_t;

  explicit Reactor(const Clock& clock);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  bool add(int fd, Handler* handler);
  void remove(int fd);
  // The handler is no longer valid: forget pending events and ready entries for it.
  void forget(Handler* handler);

  TimerId addTimer(Duration after, std::function<void()> f);
  void cancelTimer(TimerId id);

  // Runs until stop(). on_wake runs after wake() was called (drain the inbox); after_batch
  // runs after every batch of events (flush queued output).
  void run(const std::function<void()>& on_wake, const std::function<void()>& after_batch);
  // Any thread.
  void stop();
  // Any thread: makes the loop call on_wake soon.
  void wake();
  // Share of the last ~100 ms this loop spent working rather than waiting, 0..1.
  double load() const { return load_; }

 private:
  struct Timer {
    TimePoint deadline;
    TimerId id;
    bool operator>(const Timer& o) const { return deadline > o.deadline; }
  };

  const Clock& clock_;
  int epoll_fd_;
  int event_fd_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> woken_{false};
  std::vector<Handler*> ready_;
  std::unordered_set<Handler*> dead_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timer_heap_;
  std::unordered_map<TimerId, std::function<void()>> timers_;
  TimerId next_timer_ = 1;
  // Utilisation: busy time over a window, folded into load_ when the window closes.
  double load_ = 0;
  std::chrono::nanoseconds window_busy_{0};
  std::chrono::steady_clock::time_point window_start_{};
};

}  // namespace herald::sip
