#pragma once

// Resolver: asynchronous DNS for SIP (RFC 3263 NAPTR, SRV, A, AAAA) with a TTL cache, so that
// a SIP worker never waits on DNS.
//
//   auto resolver = dns::Resolver::create(dns::Options{}, SystemClock::instance());
//   if (auto hit = (*resolver)->cached(q)) { use(*hit); }          // on the worker, no wait
//   else (*resolver)->resolve(q, [worker](dns::Answer a) {          // on the resolver thread:
//     worker->post([a = std::move(a)] { use(a); });                 // post back, do not work here
//   });
//
// Threading: resolve() and cached() may be called from any thread. Callbacks run on the
// resolver's own thread, never inside resolve(); a callback must be short and must not call
// back into the Resolver synchronously waiting for a result. Identical queries in flight share
// one DNS query (one callback each). When the Resolver is destroyed, callbacks still pending
// run with Status::Error ("resolver stopped") before the destructor returns.
//
// Time: `clock` governs the cache (TTL expiry) only; network timeouts run on the real monotonic
// clock, as c-ares does.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "common/inet.h"
#include "common/result.h"
#include "dns/answer.h"

namespace herald::dns {

struct Options {
  // Default: empty, the servers of /etc/resolv.conf. Port 0 means 53.
  std::vector<Endpoint> servers;
  // Default: 1 s. Time allowed to one try of one server.
  Duration timeout{1000};
  // Default: 2. Tries of each server. A query is given up (Status::Timeout) after
  // timeout x attempts x servers at most.
  int attempts = 2;
  // Default: 100000. Cached answers at most (0: no cache).
  size_t max_cache_entries = 100000;
  // Default: 300 s. Cap of the time an NXDOMAIN/NODATA answer is cached.
  uint32_t max_negative_ttl_s = 300;
  // Default: 86400 s. Cap of the time a positive answer is cached.
  uint32_t max_ttl_s = 86400;
};

// Counters an operator watches (admin API, later); monotonic since create().
struct ResolverStats {
  uint64_t requests = 0;    // resolve() calls
  uint64_t cache_hits = 0;  // resolve() answered from the cache (cached() is not counted)
  uint64_t coalesced = 0;   // resolve() joined a query already in flight
  uint64_t queries = 0;     // DNS queries started (each may take several tries)
  uint64_t timeouts = 0;    // queries given up without an answer
};

class Resolver {
 public:
  using Callback = std::function<void(Answer)>;

  // A c-ares resolver with its own thread (CaresResolver). Fails (Unavailable) when c-ares
  // cannot start: no resolv.conf servers and none given, or no file descriptors left.
  [[nodiscard]] static Result<std::unique_ptr<Resolver>> create(Options options,
                                                                const Clock& clock);

  virtual ~Resolver() = default;

  // Answers `query` through `cb`, from the cache when it holds the answer, on the resolver
  // thread (see above).
  virtual void resolve(Query query, Callback cb) = 0;
  // The cached answer, if any, synchronously on the calling thread; never queries.
  virtual std::optional<Answer> cached(const Query& query) = 0;
  virtual ResolverStats stats() const = 0;
};

}  // namespace herald::dns
