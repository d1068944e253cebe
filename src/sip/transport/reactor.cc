#include "sip/transport/reactor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/assert.h"

namespace herald::sip {

namespace {
// Marks the eventfd in epoll data.
Reactor::Handler* const kWakeTag = nullptr;
}  // namespace

Reactor::Reactor(const Clock& clock)
    : clock_(clock),
      epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      event_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  HERALD_CHECK(epoll_fd_ >= 0 && event_fd_ >= 0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = kWakeTag;
  HERALD_CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) == 0);
}

Reactor::~Reactor() {
  ::close(event_fd_);
  ::close(epoll_fd_);
}

bool Reactor::add(int fd, Handler* handler) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = handler;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Reactor::remove(int fd) { ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void Reactor::forget(Handler* handler) {
  dead_.insert(handler);
  std::erase(ready_, handler);
}

Reactor::TimerId Reactor::addTimer(Duration after, std::function<void()> f) {
  TimerId id = next_timer_++;
  timers_.emplace(id, std::move(f));
  timer_heap_.push(Timer{clock_.now() + after, id});
  return id;
}

void Reactor::cancelTimer(TimerId id) { timers_.erase(id); }

void Reactor::stop() {
  stopping_.store(true);
  wake();
}

void Reactor::wake() {
  woken_.store(true, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) {
    uint64_t one = 1;
    ssize_t n = ::write(event_fd_, &one, sizeof(one));
    (void)n;  // EAGAIN: the counter is already non-zero, a wake-up is pending
  }
}

void Reactor::run(const std::function<void()>& on_wake, const std::function<void()>& after_batch) {
  epoll_event events[128];
  window_start_ = std::chrono::steady_clock::now();
  while (!stopping_.load()) {
    int timeout = 1000;
    if (!ready_.empty()) {
      timeout = 0;
    } else {
      while (!timer_heap_.empty() && timers_.count(timer_heap_.top().id) == 0) timer_heap_.pop();
      if (!timer_heap_.empty()) {
        auto wait = timer_heap_.top().deadline - clock_.now();
        timeout = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 1000));
      }
    }
    // Dekker-style handshake with wake(): announce sleep, then look for a pending wake-up.
    sleeping_.store(true, std::memory_order_seq_cst);
    if (woken_.load(std::memory_order_seq_cst)) timeout = 0;
    int n = ::epoll_wait(epoll_fd_, events, 128, timeout);
    sleeping_.store(false, std::memory_order_seq_cst);
    const auto busy_start = std::chrono::steady_clock::now();
    if (n < 0 && errno != EINTR) break;
    dead_.clear();
    bool woke = false;
    for (int i = 0; i < n; ++i) {
      auto* h = static_cast<Handler*>(events[i].data.ptr);
      if (h == kWakeTag) {
        uint64_t count;
        ssize_t r = ::read(event_fd_, &count, sizeof(count));
        (void)r;
        woke = true;
        continue;
      }
      if (dead_.count(h) != 0) continue;
      if (h->onEvents(events[i].events) && dead_.count(h) == 0 &&
          std::find(ready_.begin(), ready_.end(), h) == ready_.end()) {
        ready_.push_back(h);
      }
    }
    if (woke || woken_.load(std::memory_order_seq_cst)) {
      woken_.store(false, std::memory_order_seq_cst);
      on_wake();
    }
    // Handlers that stopped early get another turn, once per loop.
    if (!ready_.empty() && n < 128) {
      std::vector<Handler*> again;
      again.swap(ready_);
      for (Handler* h : again) {
        if (dead_.count(h) != 0) continue;
        if (h->onEvents(0) && dead_.count(h) == 0) ready_.push_back(h);
      }
    }
    // Due timers.
    TimePoint now = clock_.now();
    while (!timer_heap_.empty() && timer_heap_.top().deadline <= now) {
      TimerId id = timer_heap_.top().id;
      timer_heap_.pop();
      auto it = timers_.find(id);
      if (it == timers_.end()) continue;
      auto f = std::move(it->second);
      timers_.erase(it);
      f();
    }
    after_batch();
    // Utilisation over ~100 ms windows of real time.
    const auto end = std::chrono::steady_clock::now();
    window_busy_ += end - busy_start;
    if (end - window_start_ >= std::chrono::milliseconds(100)) {
      double share = static_cast<double>(window_busy_.count()) /
                     static_cast<double>((end - window_start_).count());
      load_ = 0.5 * load_ + 0.5 * std::min(1.0, share);
      window_busy_ = std::chrono::nanoseconds(0);
      window_start_ = end;
    }
  }
}

}  // namespace herald::sip
