#pragma once

// Typed values of the smaller SIP header fields and their grammars (RFC 3261 §25 unless noted).
// Each parse function takes the field value as the message holds it (after HCOLON, line folds
// included) and returns views into it. REQUIRES: the text outlives the value.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "sip/message/method.h"
#include "sip/message/params.h"
#include "sip/message/parse_error.h"

namespace herald::sip {

struct CSeq {
  uint32_t number = 0;
  Method method = Method::Unknown;
  std::string_view method_text;
};

// CSeq = 1*DIGIT LWS Method; the number must fit 32 bits (RFC 4475 scalar02).
[[nodiscard]] ParseResult<CSeq> parseCSeq(std::string_view text);

// 1*DIGIT no larger than max, surrounded by optional LWS (Max-Forwards, Expires, Min-Expires,
// Content-Length).
[[nodiscard]] ParseResult<uint32_t> parseDecimalValue(std::string_view text, uint32_t max);

// callid = word [ "@" word ]; returns the value without surrounding LWS.
[[nodiscard]] ParseResult<std::string_view> parseCallId(std::string_view text);

// media-type = m-type SLASH m-subtype *(SEMI m-parameter) (Content-Type; Accept ranges).
struct MediaType {
  std::string_view type;     // "application"; "*" in an Accept range
  std::string_view subtype;  // "pidf+xml"
  HeaderParams params;

  // Case-insensitive match of "type/subtype".
  bool is(std::string_view type_name, std::string_view subtype_name) const;
};

[[nodiscard]] ParseResult<MediaType> parseMediaType(std::string_view text);
// Accept: a possibly empty list of media ranges.
[[nodiscard]] ParseResult<void> parseMediaTypeList(std::string_view text,
                                                   std::vector<MediaType>* out);

// Event (RFC 6665 §8.4): event-type *(SEMI event-param).
struct Event {
  std::string_view package;  // "presence", "message-summary", "presence.winfo"
  HeaderParams params;
  std::string_view id() const;
};
[[nodiscard]] ParseResult<Event> parseEvent(std::string_view text);

// Subscription-State (RFC 6665 §8.4).
struct SubscriptionState {
  std::string_view state;   // "active", "pending", "terminated", or extension
  std::string_view reason;  // "" when absent
  std::optional<uint32_t> expires;
  std::optional<uint32_t> retry_after;
  HeaderParams params;
};
[[nodiscard]] ParseResult<SubscriptionState> parseSubscriptionState(std::string_view text);

// SIP-ETag / SIP-If-Match (RFC 3903): entity-tag = token.
[[nodiscard]] ParseResult<std::string_view> parseEntityTag(std::string_view text);

// Comma-separated tokens: Allow, Supported, Require, Proxy-Require, Unsupported, Allow-Events.
// An empty value is an empty list. Appends to *out.
[[nodiscard]] ParseResult<void> parseTokenList(std::string_view text,
                                               std::vector<std::string_view>* out);

// Authorization, Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate:
// auth-scheme LWS auth-param *(COMMA auth-param). Digest parameters are auth-params too.
struct AuthHeader {
  std::string_view scheme;  // "Digest", or an unknown scheme
  std::string_view params_raw;

  // Finds a parameter by name (case-insensitive); the value is raw (quoted strings keep quotes).
  std::optional<Param> find(std::string_view name) const;
  template <class F>
  void forEach(F&& f) const;
};
[[nodiscard]] ParseResult<AuthHeader> parseAuthHeader(std::string_view text);

namespace detail {
// Iterates "name=value" items of an auth-param list; returns false on a grammar error.
bool nextAuthParam(std::string_view raw, size_t* pos, Param* out);
}  // namespace detail

template <class F>
void AuthHeader::forEach(F&& f) const {
  size_t pos = 0;
  Param p;
  while (detail::nextAuthParam(params_raw, &pos, &p)) f(p);
}

}  // namespace herald::sip
