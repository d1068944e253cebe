#pragma once

// SipMessage: one parsed SIP request or response (RFC 3261 §7), zero-copy.
//
// The message owns one Buffer; the start line, the header index and every typed value are
// string_views into it, valid while the SipMessage lives. Parsing (sip/parser) finds the start
// line and the header boundaries once; a header's grammar is parsed on first typed access and
// cached. Unknown headers and methods are kept verbatim.
//
//   auto msg = MessageParser::parseDatagram(Buffer::copyOf(bytes));
//   if (!msg) reply(msg.error().status, msg.error().reason);
//   auto via = msg->topVia();          // parsed now, cached
//   if (!via) reply(400, via.error().reason);
//   (*via)->branch;
//
// Buffer layout (offsets are into the Buffer; trailing datagram octets beyond the message are
// kept in the buffer but are not part of bytes()):
//
//   +------+------------+---------------------------+------+--------+---------------+
//   | CRLF | start line | header lines (folds kept) | CRLF |  body  | (UDP trailer) |
//   +------+------------+---------------------------+------+--------+---------------+
//          ^ begin()                                ^ headersEnd()  ^ end()
//                                                          ^ bodyOffset()
//
// Thread safety: a SipMessage is used by one thread at a time (typed access fills a cache).
// It may be moved to another worker between uses.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sip/message/buffer.h"
#include "sip/message/header_id.h"
#include "sip/message/header_types.h"
#include "sip/message/method.h"
#include "sip/message/name_addr.h"
#include "sip/message/parse_error.h"
#include "sip/message/uri.h"
#include "sip/message/via.h"

namespace herald::sip {

class MessageParser;

struct HeaderField {
  HeaderId id = HeaderId::Unknown;
  std::string_view name;   // as written ("v", "MaX-fOrWaRdS")
  std::string_view value;  // after HCOLON and LWS, before the line end; folds kept inside
  uint32_t offset = 0;     // first byte of the header line
  uint32_t length = 0;     // the line(s) with their terminator
};

struct RequestLine {
  Method method = Method::Unknown;
  std::string_view method_text;
  std::string_view uri;      // Request-URI as written
  std::string_view version;  // "SIP/2.0"
};

struct StatusLine {
  uint16_t code = 0;
  std::string_view reason;  // may be empty
  std::string_view version;
};

class SipMessage {
 public:
  SipMessage(SipMessage&&) noexcept = default;
  SipMessage& operator=(SipMessage&&) noexcept = default;
  SipMessage(const SipMessage&) = delete;
  SipMessage& operator=(const SipMessage&) = delete;

  bool isRequest() const { return is_request_; }
  bool isResponse() const { return !is_request_; }
  // REQUIRES: isRequest().
  const RequestLine& requestLine() const { return request_line_; }
  Method method() const { return request_line_.method; }
  // REQUIRES: isResponse().
  const StatusLine& statusLine() const { return status_line_; }
  uint16_t statusCode() const { return status_line_.code; }

  // The message as received: start line to the end of the body (leading CRLFs and trailing
  // datagram octets excluded).
  std::string_view bytes() const { return buffer_.view().substr(begin_, end_ - begin_); }
  std::string_view startLine() const { return buffer_.view().substr(begin_, start_line_size_); }
  std::span<const HeaderField> headers() const { return headers_; }
  std::string_view body() const { return buffer_.view().substr(body_offset_, end_ - body_offset_); }
  // The whole buffer; HeaderField offsets, bodyOffset() and headersEnd() index into it.
  std::string_view buffer() const { return buffer_.view(); }
  uint32_t begin() const { return begin_; }
  uint32_t end() const { return end_; }
  uint32_t bodyOffset() const { return body_offset_; }
  // Offset of the empty line that ends the headers.
  uint32_t headersEnd() const { return headers_end_; }
  // Content-Length as framed; nullopt when absent (allowed on UDP only).
  std::optional<uint32_t> contentLength() const { return content_length_; }

  // First header with this id, or nullptr.
  const HeaderField* find(HeaderId id) const;
  // First header with this name (case-insensitive, compact forms too), known or not.
  const HeaderField* find(std::string_view name) const;
  // Number of header lines with this id.
  size_t count(HeaderId id) const;

  // Calls f(const HeaderField&) for each header line with this id, in order.
  template <class F>
  void forEach(HeaderId id, F&& f) const {
    uint16_t first = first_index_[static_cast<size_t>(id)];
    if (first == 0) return;
    for (size_t i = first - 1; i < headers_.size(); ++i) {
      if (headers_[i].id == id) f(headers_[i]);
    }
  }

  // Calls f(const HeaderField&) -> ParseResult<void> for each line with this id, in order,
  // stopping at and returning the first error.
  template <class F>
  ParseResult<void> parseEach(HeaderId id, F&& f) const {
    uint16_t first = first_index_[static_cast<size_t>(id)];
    if (first == 0) return {};
    for (size_t i = first - 1; i < headers_.size(); ++i) {
      if (headers_[i].id != id) continue;
      ParseResult<void> r = f(headers_[i]);
      if (!r) return r;
    }
    return {};
  }

  // RFC 3261 §18.2.1 / RFC 3581: the top via-parm as responses and forwarded copies must carry
  // it, with received/rport filled in by the server that read the request
  // (`annotateReceivedFrom` in sip/parser); empty when the Via needs no change.
  std::string_view topViaRewrite() const { return top_via_rewrite_; }
  void setTopViaRewrite(std::string via_parm) { top_via_rewrite_ = std::move(via_parm); }

  // Typed access, parsed on first call and cached. An error names the header ("Bad Via").
  ParseResult<const Uri*> requestUri() const;  // REQUIRES: isRequest()
  ParseResult<std::span<const Via>> vias() const;
  ParseResult<const Via*> topVia() const;        // error when there is none
  ParseResult<const NameAddr*> from() const;     // error when absent
  ParseResult<const NameAddr*> to() const;       // error when absent
  ParseResult<std::string_view> callId() const;  // error when absent
  ParseResult<const CSeq*> cseq() const;         // error when absent
  ParseResult<std::optional<uint32_t>> maxForwards() const;
  ParseResult<std::span<const Contact>> contacts() const;
  ParseResult<std::span<const NameAddr>> routes() const;
  ParseResult<std::span<const NameAddr>> recordRoutes() const;

  // Typed access, parsed on every call (rarely used fields). nullopt when absent.
  ParseResult<std::optional<MediaType>> contentType() const;
  ParseResult<std::optional<uint32_t>> expires() const;
  ParseResult<std::optional<uint32_t>> minExpires() const;
  ParseResult<std::optional<Event>> event() const;
  ParseResult<std::optional<SubscriptionState>> subscriptionState() const;
  ParseResult<std::optional<std::string_view>> sipETag() const;
  ParseResult<std::optional<std::string_view>> sipIfMatch() const;
  ParseResult<std::vector<MediaType>> accept() const;
  // Allow, Supported, Require, Proxy-Require, Unsupported, Allow-Events: all values of all lines.
  ParseResult<std::vector<std::string_view>> tokenList(HeaderId id) const;
  // Authorization, Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate: one per line.
  ParseResult<std::vector<AuthHeader>> authHeaders(HeaderId id) const;
  // Name-addr lists other than Route/Record-Route (Path, Service-Route, P-Asserted-Identity...).
  ParseResult<std::vector<NameAddr>> nameAddrList(HeaderId id) const;

 private:
  friend class MessageParser;

  template <class T>
  struct Lazy {
    enum class State : uint8_t { Unparsed, Ok, Failed };
    State state = State::Unparsed;
    T value{};
    ParseError error;
  };

  SipMessage() = default;

  ParseResult<std::optional<uint32_t>> decimal(HeaderId id, uint32_t max) const;
  ParseResult<std::optional<std::string_view>> entityTag(HeaderId id) const;
  ParseResult<const NameAddr*> nameAddr(HeaderId id, Lazy<NameAddr>& cache) const;
  ParseResult<std::span<const NameAddr>> routeSet(HeaderId id,
                                                  Lazy<std::vector<NameAddr>>& cache) const;

  Buffer buffer_;
  std::string top_via_rewrite_;
  uint32_t begin_ = 0;
  uint32_t end_ = 0;
  uint32_t start_line_size_ = 0;
  uint32_t headers_end_ = 0;
  uint32_t body_offset_ = 0;
  std::optional<uint32_t> content_length_;
  bool is_request_ = false;
  RequestLine request_line_;
  StatusLine status_line_;
  std::vector<HeaderField> headers_;
  std::array<uint16_t, kHeaderIdCount> first_index_{};  // index + 1 of the first line; 0: none

  mutable Lazy<Uri> request_uri_;
  mutable Lazy<std::vector<Via>> vias_;
  mutable Lazy<NameAddr> from_;
  mutable Lazy<NameAddr> to_;
  mutable Lazy<std::string_view> call_id_;
  mutable Lazy<CSeq> cseq_;
  mutable Lazy<std::optional<uint32_t>> max_forwards_;
  mutable Lazy<std::vector<Contact>> contacts_;
  mutable Lazy<std::vector<NameAddr>> routes_;
  mutable Lazy<std::vector<NameAddr>> record_routes_;
};

// "Bad Via", "Bad From"...: the reason phrase for a malformed header.
std::string_view badHeaderReason(HeaderId id);

}  // namespace herald::sip
