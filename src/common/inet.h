#pragma once

// Endpoint: an IPv4 or IPv6 address with a port, as plain data (no sockets, no asio), so that
// every layer can name a peer. Conversions to sockaddr live in the transport.
//
//   auto ep = Endpoint::parse("[2001:db8::1]:5061");
//   ep->toString();   // "[2001:db8::1]:5061"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace herald {

class Endpoint {
 public:
  enum class Family : uint8_t { None, V4, V6 };

  Endpoint() = default;

  // "192.0.2.1:5060", "[::1]:5061", or an address alone with default_port.
  static std::optional<Endpoint> parse(std::string_view text, uint16_t default_port = 0);
  // An address literal (IPv4 or IPv6 without brackets) and a port.
  static std::optional<Endpoint> fromAddress(std::string_view address, uint16_t port);
  static Endpoint v4(std::array<uint8_t, 4> bytes, uint16_t port);
  static Endpoint v6(std::array<uint8_t, 16> bytes, uint16_t port);

  Family family() const { return family_; }
  bool valid() const { return family_ != Family::None; }
  uint16_t port() const { return port_; }
  void setPort(uint16_t port) { port_ = port; }
  // 4 bytes for V4, 16 for V6.
  const uint8_t* bytes() const { return bytes_.data(); }
  bool isLoopback() const;
  bool isBroadcastOrMulticast() const;

  // "192.0.2.1", "2001:db8::1"
  std::string address() const;
  // "192.0.2.1:5060", "[2001:db8::1]:5060"
  std::string toString() const;

  bool operator==(const Endpoint& o) const = default;

  size_t hash() const;

 private:
  Family family_ = Family::None;
  uint16_t port_ = 0;
  std::array<uint8_t, 16> bytes_{};
};

// Splits "host:port", "[v6]:port", "host" or a bare IPv6 address into its host (brackets
// removed) and port text ("" when none). False for an unclosed '[', or a ':' with no port.
// The parts are not checked further.
bool splitHostPort(std::string_view text, std::string_view* host, std::string_view* port);

// An address block: "10.0.0.0/8", "2001:db8::/32", or one address.
class Cidr {
 public:
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const Endpoint& ep) const;
  std::string toString() const;

 private:
  Endpoint net_;
  int prefix_ = 0;
};

}  // namespace herald

template <>
struct std::hash<herald::Endpoint> {
  size_t operator()(const herald::Endpoint& e) const { return e.hash(); }
};
