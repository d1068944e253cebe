#pragma once

// What c-ares 1.18's parsers leave out of a DNS message (RFC 1035 §4.1): the TTLs of SRV and
// NAPTR records, and the SOA of a negative answer's authority section (RFC 2308 §5).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace herald::dns::detail {

struct MessageScan {
  int rcode = 0;
  // TTLs of the answer section's records of the asked type, in message order.
  std::vector<uint32_t> answer_ttls;
  // min(SOA TTL, SOA MINIMUM) of the first SOA in the authority section.
  std::optional<uint32_t> negative_ttl;
};

// nullopt when the message is cut short or malformed.
std::optional<MessageScan> scanMessage(const unsigned char* data, size_t size, uint16_t type);

}  // namespace herald::dns::detail
