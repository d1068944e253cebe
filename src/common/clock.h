#pragma once

// Clock: the time source of everything that waits (transaction timers, nonce expiry,
// registrations). Injected so that tests run on a FakeClock and never sleep.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace herald {

using Duration = std::chrono::milliseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, millisecond resolution.
  virtual TimePoint now() const = 0;
  // Wall-clock seconds since the epoch (for stored expiry times and logs).
  virtual int64_t unixSeconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
  int64_t unixSeconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock& instance() {
    static SystemClock clock;
    return clock;
  }
};

// Test clock: starts at an arbitrary point, moves only when told. Thread-safe reads.
class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return TimePoint(Duration(ms_.load())); }
  int64_t unixSeconds() const override { return 1'700'000'000 + ms_.load() / 1000; }
  void advance(Duration d) { ms_ += d.count(); }

 private:
  std::atomic<int64_t> ms_{1'000'000};
};

}  // namespace herald
