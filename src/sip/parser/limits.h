#pragma once

// Size limits applied while parsing and framing, from config ([sip.limits]).

#include <cstdint>

namespace herald::sip {

struct ParserLimits {
  // Default: 65536. Largest message (start line, headers, body) in bytes; larger ones get
  // 513 Message Too Large and, on a stream, the connection is closed.
  uint32_t max_message_bytes = 64 * 1024;
  // Default: 256. Most header lines in one message; more get 513.
  uint32_t max_header_count = 256;
  // Default: 8192. Longest start line or header field (with its folds) in bytes; longer get 513.
  uint32_t max_line_bytes = 8 * 1024;
};

}  // namespace herald::sip
