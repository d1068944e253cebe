#pragma once

// SIP request methods. Method names are case-sensitive (RFC 3261 §7.1); anything else is
// Method::Unknown and keeps its text.

#include <cstdint>
#include <string_view>

namespace herald::sip {

enum class Method : uint8_t {
  Unknown,
  Invite,
  Ack,
  Bye,
  Cancel,
  Options,
  Register,
  Prack,
  Subscribe,
  Notify,
  Publish,
  Info,
  Refer,
  Message,
  Update,
};

Method methodFromName(std::string_view name);
// "INVITE"...; "" for Unknown.
std::string_view methodName(Method m);

}  // namespace herald::sip
