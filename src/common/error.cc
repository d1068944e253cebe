#include "common/error.h"

namespace herald {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
      return "invalid argument";
    case ErrorCode::NotFound:
      return "not found";
    case ErrorCode::AlreadyExists:
      return "already exists";
    case ErrorCode::FailedPrecondition:
      return "failed precondition";
    case ErrorCode::ResourceExhausted:
      return "resource exhausted";
    case ErrorCode::Unavailable:
      return "unavailable";
    case ErrorCode::Internal:
      return "internal";
  }
  return "unknown";
}

std::string Error::toString() const {
  std::string out(errorCodeName(code));
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

}  // namespace herald
