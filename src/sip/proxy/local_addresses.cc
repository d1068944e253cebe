#include "sip/proxy/local_addresses.h"

#include "sip/message/chars.h"

namespace herald::sip {
namespace {

bool isWildcard(const Endpoint& e) {
  const uint8_t* b = e.bytes();
  size_t n = e.family() == Endpoint::Family::V4 ? 4 : 16;
  for (size_t i = 0; i < n; ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

}  // namespace

LocalAddresses::LocalAddresses(std::vector<LocalListener> listeners,
                               std::vector<std::string> hostnames)
    : listeners_(std::move(listeners)) {
  for (auto& h : hostnames) {
    std::string lower;
    for (char c : h) lower.push_back(chars::toLower(c));
    hostnames_.push_back(lower);
  }
}

const std::string& LocalAddresses::primaryName() const {
  static const std::string kLocalhost = "localhost";
  return hostnames_.empty() ? kLocalhost : hostnames_.front();
}

bool LocalAddresses::isMyHost(std::string_view host) const {
  for (const auto& h : hostnames_) {
    if (chars::iequals(h, host)) return true;
  }
  auto ep = Endpoint::fromAddress(host, 0);
  if (!ep) return false;
  for (const auto& l : listeners_) {
    if (l.address.family() != ep->family()) continue;
    Endpoint a = l.address;
    a.setPort(0);
    if (a == *ep) return true;
    if (isWildcard(l.address) && ep->isLoopback()) return true;
  }
  return false;
}

bool LocalAddresses::isMe(const Uri& uri) const {
  if (!uri.isSip()) return false;
  if (!isMyHost(uri.host)) return false;
  if (!uri.port) return true;
  for (const auto& l : listeners_) {
    if (l.address.port() == *uri.port) return true;
  }
  return false;
}

const LocalListener* LocalAddresses::pick(Transport t, Endpoint::Family family) const {
  const LocalListener* any = nullptr;
  for (const auto& l : listeners_) {
    if (l.transport != t) continue;
    if (l.address.family() == family) return &l;
    if (any == nullptr) any = &l;
  }
  return any;
}

std::string LocalAddresses::sentBy(Transport t, Endpoint::Family family) const {
  const LocalListener* l = pick(t, family);
  if (l == nullptr) return primaryName();
  std::string host = isWildcard(l->address) ? primaryName()
                     : l->address.family() == Endpoint::Family::V6
                         ? "[" + l->address.address() + "]"
                         : l->address.address();
  return host + ":" + std::to_string(l->address.port());
}

std::string LocalAddresses::recordRoute(Transport t, Endpoint::Family family) const {
  std::string uri = "<sip:" + sentBy(t, family);
  if (t != Transport::Udp) {
    uri += ";transport=";
    uri += t == Transport::Tcp ? "tcp" : "tls";
  }
  uri += ";lr>";
  return uri;
}

}  // namespace herald::sip
