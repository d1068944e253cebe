#pragma once

// NameAddr: the value of From, To, Contact, Route, Record-Route, Reply-To, P-Asserted-Identity
// and similar fields (RFC 3261 §25: name-addr / addr-spec, then header parameters).
//
//   auto to = parseNameAddr(R"("Bob" <sip:bob@example.com>;tag=a1)");
//   to->display_name;   // "\"Bob\""  (as written)
//   to->uri.host;       // "example.com"
//   to->tag;            // "a1"
//
// In the addr-spec form (no <>), parameters after the URI belong to the header, not the URI
// (RFC 3261 §20.10). REQUIRES: the parsed text outlives the value.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sip/message/params.h"
#include "sip/message/parse_error.h"
#include "sip/message/uri.h"

namespace herald::sip {

struct NameAddr {
  std::string_view raw;           // the whole element as written, parameters included
  std::string_view display_name;  // quoted-string with its quotes, or tokens; "" if none
  bool bracketed = false;         // URI written inside <>
  Uri uri;
  HeaderParams params;
  std::string_view tag;  // the tag parameter, "" when absent
  // Display name without quotes and quoted-pairs.
  std::string displayNameUnquoted() const;
};

// One Contact value: `*`, or a NameAddr with contact-params (expires, q).
struct Contact {
  bool star = false;
  NameAddr addr;                    // unset when star
  std::optional<uint32_t> expires;  // the expires parameter, seconds
  std::optional<uint16_t> q;        // the q parameter in thousandths (q=0.5 -> 500)
};

enum class AddrForm { NameAddrOrAddrSpec, NameAddrOnly };

// Parses exactly one value (the whole text).
[[nodiscard]] ParseResult<NameAddr> parseNameAddr(std::string_view text,
                                                  AddrForm form = AddrForm::NameAddrOrAddrSpec);

// Parses a comma-separated list and appends to *out.
[[nodiscard]] ParseResult<void> parseNameAddrList(std::string_view text, AddrForm form,
                                                  std::vector<NameAddr>* out);

// Parses Contact values (`*` or a list) and appends to *out.
[[nodiscard]] ParseResult<void> parseContactList(std::string_view text, std::vector<Contact>* out);

}  // namespace herald::sip
