#pragma once

// The SIP transports Herald speaks (RFC 3261 §18) and what follows from each.

#include <cstdint>
#include <optional>
#include <string_view>

namespace herald::sip {

enum class Transport : uint8_t { Udp, Tcp, Tls };

// "UDP", "TCP", "TLS" (the Via spelling).
constexpr std::string_view transportName(Transport t) {
  switch (t) {
    case Transport::Udp:
      return "UDP";
    case Transport::Tcp:
      return "TCP";
    case Transport::Tls:
      return "TLS";
  }
  return "UDP";
}

// Case-insensitive "udp"/"tcp"/"tls".
std::optional<Transport> transportFromName(std::string_view name);

// Stream transports deliver reliably: no retransmissions, zero-length wait timers.
constexpr bool isReliable(Transport t) { return t != Transport::Udp; }

constexpr uint16_t defaultPort(Transport t) { return t == Transport::Tls ? 5061 : 5060; }

}  // namespace herald::sip
