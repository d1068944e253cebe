#pragma once

// Result<T>: a value or an Error. tl::expected has std::expected's C++23 API, so moving to
// C++23 changes only these aliases.
//
//   [[nodiscard]] Result<int> parsePort(std::string_view s);
//   auto port = parsePort(text);
//   if (!port) return tl::unexpected(port.error());
//
// HERALD_TRY(expr) returns the error of a failed Result from the enclosing plain function.
// Do not use it in coroutines (write the co_return by hand).

#include <tl/expected.hpp>

#include "common/error.h"

namespace herald {

template <class T>
using Result = tl::expected<T, Error>;

using tl::unexpected;

}  // namespace herald

#define HERALD_TRY(expr)                                              \
  do {                                                                \
    auto herald_try_result_ = (expr);                                 \
    if (!herald_try_result_) {                                        \
      return ::tl::unexpected(std::move(herald_try_result_).error()); \
    }                                                                 \
  } while (false)
