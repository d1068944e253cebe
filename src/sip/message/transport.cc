#include "sip/message/transport.h"

#include "sip/message/chars.h"

namespace herald::sip {

std::optional<Transport> transportFromName(std::string_view name) {
  if (chars::iequals(name, "udp")) return Transport::Udp;
  if (chars::iequals(name, "tcp")) return Transport::Tcp;
  if (chars::iequals(name, "tls")) return Transport::Tls;
  return std::nullopt;
}

}  // namespace herald::sip
