#pragma once

// Invariant checks. Never use these on bytes from a peer: bad input is an error value.
//   HERALD_CHECK(cond)  always on; logs the place and aborts.
//   HERALD_ASSERT(cond) debug builds only.
//   HERALD_BUG(msg)     release: logs and counts (bugCount()); debug: aborts.

#include <cstdint>

namespace herald::detail {
[[noreturn]] void checkFailed(const char* expr, const char* file, int line);
void bugReported(const char* msg, const char* file, int line);
}  // namespace herald::detail

namespace herald {
// Number of HERALD_BUG reports since start; exposed as a counter later.
uint64_t bugCount();
}  // namespace herald

#define HERALD_CHECK(cond)                                      \
  do {                                                          \
    if (!(cond)) [[unlikely]] {                                 \
      ::herald::detail::checkFailed(#cond, __FILE__, __LINE__); \
    }                                                           \
  } while (false)

#ifdef NDEBUG
#define HERALD_ASSERT(cond) \
  do {                      \
  } while (false && (cond))
#define HERALD_BUG(msg) ::herald::detail::bugReported(msg, __FILE__, __LINE__)
#else
#define HERALD_ASSERT(cond) HERALD_CHECK(cond)
#define HERALD_BUG(msg) ::herald::detail::checkFailed(msg, __FILE__, __LINE__)
#endif
