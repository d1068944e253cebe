#pragma once

// Grammar pieces shared by the header parsers of this folder. Internal: not for other folders.

#include <string_view>

#include "sip/message/internal/scanner.h"
#include "sip/message/name_addr.h"
#include "sip/message/params.h"

namespace herald::sip::detail {

// Reads one SEMI generic-param (LWS allowed around separators). False on a grammar error.
bool scanHeaderParam(Scanner& s, Param* out);

// Advances over *(SEMI generic-param) and returns the parameters as HeaderParams, calling
// on_param(const Param&) -> bool for each (false stops with a "Bad parameter" error).
template <class F>
ParseResult<HeaderParams> scanHeaderParams(Scanner& s, F&& on_param) {
  size_t start = s.pos();
  while (true) {
    size_t before = s.pos();
    s.skipLws();
    if (s.peek() != ';') {
      s.setPos(before);
      break;
    }
    s.setPos(before);
    Param p;
    if (!scanHeaderParam(s, &p)) return badRequest("Bad parameter", "malformed parameter");
    if (!on_param(p)) return badRequest("Bad parameter", "bad parameter value");
  }
  return HeaderParams::fromValidated(s.since(start));
}

inline ParseResult<HeaderParams> scanHeaderParams(Scanner& s) {
  return scanHeaderParams(s, [](const Param&) { return true; });
}

// Reads one name-addr / addr-spec with its parameters, stopping before a top-level ',' or the
// end. Leading LWS is skipped.
ParseResult<NameAddr> scanNameAddr(Scanner& s, AddrForm form);

// After an element of a list: true and advanced past the COMMA when another element follows;
// true at the end; false when something else follows.
bool nextListElement(Scanner& s, bool* more);

}  // namespace herald::sip::detail
