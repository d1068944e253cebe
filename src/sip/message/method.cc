#include "sip/message/method.h"

#include <array>
#include <utility>

namespace herald::sip {
namespace {

constexpr std::array<std::pair<std::string_view, Method>, 14> kMethods = {{
    {"INVITE", Method::Invite},
    {"ACK", Method::Ack},
    {"BYE", Method::Bye},
    {"CANCEL", Method::Cancel},
    {"OPTIONS", Method::Options},
    {"REGISTER", Method::Register},
    {"PRACK", Method::Prack},
    {"SUBSCRIBE", Method::Subscribe},
    {"NOTIFY", Method::Notify},
    {"PUBLISH", Method::Publish},
    {"INFO", Method::Info},
    {"REFER", Method::Refer},
    {"MESSAGE", Method::Message},
    {"UPDATE", Method::Update},
}};

}  // namespace

Method methodFromName(std::string_view name) {
  for (const auto& [text, method] : kMethods) {
    if (text == name) {
      return method;
    }
  }
  return Method::Unknown;
}

std::string_view methodName(Method m) {
  for (const auto& [text, method] : kMethods) {
    if (method == m) {
      return text;
    }
  }
  return {};
}

}  // namespace herald::sip
