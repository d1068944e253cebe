#include "common/inet.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace herald {

std::optional<Endpoint> Endpoint::fromAddress(std::string_view address, uint16_t port) {
  char buf[64];
  if (address.empty() || address.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, address.data(), address.size());
  buf[address.size()] = '\0';
  Endpoint e;
  e.port_ = port;
  if (inet_pton(AF_INET, buf, e.bytes_.data()) == 1) {
    e.family_ = Family::V4;
    return e;
  }
  if (inet_pton(AF_INET6, buf, e.bytes_.data()) == 1) {
    e.family_ = Family::V6;
    return e;
  }
  return std::nullopt;
}

bool splitHostPort(std::string_view text, std::string_view* host, std::string_view* port) {
  *host = text;
  *port = {};
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    *host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || rest.size() == 1) return false;
      *port = rest.substr(1);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    size_t colon = text.find(':');
    *host = text.substr(0, colon);
    *port = text.substr(colon + 1);
    if (port->empty()) return false;
  }
  return true;
}

std::optional<Endpoint> Endpoint::parse(std::string_view text, uint16_t default_port) {
  std::string_view address;
  std::string_view port_text;
  if (!splitHostPort(text, &address, &port_text)) return std::nullopt;
  uint32_t port = default_port;
  if (!port_text.empty()) {
    if (port_text.size() > 5) return std::nullopt;
    port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return std::nullopt;
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port > 65535) return std::nullopt;
  }
  return fromAddress(address, static_cast<uint16_t>(port));
}

Endpoint Endpoint::v4(std::array<uint8_t, 4> bytes, uint16_t port) {
  Endpoint e;
  e.family_ = Family::V4;
  std::memcpy(e.bytes_.data(), bytes.data(), 4);
  e.port_ = port;
  return e;
}

Endpoint Endpoint::v6(std::array<uint8_t, 16> bytes, uint16_t port) {
  Endpoint e;
  e.family_ = Family::V6;
  e.bytes_ = bytes;
  e.port_ = port;
  return e;
}

bool Endpoint::isLoopback() const {
  if (family_ == Family::V4) return bytes_[0] == 127;
  if (family_ == Family::V6) {
    static const std::array<uint8_t, 16> kLoop = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return bytes_ == kLoop;
  }
  return false;
}

bool Endpoint::isBroadcastOrMulticast() const {
  if (family_ == Family::V4) {
    return (bytes_[0] >= 224 && bytes_[0] <= 239) ||
           (bytes_[0] == 255 && bytes_[1] == 255 && bytes_[2] == 255 && bytes_[3] == 255);
  }
  return family_ == Family::V6 && bytes_[0] == 0xFF;
}

std::string Endpoint::address() const {
  char buf[INET6_ADDRSTRLEN] = "";
  if (family_ == Family::V4) inet_ntop(AF_INET, bytes_.data(), buf, sizeof(buf));
  if (family_ == Family::V6) inet_ntop(AF_INET6, bytes_.data(), buf, sizeof(buf));
  return buf;
}

std::string Endpoint::toString() const {
  if (family_ == Family::V6) return "[" + address() + "]:" + std::to_string(port_);
  return address() + ":" + std::to_string(port_);
}

size_t Endpoint::hash() const {
  size_t h = static_cast<size_t>(family_) * 1000003u ^ port_;
  size_t n = family_ == Family::V6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i) h = h * 131 + bytes_[i];
  return h;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  size_t slash = text.find('/');
  auto net = Endpoint::fromAddress(text.substr(0, slash), 0);
  if (!net) return std::nullopt;
  int max = net->family() == Endpoint::Family::V4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return std::nullopt;
    prefix = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max) return std::nullopt;
  }
  Cidr c;
  c.net_ = *net;
  c.prefix_ = prefix;
  return c;
}

bool Cidr::contains(const Endpoint& ep) const {
  if (ep.family() != net_.family()) return false;
  int full = prefix_ / 8;
  if (std::memcmp(ep.bytes(), net_.bytes(), static_cast<size_t>(full)) != 0) return false;
  int rest = prefix_ % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (ep.bytes()[full] & mask) == (net_.bytes()[full] & mask);
}

std::string Cidr::toString() const { return net_.address() + "/" + std::to_string(prefix_); }

}  // namespace herald
