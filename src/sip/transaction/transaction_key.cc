#include "sip/transaction/transaction_key.h"

#include "sip/message/chars.h"

namespace herald::sip {
namespace {

void appendLower(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(chars::toLower(c));
}

std::string key(const SipMessage& msg, std::string_view method) {
  const Via& via = **msg.topVia();
  std::string k;
  if (via.hasRfc3261Branch()) {
    k.reserve(via.branch.size() + via.host.size() + method.size() + 12);
    k.append(via.branch);
    k.push_back('|');
    appendLower(k, via.host);
    k.push_back(':');
    k.append(std::to_string(via.port.value_or(0)));
    k.push_back('|');
    k.append(method);
    return k;
  }
  // RFC 2543 fallback (§17.2.3): Request-URI, From tag, Call-ID, CSeq number, top Via.
  k = "2543|";
  k.append(msg.requestLine().uri);
  k.push_back('|');
  k.append((*msg.from())->tag);
  k.push_back('|');
  k.append(*msg.callId());
  k.push_back('|');
  k.append(std::to_string((*msg.cseq())->number));
  k.push_back('|');
  k.append(via.raw);
  k.push_back('|');
  k.append(method);
  return k;
}

}  // namespace

std::string serverTransactionKey(const SipMessage& request) {
  std::string_view method = request.requestLine().method_text;
  if (request.method() == Method::Ack) method = "INVITE";
  return key(request, method);
}

std::string inviteKeyFor(const SipMessage& cancel_or_ack) { return key(cancel_or_ack, "INVITE"); }

std::string clientTransactionKey(std::string_view branch, std::string_view method) {
  std::string k(branch);
  k.push_back('|');
  k.append(method == "ACK" ? "INVITE" : method);
  return k;
}

std::string clientTransactionKey(const SipMessage& response) {
  return clientTransactionKey((*response.topVia())->branch, (*response.cseq())->method_text);
}

}  // namespace herald::sip
