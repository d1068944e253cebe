#pragma once

// Uri: a SIP, SIPS or tel URI, or any other absolute URI kept opaque, as views into the text it
// was parsed from (RFC 3261 §19.1, §25; RFC 3966).
//
//   auto uri = parseUri("sip:alice%40x@example.com:5061;transport=tls");
//   uri->user;                    // "alice%40x" (escaped, as written)
//   uri->userUnescaped();         // "alice@x"
//   uri->params.find("transport") // "tls"
//   uriEquals(*uri, *other);      // RFC 3261 §19.1.4 comparison
//
// REQUIRES: the parsed text outlives the Uri.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sip/message/params.h"
#include "sip/message/parse_error.h"

namespace herald::sip {

enum class UriScheme : uint8_t { Sip, Sips, Tel, Other };
enum class HostKind : uint8_t { None, Name, IPv4, IPv6 };

struct Uri {
  UriScheme scheme = UriScheme::Other;
  std::string_view raw;          // the whole URI as written
  std::string_view scheme_text;  // "sip", "SIP", "tel", "http"... as written
  std::string_view user;         // escaped; tel: the telephone-subscriber number
  std::string_view password;     // escaped
  bool has_user = false;
  bool has_password = false;
  std::string_view host;  // IPv6 without its brackets
  HostKind host_kind = HostKind::None;
  std::optional<uint16_t> port;
  UriParams params;          // sip/sips/tel uri-parameters
  std::string_view headers;  // after '?', escaped; empty when none
  bool has_headers = false;
  std::string_view opaque;  // Other schemes: everything after "scheme:"

  bool isSip() const { return scheme == UriScheme::Sip || scheme == UriScheme::Sips; }
  std::string userUnescaped() const;
  // The `transport` parameter, or "" when absent.
  std::string_view transportParam() const;
  // Loose-routing flag (`lr` parameter).
  bool looseRouter() const { return params.has("lr"); }
  // host[:port] as written, IPv6 with brackets.
  std::string hostPort() const;
  // RFC 3261 §10.3 canonical address-of-record: lower-case scheme and host, unescaped user,
  // port when present, no parameters or headers. "sip:alice@example.com".
  std::string canonicalAor() const;
};

// Parses any absolute URI; sip, sips and tel get their full grammar.
[[nodiscard]] ParseResult<Uri> parseUri(std::string_view text);

// Validates a host (hostname, IPv4address, or IPv6 without brackets) and tells which it is.
[[nodiscard]] bool parseHost(std::string_view host, HostKind* kind);

// Parses a port number 0..65535 with at most 5 digits.
[[nodiscard]] bool parsePort(std::string_view digits, uint16_t* port);

// URI equality: RFC 3261 §19.1.4 for sip/sips, RFC 3966 §4 for tel, byte-exact otherwise.
bool uriEquals(const Uri& a, const Uri& b);

// Two hosts of the same kind naming the same address or name (case-insensitive names,
// numerically equal addresses).
bool hostEquals(std::string_view a, HostKind a_kind, std::string_view b, HostKind b_kind);

}  // namespace herald::sip
