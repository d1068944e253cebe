#pragma once

// LocalAddresses: who "we" are on the wire. The addresses Herald listens on and the names that
// mean this node, used for Via sent-by, Record-Route, and for recognising our own URIs
// (RFC 3261 §16.4: Route values and strict-router Request-URIs that point at us).

#include <string>
#include <vector>

#include "common/inet.h"
#include "sip/message/transport.h"
#include "sip/message/uri.h"

namespace herald::sip {

struct LocalListener {
  Transport transport = Transport::Udp;
  Endpoint address;  // as bound; a wildcard address (0.0.0.0, ::) is advertised by hostname
};

class LocalAddresses {
 public:
  LocalAddresses() = default;
  LocalAddresses(std::vector<LocalListener> listeners, std::vector<std::string> hostnames);

  // True when the URI's host (and port, when given) is one of ours.
  bool isMe(const Uri& uri) const;
  bool isMyHost(std::string_view host) const;
  // "host:port" to put in a Via or Record-Route for this transport and peer family.
  std::string sentBy(Transport t, Endpoint::Family family) const;
  // "<sip:host:port;transport=tcp;lr>"
  std::string recordRoute(Transport t, Endpoint::Family family) const;
  const std::vector<LocalListener>& listeners() const { return listeners_; }
  // The first hostname (the node's advertised name).
  const std::string& primaryName() const;

 private:
  const LocalListener* pick(Transport t, Endpoint::Family family) const;
  std::vector<LocalListener> listeners_;
  std::vector<std::string> hostnames_;  // lower-case
};

}  // namespace herald::sip
