#pragma once

// Error values for failures we expect (bad config, missing file, refused connection).
// Bugs are not errors: they crash through HERALD_CHECK (see common/assert.h).
//
//   Result<Config> loadConfig(path);
//   if (!r) { log(r.error().toString()); }

#include <string>
#include <string_view>

namespace herald {

// A small closed set, after Abseil's canonical codes. Add one only when a caller must react to
// it differently from all the others.
enum class ErrorCode {
  InvalidArgument,     // the input is wrong; retrying the same input fails again
  NotFound,            // the named thing does not exist
  AlreadyExists,       // the thing to create exists
  FailedPrecondition,  // the system is not in the state the operation needs
  ResourceExhausted,   // a limit was hit
  Unavailable,         // transient: a peer, a socket, a file system; retrying may help
  Internal,            // an invariant of ours broke; reported, not crashed on
};

std::string_view errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string detail;

  std::string toString() const;
};

inline Error invalidArgument(std::string detail) {
  return Error{ErrorCode::InvalidArgument, std::move(detail)};
}
inline Error notFound(std::string detail) { return Error{ErrorCode::NotFound, std::move(detail)}; }
inline Error unavailable(std::string detail) {
  return Error{ErrorCode::Unavailable, std::move(detail)};
}
inline Error internalError(std::string detail) {
  return Error{ErrorCode::Internal, std::move(detail)};
}

}  // namespace herald
