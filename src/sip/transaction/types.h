#pragma once

// Types shared by the transaction layer, the transport and their users.

#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/inet.h"
#include "sip/message/transport.h"

namespace herald::sip {

// Serialized message bytes, shared so that a retransmission does not copy.
using SharedBytes = std::shared_ptr<const std::string>;

inline SharedBytes makeBytes(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

// RFC 3261 §17 timer values. T1 is the RTT estimate, T2 the longest non-INVITE
// retransmission interval, T4 how long the network may hold a message.
struct TimerConfig {
  Duration t1{500};   // Default: 500 ms.
  Duration t2{4000};  // Default: 4 s.
  Duration t4{5000};  // Default: 5 s.
};

enum class TxTimer : uint8_t { A, B, D, E, F, G, H, I, J, K, L, M };

// Where a message came from: the transport, the peer, the local socket, and for streams the
// connection it arrived on.
struct Origin {
  Transport transport = Transport::Udp;
  Endpoint source;
  Endpoint local;
  uint64_t connection = 0;  // 0: datagram
};

// Where to send a message. For streams, `connection` names an existing connection to use when
// it is still open; otherwise the transport opens one to `endpoint`.
struct SendTarget {
  Transport transport = Transport::Udp;
  Endpoint endpoint;
  uint64_t connection = 0;
  // TLS: the name the peer's certificate must carry (empty: the address, or no check).
  std::string tls_name;
};

// A transaction's identity within its manager. 0 is never used.
using TxId = uint64_t;

}  // namespace herald::sip
