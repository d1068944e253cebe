#pragma once

// Cache: DNS answers kept for their TTL, positive and negative, bounded in size. Thread-safe
// (one mutex): the resolver thread inserts, any worker may look up.
//
//   Cache cache(CachePolicy{}, clock);
//   answer.ttl = cacheTtl(answer, negative_ttl_from_soa, policy);
//   cache.insert(query, answer);              // kept answer.ttl seconds (0: not kept)
//   if (auto hit = cache.lookup(query)) ...   // hit->from_cache, hit->ttl = what remains
//
// What is kept, and for how long:
// - Ok: the lowest record TTL, at most max_ttl_s. A TTL of 0 is not kept (RFC 1035 §3.2.1).
// - NxDomain and NoRecords (RFC 2308 §5): min(SOA TTL, SOA MINIMUM) of the authority section
//   when the server sent one, otherwise kDefaultNegativeTtl; at most max_negative_ttl_s.
// - Timeout, ServFail, Refused, Error: never. A query for a failing name is already limited to
//   one at a time by the resolver's coalescing, and the next request should see a recovery at
//   once rather than a remembered failure (RFC 2308 §7.1 allows at most 5 minutes, not a minimum).
//
// When full, the entry stored longest ago goes first; an expired entry goes when looked up.

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "dns/answer.h"

namespace herald::dns {

// Seconds a negative answer is kept when the server sent no SOA.
inline constexpr uint32_t kDefaultNegativeTtl = 60;

struct CachePolicy {
  size_t max_entries = 100000;      // 0: nothing is cached
  uint32_t max_ttl_s = 86400;       // cap of positive answers
  uint32_t max_negative_ttl_s = 300;  // cap of NXDOMAIN/NODATA answers
};

// The seconds `answer` may be kept for, by the rules above. `negative_ttl`: from the SOA of a
// negative answer's authority section, when there was one.
uint32_t cacheTtl(const Answer& answer, std::optional<uint32_t> negative_ttl,
                  const CachePolicy& policy);

class Cache {
 public:
  Cache(CachePolicy policy, const Clock& clock);
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Keeps `answer` for answer.ttl seconds from now, replacing any entry of the same query.
  void insert(const Query& query, const Answer& answer);
  // The stored answer with from_cache set, ttl (and record TTLs) lowered to what remains, and
  // elapsed 0; nullopt when there is none or it has expired.
  std::optional<Answer> lookup(const Query& query);
  size_t size() const;

  // "33:b.test": type and the name in lower case without a final dot.
  static std::string key(const Query& query);

 private:
  struct Entry {
    Answer answer;
    TimePoint expires;
    std::list<std::string>::iterator order;
  };

  const CachePolicy policy_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // keys, oldest insertion first
};

}  // namespace herald::dns
