#include "admin/internal/login_limiter.h"

#include <algorithm>

#include "common/inet.h"

namespace herald::admin::detail {
namespace {

// Bounds the memory an address or user-name spray can take; idle entries are dropped first.
// (The global budget keeps the entries with recent failures far below this.)
constexpr size_t kMaxTracked = 10000;

int64_t ceilSeconds(Duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return std::max<int64_t>(1, (ms + 999) / 1000);
}

void forgetOld(std::deque<TimePoint>& failures, Duration window, TimePoint now) {
  while (!failures.empty() && now - failures.front() >= window) failures.pop_front();
}

}  // namespace

std::string loginSourceKey(const std::string& address) {
  auto ep = Endpoint::fromAddress(address, 0);
  if (!ep) return address;
  if (ep->isLoopback()) return "127.0.0.0/8";
  if (ep->family() == Endpoint::Family::V4) return ep->address();
  const uint8_t* b = ep->bytes();
  if (std::all_of(b, b + 10, [](uint8_t x) { return x == 0; }) && b[10] == 0xFF && b[11] == 0xFF) {
    return loginSourceKey(Endpoint::v4({b[12], b[13], b[14], b[15]}, 0).address());  // mapped
  }
  std::array<uint8_t, 16> bytes{};
  std::copy(ep->bytes(), ep->bytes() + 8, bytes.begin());
  return Endpoint::v6(bytes, 0).address() + "/64";
}

bool LoginLimiter::idle(const Window& w, Duration window, TimePoint now) {
  return w.in_flight == 0 && (w.failures.empty() || now - w.failures.back() >= window);
}

int64_t LoginLimiter::wait(Window& w, int limit, Duration window, TimePoint now) {
  forgetOld(w.failures, window, now);
  size_t used = w.failures.size() + static_cast<size_t>(w.in_flight);
  if (used < static_cast<size_t>(limit)) return 0;
  // Attempts in flight end within seconds; failures free their place `window` after them.
  if (w.failures.size() < static_cast<size_t>(limit)) return 1;
  return ceilSeconds(w.failures[w.failures.size() - static_cast<size_t>(limit)] + window - now);
}

LoginLimiter::Admission LoginLimiter::admit(const std::string& source, const std::string& account,
                                            const std::string& device, int64_t device_expires_at) {
  TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  prune(now);
  Admission a;
  if (!device.empty() && revoked_.count(device) == 0) {
    Window& d = devices_[device];
    if (int64_t s = wait(d, kDeviceFailures, kDeviceWindow, now); s > 0) {
      return Admission{std::nullopt, s, "failed logins with this device"};
    }
    ++d.in_flight;
    a.ticket = Ticket{"", "", device, device_expires_at};
    return a;
  }
  Window& src = sources_[source];
  if (int64_t s = wait(src, kSourceFailures, kSourceWindow, now); s > 0) {
    return Admission{std::nullopt, s, "failed logins from your address"};
  }
  Account& acc = accounts_[account];
  if (acc.failures > 0 && now - acc.last_failure >= kAccountReset) acc.failures = 0;
  if (acc.failures + acc.in_flight >= kAccountFailures) {
    // Past the threshold one attempt at a time, each after the delay of the failures so far.
    int over = std::min(acc.failures - kAccountFailures, 16);
    Duration delay =
        std::min<Duration>(std::chrono::seconds(int64_t{1} << std::max(over, 0)), kAccountMaxDelay);
    Duration left = acc.last_failure + delay - now;
    if (acc.in_flight > 0 || acc.failures < kAccountFailures || left > Duration::zero()) {
      int64_t s =
          acc.failures < kAccountFailures || left <= Duration::zero() ? 1 : ceilSeconds(left);
      return Admission{std::nullopt, s, "failed logins for this account"};
    }
  }
  if (int64_t s = wait(global_, kGlobalFailures, kGlobalWindow, now); s > 0) {
    return Admission{std::nullopt, s, "failed logins on this node"};
  }
  ++src.in_flight;
  ++acc.in_flight;
  ++global_.in_flight;
  a.ticket = Ticket{source, account, "", 0};
  return a;
}

void LoginLimiter::finish(const Ticket& t, Outcome outcome) {
  TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  if (!t.device.empty()) {
    Window& d = devices_[t.device];
    --d.in_flight;
    if (outcome != Outcome::Failed) return;
    forgetOld(d.failures, kDeviceWindow, now);
    d.failures.push_back(now);
    if (d.failures.size() >= static_cast<size_t>(kDeviceFailures)) {
      revoked_[t.device] = t.device_expires_at;
      if (d.in_flight == 0) devices_.erase(t.device);
    }
    return;
  }
  Window& src = sources_[t.source];
  Account& acc = accounts_[t.account];
  --src.in_flight;
  --acc.in_flight;
  --global_.in_flight;
  if (outcome == Outcome::Succeeded) acc.failures = 0;
  if (outcome != Outcome::Failed) return;
  src.failures.push_back(now);
  global_.failures.push_back(now);
  ++acc.failures;
  acc.last_failure = now;
}

bool LoginLimiter::revoked(const std::string& device) {
  std::lock_guard<std::mutex> lock(mu_);
  return revoked_.count(device) != 0;
}

void LoginLimiter::prune(TimePoint now) {
  if (sources_.size() >= kMaxTracked) {
    std::erase_if(sources_, [&](const auto& kv) { return idle(kv.second, kSourceWindow, now); });
  }
  if (accounts_.size() >= kMaxTracked) {
    std::erase_if(accounts_, [&](const auto& kv) {
      return kv.second.in_flight == 0 &&
             (kv.second.failures == 0 || now - kv.second.last_failure >= kAccountReset);
    });
  }
  if (devices_.size() >= kMaxTracked) {
    std::erase_if(devices_, [&](const auto& kv) { return idle(kv.second, kDeviceWindow, now); });
  }
  if (revoked_.size() >= kMaxTracked) {
    int64_t unix_now = clock_.unixSeconds();
    std::erase_if(revoked_, [&](const auto& kv) { return kv.second <= unix_now; });
  }
}

}  // namespace herald::admin::detail
