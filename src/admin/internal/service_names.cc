#include "admin/internal/service_names.h"

namespace herald::admin::detail {

std::string_view serviceName(Service s) {
  switch (s) {
    case Service::SipProxy:
      return "sip-proxy";
    case Service::SipFederation:
      return "sip-federation";
    case Service::Presence:
      return "presence";
  }
  return "";
}

std::string_view serviceDescription(Service s) {
  switch (s) {
    case Service::SipProxy:
      return "SIP listeners for local clients: registrar, IM and routing";
    case Service::SipFederation:
      return "Federation with other domains over mutual TLS (port 5061) and outbound federation";
    case Service::Presence:
      return "Presence: PUBLISH, SUBSCRIBE and NOTIFY";
  }
  return "";
}

std::optional<Service> serviceByName(std::string_view name) {
  for (Service s : kServices) {
    if (serviceName(s) == name) return s;
  }
  return std::nullopt;
}

void setActivated(ServiceSwitches& switches, Service s, bool activated) {
  switch (s) {
    case Service::SipProxy:
      switches.sip_proxy = activated;
      break;
    case Service::SipFederation:
      switches.sip_federation = activated;
      break;
    case Service::Presence:
      switches.presence = activated;
      break;
  }
}

}  // namespace herald::admin::detail
