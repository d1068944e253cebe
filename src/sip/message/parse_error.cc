#include "sip/message/parse_error.h"

namespace herald::sip {

std::string ParseError::toString() const {
  std::string out(reason);
  if (!detail.empty()) {
    out += " (";
    out += detail;
    out += ')';
  }
  return out;
}

}  // namespace herald::sip
