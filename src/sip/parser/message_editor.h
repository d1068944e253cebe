#pragma once

// MessageEditor: an edited copy of a message's bytes, for a proxy forwarding a request or a
// response (RFC 3261 §16.6, §16.7). Edits are recorded against the original buffer and applied
// in one pass; untouched bytes are copied, never re-serialized (after Kamailio's "lumps").
//
//   MessageEditor ed(request);
//   ed.pushVia("SIP/2.0/UDP proxy.example.com;branch=z9hG4bK776");
//   ed.decrementMaxForwards();
//   if (!ed.popRoute()) ...;
//   std::string out = ed.build();
//
// The editor reads the message's typed values (Via, Route, Max-Forwards), which must parse.
// The message must outlive the editor. Copy an editor to fork a request to several branches.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/inet.h"
#include "sip/message/parse_error.h"
#include "sip/message/sip_message.h"

namespace herald::sip {

class MessageEditor {
 public:
  // A request whose top Via has a rewrite (received/rport) is forwarded with it.
  explicit MessageEditor(const SipMessage& msg);

  // Request only: replaces the Request-URI.
  void setRequestUri(std::string_view uri);
  // Adds a via-parm as the new topmost Via, on its own line above the others.
  void pushVia(std::string_view via_value);
  // Removes the topmost via-parm not yet removed (a whole line when it is alone on it).
  [[nodiscard]] ParseResult<void> popVia();
  // Removes the first Route value not yet removed.
  [[nodiscard]] ParseResult<void> popRoute();
  // Adds a Record-Route value (a name-addr) above the existing ones.
  void pushRecordRoute(std::string_view name_addr);
  // RFC 3261 §16.6 step 3: Max-Forwards minus one, or 70 when absent.
  [[nodiscard]] ParseResult<void> decrementMaxForwards();
  void setMaxForwards(uint32_t value);
  // Appends a header line at the end of the header section. REQUIRES: no CR/LF in name/value.
  void addHeader(std::string_view name, std::string_view value);
  // Removes every line of this header.
  void removeHeaders(HeaderId id);
  // Replaces the body and its Content-Type; Content-Length follows the new body.
  void setBody(std::string_view content_type, std::string_view body);

  // The edited message. Content-Length is always present in the result (added when the
  // original, a datagram, had none), so the output can go on any transport.
  std::string build() const;

 private:
  struct Edit {
    uint32_t offset;      // in the original buffer
    uint32_t remove;      // bytes of the original removed from offset
    uint32_t text_begin;  // inserted text in text_
    uint32_t text_len;
    uint32_t seq;  // order of recording, for inserts at the same offset
  };

  void record(size_t offset, size_t remove, std::string_view text);
  // Removes one value of a comma-list header (its whole line when it is alone on it).
  // previous/following: the neighbouring values in the list, when any.
  void removeListElement(HeaderId id, std::string_view element, const std::string_view* previous,
                         const std::string_view* following);
  uint32_t firstLineOffset(HeaderId id) const;

  const SipMessage* msg_;
  std::vector<Edit> edits_;
  std::string text_;
  size_t vias_popped_ = 0;
  size_t routes_popped_ = 0;
  bool body_replaced_ = false;
  std::string body_;
};

// A response to `request` (RFC 3261 §8.2.6): its Via lines, From, To (with to_tag added when
// the To has no tag and the code is above 100), Call-ID and CSeq are copied as they are, then
// extra_headers (complete lines, "Name: value\r\n" each), Content-Type when there is a body,
// and Content-Length.
struct ResponseSpec {
  uint16_t code = 200;
  std::string_view reason = "OK";
  std::string_view to_tag;
  std::string_view extra_headers;
  std::string_view content_type;
  std::string_view body;
};

std::string buildResponse(const SipMessage& request, const ResponseSpec& spec);

// RFC 3261 §18.2.1 and RFC 3581 §4, for a request read from `source`: when the top Via's
// sent-by is not the source address (or is a name), or asks for rport, records the top
// via-parm with received=<source address> and rport=<source port> added (SipMessage::
// setTopViaRewrite), for responses and forwarded copies. Returns whether it did. A request
// whose Via does not parse is left alone (validation answers it).
bool annotateReceivedFrom(SipMessage& request, const Endpoint& source);

// The ACK a client transaction sends for a 3xx-6xx response to its INVITE (RFC 3261
// §17.1.1.3): Request-URI, Call-ID, From, CSeq number and the top Via of the request, the To of
// the response, the request's Route headers.
std::string buildAckForNon2xx(const SipMessage& invite, const SipMessage& response);

// A CANCEL for a request (RFC 3261 §9.1): same Request-URI, Call-ID, To, From, CSeq number,
// top Via and Route headers; method CANCEL.
std::string buildCancel(const SipMessage& request);

}  // namespace herald::sip
