#pragma once

// Known SIP header fields: a dense id, the canonical name, the compact form, and whether the
// field's value is a comma-separated list (RFC 3261 §7.3.1). Names are matched
// case-insensitively, compact forms included, through a constexpr hash table.
//
//   HeaderId id = headerIdFromName("v");   // HeaderId::Via
//   headerName(id);                         // "Via"

#include <cstdint>
#include <string_view>

namespace herald::sip {

enum class HeaderId : uint8_t {
  Unknown = 0,
  Accept,
  AcceptContact,
  AcceptEncoding,
  AcceptLanguage,
  AlertInfo,
  Allow,
  AllowEvents,
  AuthenticationInfo,
  Authorization,
  CallId,
  CallInfo,
  Contact,
  ContentDisposition,
  ContentEncoding,
  ContentLanguage,
  ContentLength,
  ContentType,
  CSeq,
  Date,
  ErrorInfo,
  Event,
  Expires,
  From,
  Identity,
  IdentityInfo,
  InReplyTo,
  MaxForwards,
  MimeVersion,
  MinExpires,
  MinSE,
  Organization,
  PAssertedIdentity,
  Path,
  PPreferredIdentity,
  Priority,
  ProxyAuthenticate,
  ProxyAuthorization,
  ProxyRequire,
  RAck,
  Reason,
  RecordRoute,
  ReferredBy,
  ReferTo,
  RejectContact,
  ReplyTo,
  RequestDisposition,
  Require,
  RetryAfter,
  Route,
  RSeq,
  Server,
  ServiceRoute,
  SessionExpires,
  SipETag,
  SipIfMatch,
  Subject,
  SubscriptionState,
  Supported,
  Timestamp,
  To,
  Unsupported,
  UserAgent,
  Via,
  Warning,
  WwwAuthenticate,
  kCount,
};

inline constexpr int kHeaderIdCount = static_cast<int>(HeaderId::kCount);

// Case-insensitive lookup of a full or compact name; Unknown when not known.
HeaderId headerIdFromName(std::string_view name);

// Canonical spelling, e.g. "Call-ID", "WWW-Authenticate"; "" for Unknown.
std::string_view headerName(HeaderId id);

// Compact form ('v' for Via) or '\0'.
char headerCompactForm(HeaderId id);

// True for fields whose value is a comma-separated list that may also be split over several
// header lines (Via, Contact, Route, Allow...). Not for WWW-Authenticate and friends, whose
// commas separate parameters (RFC 3261 §7.3.1).
bool isListHeader(HeaderId id);

// True for fields that must appear at most once (From, To, Call-ID, CSeq, Max-Forwards,
// Content-Length, Content-Type, Expires...).
bool isSingletonHeader(HeaderId id);

}  // namespace herald::sip
