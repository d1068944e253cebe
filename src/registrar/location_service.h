#pragma once

// LocationService: where each local address-of-record can be reached (RFC 3261 §10), in
// memory, shared by all workers (sharded locks: lookups on the request path hold one shard's
// lock for a copy). Every change is also queued for the store, under the same lock, so that the
// store sees changes of one AOR in the order they were made.

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/inet.h"
#include "common/result.h"
#include "sip/message/transport.h"
#include "sip/proxy/proxy.h"
#include "store/store.h"

namespace herald::registrar {

struct Binding {
  std::string contact;         // Contact URI
  std::string contact_params;  // header parameters as written (";+sip.instance=...")
  int q = -1;                  // thousandths, -1 when absent
  int64_t expires_at = 0;      // unix seconds
  std::string call_id;
  uint32_t cseq = 0;
  sip::Transport transport = sip::Transport::Udp;
  Endpoint source;          // where the REGISTER came from
  uint64_t connection = 0;  // the stream connection it came on (its flow)
  std::string instance;
  std::string user_agent;
};

store::BindingRecord toRecord(const std::string& aor, const Binding& b);

// Where to send a request for each binding: the Contact URI as Request-URI; over a stream, the
// connection the registration came on (its flow); the Contact's address when it is an IP
// literal, otherwise the address the REGISTER came from.
std::vector<sip::Proxy::Target> targetsFor(const std::vector<Binding>& bindings);
Binding fromRecord(const store::BindingRecord& r);

class LocationService {
 public:
  using Mutation = std::function<Result<void>(std::vector<Binding>&)>;
  using Persisted = std::function<void(Result<void>)>;
  // Called with the AOR's bindings after a change, under the AOR's lock; calls `done` once the
  // change is durable (or failed), on any thread.
  using Persist =
      std::function<void(const std::string& aor, const std::vector<Binding>&, Persisted done)>;

  explicit LocationService(Persist persist = nullptr) : persist_(std::move(persist)) {}
  void setPersist(Persist persist) { persist_ = std::move(persist); }

  // Applies `mutate` to the AOR's bindings (expired ones already removed) atomically; on
  // success the new set is persisted (`done` reports when) and returned.
  Result<std::vector<Binding>> update(const std::string& aor, int64_t now, const Mutation& mutate,
                                      Persisted done = nullptr);
  // Unexpired bindings, highest q first.
  std::vector<Binding> lookup(const std::string& aor, int64_t now) const;
  // targetsFor(lookup(aor, now)) without copying the bindings (the request path).
  std::vector<sip::Proxy::Target> targets(const std::string& aor, int64_t now) const;
  // Replaces everything (start-up).
  void load(const std::vector<store::BindingRecord>& records);
  size_t bindingCount() const;
  // Removes expired bindings everywhere; returns how many.
  size_t purge(int64_t now);

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::vector<Binding>> map;
  };
  Shard& shard(const std::string& aor) const;
  // Calls visit(const Binding&) for the unexpired bindings of aor, highest q first (no q
  // counts as 1.0; equal q keep their order), under the shard's lock.
  template <class F>
  void visitByQ(const std::string& aor, int64_t now, F&& visit) const;

  mutable std::array<Shard, kShards> shards_;
  Persist persist_;
};

}  // namespace herald::registrar
