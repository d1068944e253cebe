#pragma once

// StreamFramer: cuts SIP messages out of a TCP/TLS byte stream (RFC 3261 §18.3).
//
//   StreamFramer framer(limits);
//   auto space = framer.prepare(4096);            // read() into it, then
//   framer.commit(n);
//   while (true) {
//     StreamFramer::Item item = framer.next();
//     if (item.kind == StreamFramer::Kind::NeedMore) break;
//     if (item.kind == StreamFramer::Kind::Ping) { send("\r\n"); continue; }   // RFC 5626 §3.5.1
//     if (item.kind == StreamFramer::Kind::Error) { reply(item.error); close(); break; }
//     handle(MessageParser::parseStream(std::move(item.message), limits));
//   }
//
// Messages are framed by Content-Length, which is mandatory on streams. Pipelined messages and
// partial reads are handled; CRLFs between messages are skipped, and a double CRLF is reported
// as a keep-alive ping. A framing error (bad or conflicting Content-Length, a header section or
// message over the limits) cannot be recovered from: the framer stays in the error state and the
// connection must be closed.
//
// All methods run on the thread that owns the connection.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sip/message/buffer.h"
#include "sip/message/parse_error.h"
#include "sip/parser/limits.h"

namespace herald::sip {

class StreamFramer {
 public:
  enum class Kind { NeedMore, Message, Ping, Error };

  struct Item {
    Kind kind = Kind::NeedMore;
    Buffer message;    // Kind::Message: exactly one message
    ParseError error;  // Kind::Error
  };

  explicit StreamFramer(const ParserLimits& limits = {}) : limits_(limits) {}

  // Writable space for at least n more bytes; commit() what was written.
  std::span<char> prepare(size_t n);
  void commit(size_t n);
  // prepare + copy + commit.
  void append(std::string_view bytes);

  Item next();

  // Bytes received but not yet returned as a message.
  size_t buffered() const { return data_.size() - head_; }
  bool failed() const { return failed_; }

 private:
  Item fail(uint16_t status, std::string_view reason, std::string_view detail);
  void compact();

  ParserLimits limits_;
  std::string data_;  // received bytes; [head_, size) not yet consumed
  size_t head_ = 0;
  size_t committed_ = 0;  // data_ holds prepared space beyond this
  size_t scan_from_ = 0;  // where to resume looking for the end of the headers (relative to head_)
  size_t headers_len_ = 0;  // >0 once the header section of the current message is known
  uint32_t content_length_ = 0;
  bool failed_ = false;
  ParseError error_;
};

}  // namespace herald::sip
