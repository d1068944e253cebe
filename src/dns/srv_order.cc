#include "dns/srv_order.h"

#include <algorithm>
#include <cstdint>

namespace herald::dns {
namespace {

// Appends the records of one priority level to `out` in RFC 2782 order.
//
// The RFC's own procedure (weight-0 records first, a number in [0, sum], the first running
// sum >= it) favours the first weighted record: with weights 3 and 1 it picks the first 4
// times in 5, not 3 in 4. Here 0 is drawn only on behalf of the weight-0 records, so that
// weighted records are picked exactly in proportion to their weights.
void orderLevel(std::vector<SrvRecord> level, Rng& rng, std::vector<SrvRecord>* out) {
  auto zero_end = std::stable_partition(level.begin(), level.end(),
                                        [](const SrvRecord& r) { return r.weight == 0; });
  std::shuffle(level.begin(), zero_end, rng);
  size_t zeros = static_cast<size_t>(zero_end - level.begin());
  uint64_t sum = 0;
  for (const auto& r : level) sum += r.weight;
  while (!level.empty()) {
    size_t pick = 0;
    if (sum == 0) {
      pick = 0;  // only weight-0 records are left, already in random order
    } else {
      uint64_t lo = zeros > 0 ? 0 : 1;
      uint64_t n = std::uniform_int_distribution<uint64_t>(lo, sum)(rng);
      if (n == 0) {
        pick = 0;
      } else {
        uint64_t running = 0;
        for (pick = zeros; pick < level.size(); ++pick) {
          running += level[pick].weight;
          if (running >= n) {
            break;
          }
        }
      }
    }
    if (level[pick].weight == 0) {
      --zeros;
    }
    sum -= level[pick].weight;
    out->push_back(std::move(level[pick]));
    level.erase(level.begin() + static_cast<std::ptrdiff_t>(pick));
  }
}

}  // namespace

std::vector<SrvRecord> orderSrv(std::vector<SrvRecord> records, Rng& rng) {
  std::stable_sort(records.begin(), records.end(),
                   [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  std::vector<SrvRecord> out;
  out.reserve(records.size());
  auto begin = records.begin();
  while (begin != records.end()) {
    auto end = std::find_if(begin, records.end(), [&](const SrvRecord& r) {
      return r.priority != begin->priority;
    });
    orderLevel(std::vector<SrvRecord>(std::make_move_iterator(begin), std::make_move_iterator(end)),
               rng, &out);
    begin = end;
  }
  return out;
}

}  // namespace herald::dns
