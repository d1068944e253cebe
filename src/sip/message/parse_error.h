#pragma once

// ParseError: why bytes are not an acceptable SIP message, and the reply a server should send.
// Cheap to copy and allocation-free (reason and detail are static text), so that hostile input
// at line rate costs no heap.
//
//   ParseResult<CSeq> c = parseCSeq(value);
//   if (!c) reply(c.error().status, c.error().reason);   // 400 "Bad CSeq"

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace herald::sip {

struct ParseError {
  uint16_t status = 400;    // the SIP response to send when the input is a request
  std::string_view reason;  // reason phrase for that response, e.g. "Bad Via"
  std::string_view detail;  // what exactly is wrong, for logs and sip-lint

  // "Bad Via (empty parameter)"; the reason alone when there is no detail.
  std::string toString() const;
};

template <class T>
using ParseResult = tl::expected<T, ParseError>;

inline tl::unexpected<ParseError> parseError(uint16_t status, std::string_view reason,
                                             std::string_view detail = {}) {
  return tl::unexpected(ParseError{status, reason, detail});
}

inline tl::unexpected<ParseError> badRequest(std::string_view reason,
                                             std::string_view detail = {}) {
  return parseError(400, reason, detail);
}

}  // namespace herald::sip
