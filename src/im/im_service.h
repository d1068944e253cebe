#pragma once

// ImService: page-mode instant messages (RFC 3428) to local users. A MESSAGE is forked to
// every registered contact of the recipient (first 2xx wins). When none is registered, or
// every contact fails to answer (408, 480, 5xx), the message is stored and answered 202; it is
// delivered when the user registers again and removed once a contact accepted it. One per
// worker; the in-flight set is shared so that two workers never deliver one message twice.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/clock.h"
#include "registrar/location_service.h"
#include "sip/proxy/proxy.h"
#include "store/store_worker.h"

namespace herald::im {

// Offline message ids being delivered right now, across workers.
class DeliveryGuard {
 public:
  bool begin(int64_t id);
  void end(int64_t id);

 private:
  std::mutex mu_;
  std::set<int64_t> in_flight_;
};

class ImService {
 public:
  using Post = std::function<void(std::function<void()>)>;

  ImService(const Clock& clock, registrar::LocationService& location, store::StoreWorker& store,
            DeliveryGuard& guard, Post post, std::string local_host);

  // REQUIRES: ctx.request is a MESSAGE for the local address-of-record `aor` (allowed).
  void deliver(sip::Proxy& proxy, sip::RequestContext& ctx, const std::string& aor);
  // Sends the stored messages of `aor` to its current contacts.
  void deliverStored(sip::Proxy& proxy, const std::string& aor);

  struct Stats {
    uint64_t delivered = 0;
    uint64_t stored = 0;
    uint64_t stored_delivered = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  void storeOffline(sip::Proxy& proxy, sip::RequestContext& ctx, const std::string& aor);

  const Clock& clock_;
  registrar::LocationService& location_;
  store::StoreWorker& store_;
  DeliveryGuard& guard_;
  Post post_;
  std::string local_host_;
  uint64_t call_counter_ = 0;
  Stats stats_;
};

// "Wed, 25 Nov 2026 16:15:36 GMT" (RFC 3261 §20.17).
std::string httpDate(int64_t unix_seconds);

}  // namespace herald::im
