#pragma once

// MessageParser: bytes -> SipMessage. Finds the start line, the header boundaries and the body
// once, without copying; header grammars are parsed later, on typed access (sip/message).
//
//   auto msg = MessageParser::parseDatagram(Buffer::copyOf(datagram), limits);
//   if (!msg) { sendError(msg.error()); return; }       // 400/505/513 with a reason
//   if (auto ok = validate(*msg, Validation::Basic); !ok) { ... }
//
// validate() is the RFC 3261 §8.2 / §16.3 syntax gate: the Request-URI, the mandatory headers,
// the single-valued headers appearing once, CSeq matching the method. Validation::Full also
// parses every other header Herald knows the grammar of (sip-lint uses it).

#include <memory>

#include "sip/message/buffer.h"
#include "sip/message/parse_error.h"
#include "sip/message/sip_message.h"
#include "sip/parser/limits.h"

namespace herald::sip {

class MessageParser {
 public:
  // The buffer is moved into the message on success and left with the caller on failure, so
  // that an error response can still be built from it.
  //
  // One message in one UDP datagram (RFC 3261 §18.3): without Content-Length the body runs to
  // the end of the datagram; octets beyond Content-Length are ignored; a Content-Length larger
  // than the datagram is an error (400). Leading CRLFs are skipped.
  [[nodiscard]] static ParseResult<SipMessage> parseDatagram(Buffer&& buffer,
                                                             const ParserLimits& limits = {});

  // One message cut from a stream by StreamFramer: Content-Length is mandatory and the body
  // must be complete.
  [[nodiscard]] static ParseResult<SipMessage> parseStream(Buffer&& buffer,
                                                           const ParserLimits& limits = {});

  // The same, onto the heap (no move of the message afterwards): for the transport.
  [[nodiscard]] static ParseResult<std::unique_ptr<SipMessage>> parseDatagramPtr(
      Buffer&& buffer, const ParserLimits& limits = {});
  [[nodiscard]] static ParseResult<std::unique_ptr<SipMessage>> parseStreamPtr(
      Buffer&& buffer, const ParserLimits& limits = {});

  // Best effort for answering a request that failed to parse: the start line and the header
  // lines it can find, with Content-Length ignored and a missing empty line tolerated. Use the
  // result only to copy Via, From, To, Call-ID and CSeq into an error response.
  [[nodiscard]] static ParseResult<SipMessage> parseForErrorReply(Buffer&& buffer,
                                                                  const ParserLimits& limits = {});

 private:
  enum class Mode { Datagram, Stream, Salvage };
  static ParseResult<SipMessage> parse(Buffer&& buffer, Mode mode, const ParserLimits& limits);
  static ParseResult<std::unique_ptr<SipMessage>> parsePtr(Buffer&& buffer, Mode mode,
                                                           const ParserLimits& limits);
  static ParseResult<void> parseInto(SipMessage& msg, Buffer&& buffer, Mode mode,
                                     const ParserLimits& limits);
};

enum class Validation { Basic, Full };

[[nodiscard]] ParseResult<void> validate(const SipMessage& msg, Validation level);

}  // namespace herald::sip
