#include "dns/cache.h"

#include <algorithm>
#include <limits>

namespace herald::dns {

uint32_t cacheTtl(const Answer& answer, std::optional<uint32_t> negative_ttl,
                  const CachePolicy& policy) {
  switch (answer.status) {
    case Status::Ok: {
      uint32_t ttl = std::numeric_limits<uint32_t>::max();
      for (const auto& r : answer.srv) ttl = std::min(ttl, r.ttl);
      for (const auto& r : answer.naptr) ttl = std::min(ttl, r.ttl);
      for (const auto& r : answer.addresses) ttl = std::min(ttl, r.ttl);
      if (ttl == std::numeric_limits<uint32_t>::max()) return 0;
      return std::min(ttl, policy.max_ttl_s);
    }
    case Status::NoRecords:
    case Status::NxDomain:
      return std::min(negative_ttl.value_or(kDefaultNegativeTtl), policy.max_negative_ttl_s);
    case Status::Timeout:
    case Status::ServFail:
    case Status::Refused:
    case Status::Error:
      return 0;
  }
  return 0;
}

Cache::Cache(CachePolicy policy, const Clock& clock) : policy_(policy), clock_(clock) {}

std::string Cache::key(const Query& query) {
  std::string k = std::to_string(static_cast<int>(query.type));
  k.push_back(':');
  std::string_view name = query.name;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  for (char c : name) {
    k.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return k;
}

void Cache::insert(const Query& query, const Answer& answer) {
  if (answer.ttl == 0 || policy_.max_entries == 0) return;
  std::string k = key(query);
  TimePoint expires = clock_.now() + std::chrono::seconds(answer.ttl);
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(k); it != entries_.end()) {
    order_.erase(it->second.order);
    entries_.erase(it);
  }
  while (entries_.size() >= policy_.max_entries) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(k);
  Entry e{answer, expires, std::prev(order_.end())};
  e.answer.from_cache = false;
  e.answer.elapsed = Duration(0);
  entries_.emplace(std::move(k), std::move(e));
}

std::optional<Answer> Cache::lookup(const Query& query) {
  std::string k = key(query);
  TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  auto it = entries_.find(k);
  if (it == entries_.end()) return std::nullopt;
  if (now >= it->second.expires) {
    order_.erase(it->second.order);
    entries_.erase(it);
    return std::nullopt;
  }
  Answer a = it->second.answer;
  auto left_ms = std::chrono::duration_cast<Duration>(it->second.expires - now).count();
  // Rounded up: an entry with 300 ms left is still valid, and 0 would read as "not cached".
  auto left = static_cast<uint32_t>((left_ms + 999) / 1000);
  a.ttl = left;
  for (auto& r : a.srv) r.ttl = std::min(r.ttl, left);
  for (auto& r : a.naptr) r.ttl = std::min(r.ttl, left);
  for (auto& r : a.addresses) r.ttl = std::min(r.ttl, left);
  a.from_cache = true;
  return a;
}

size_t Cache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace herald::dns
