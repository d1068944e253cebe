#pragma once

// The login limits (docs/admin-api.md, Authentication). Failed logins are counted against
// three budgets, and an attempt is refused (429) while any of them is spent:
//
//   source   5 failures within 60 s per source: an IPv4 address, an IPv6 /64, all loopback
//            addresses together (any 127.x is the same machine);
//   account  after 10 failures in a row for one user name, each further try waits 1 s,
//            doubling up to 300 s; the count starts again after 15 min without a failure, or
//            after a successful login;
//   global   100 failures within 60 s on the node, whoever and from wherever.
//
// An attempt that presents a valid device token (DeviceTokens) for the account is exempt from
// all three and has its own budget: 5 failures within 60 s, after which the token is revoked.
// So a guesser can lock out every administrator without one, but not the browser or CLI that
// signed in before.
//
// Check and count are one step: admit() reserves a place in each budget before the (slow)
// password check and finish() turns it into a failure or gives it back, so that 40 concurrent
// guesses from one address get 5 checks, not 40. In memory only; thread-safe.
//
//   auto a = limiter.admit(sourceKey(addr), username, device_id);
//   if (!a.ticket) return 429 with a.retry_after_s and a.reason;
//   limiter.finish(*a.ticket, ok ? Outcome::Succeeded : Outcome::Failed);

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"

namespace herald::admin::detail {

// The source budget's key of an address text: "127.0.0.0/8" for every IPv4 loopback address
// and ::1, "2001:db8:1:2::/64" for an IPv6 address, the address itself for other IPv4 (and
// IPv4-mapped IPv6) addresses; text that is not an address is its own key.
std::string loginSourceKey(const std::string& address);

class LoginLimiter {
 public:
  static constexpr int kSourceFailures = 5;
  static constexpr Duration kSourceWindow = std::chrono::seconds(60);
  static constexpr int kAccountFailures = 10;
  static constexpr Duration kAccountMaxDelay = std::chrono::seconds(300);
  static constexpr Duration kAccountReset = std::chrono::minutes(15);
  static constexpr int kGlobalFailures = 100;
  static constexpr Duration kGlobalWindow = std::chrono::seconds(60);
  static constexpr int kDeviceFailures = 5;
  static constexpr Duration kDeviceWindow = std::chrono::seconds(60);

  explicit LoginLimiter(const Clock& clock) : clock_(clock) {}

  struct Ticket {
    std::string source;
    std::string account;
    std::string device;  // non-empty: counted against the device's budget only
    int64_t device_expires_at = 0;
  };
  struct Admission {
    std::optional<Ticket> ticket;  // nullopt: refused
    int64_t retry_after_s = 0;     // when refused: at least 1
    std::string reason;            // when refused: which budget, for the error message
  };

  // `device` is the id of a verified device token for `account` that expires at
  // `device_expires_at` (unix seconds), or "". A revoked device gets the ordinary budgets.
  Admission admit(const std::string& source, const std::string& account,
                  const std::string& device = "", int64_t device_expires_at = 0);
  enum class Outcome {
    Failed,     // wrong name or password: counted
    Succeeded,  // also ends the account's run of failures
    Abandoned,  // not decided (a store error): the place is given back
  };
  // REQUIRES: each ticket of admit() is finished exactly once.
  void finish(const Ticket& ticket, Outcome outcome);

  // True once `device` spent its budget (until the token expires, or the node restarts).
  bool revoked(const std::string& device);

 private:
  struct Window {
    std::deque<TimePoint> failures;
    int in_flight = 0;
  };
  struct Account {
    int failures = 0;  // in a row
    TimePoint last_failure{};
    int in_flight = 0;
  };

  // Seconds until the window has room for one more attempt (0: now).
  static int64_t wait(Window& w, int limit, Duration window, TimePoint now);
  // True when `w` holds nothing that still counts.
  static bool idle(const Window& w, Duration window, TimePoint now);
  void prune(TimePoint now);

  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Window> sources_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, Window> devices_;
  std::map<std::string, int64_t> revoked_;  // device id -> its token's expiry (unix seconds)
  Window global_;
};

}  // namespace herald::admin::detail
