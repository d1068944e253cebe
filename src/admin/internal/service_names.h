#pragma once

// The names of the node's services in the API ("sip-proxy", "sip-federation", "presence"),
// in the order GET /services lists them, and the switches of a Policy by service.

#include <optional>
#include <string_view>

#include "admin/node_control.h"  // the policy types

namespace herald::admin::detail {

std::string_view serviceName(Service s);
std::string_view serviceDescription(Service s);
std::optional<Service> serviceByName(std::string_view name);
void setActivated(ServiceSwitches& switches, Service s, bool activated);

}  // namespace herald::admin::detail
