#pragma once

// Via: one via-parm (RFC 3261 §20.42, §25; received/rport RFC 3581).
//
//   std::vector<Via> vias;
//   parseViaList("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9;rport", &vias);
//   vias[0].transport;        // "UDP"
//   vias[0].branch;           // "z9hG4bK74bf9"
//   vias[0].rport_requested;  // true (no value yet)
//
// REQUIRES: the parsed text outlives the value.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "sip/message/params.h"
#include "sip/message/parse_error.h"
#include "sip/message/uri.h"

namespace herald::sip {

// RFC 3261 §8.1.1.7: branches that start with this are unique per transaction.
inline constexpr std::string_view kMagicCookie = "z9hG4bK";

struct Via {
  std::string_view raw;               // the whole via-parm as written
  std::string_view protocol_name;     // "SIP"
  std::string_view protocol_version;  // "2.0"
  std::string_view transport;         // "UDP", "TCP", "TLS", "SCTP", or an extension token
  std::string_view host;              // sent-by host, IPv6 without brackets
  HostKind host_kind = HostKind::None;
  std::optional<uint16_t> port;
  HeaderParams params;
  std::string_view branch;    // "" when absent
  std::string_view received;  // "" when absent
  std::string_view maddr;     // "" when absent
  std::optional<uint8_t> ttl;
  bool rport_requested = false;   // an rport parameter is present (with or without value)
  std::optional<uint16_t> rport;  // its value, when it has one

  bool hasRfc3261Branch() const {
    return branch.size() > kMagicCookie.size() &&
           branch.substr(0, kMagicCookie.size()) == kMagicCookie;
  }
};

// Parses a comma-separated list of via-parms and appends to *out.
[[nodiscard]] ParseResult<void> parseViaList(std::string_view text, std::vector<Via>* out);

}  // namespace herald::sip
