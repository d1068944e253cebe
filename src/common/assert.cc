#include "common/assert.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace herald {
namespace {
std::atomic<uint64_t> g_bug_count{0};
}  // namespace

uint64_t bugCount() { return g_bug_count.load(std::memory_order_relaxed); }

namespace detail {

void checkFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "herald: check failed: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

void bugReported(const char* msg, const char* file, int line) {
  g_bug_count.fetch_add(1, std::memory_order_relaxed);
  std::fprintf(stderr, "herald: bug: %s at %s:%d\n", msg, file, line);
}

}  // namespace detail
}  // namespace herald
