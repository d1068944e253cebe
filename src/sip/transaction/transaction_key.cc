#include "sip/transaction/transaction_key.h"

#include "sip/message/chars.h"

namespace herald::sip {
namespace {

void appendLower(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(chars::toLower(c));
}

void key(const SipMessage& msg, std::string_view method, std::string* out) {
  const Via& via = **msg.topVia();
  std::string& k = *out;
  k.clear();
  if (via.hasRfc3261Branch()) {
    k.append(via.branch);
    k.push_back('|');
    appendLower(k, via.host);
    k.push_back(':');
    k.append(std::to_string(via.port.value_or(0)));
    k.push_back('|');
    k.append(method);
    return;
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
}

}  // namespace

void serverTransactionKey(const SipMessage& request, std::string* out) {
  std::string_view method = request.requestLine().method_text;
  if (request.method() == Method::Ack) method = "INVITE";
  key(request, method, out);
}

std::string serverTransactionKey(const SipMessage& request) {
  std::string k;
  serverTransactionKey(request, &k);
  return k;
}

std::string inviteKeyFor(const SipMessage& cancel_or_ack) {
  std::string k;
  key(cancel_or_ack, "INVITE", &k);
  return k;
}

void clientTransactionKey(std::string_view branch, std::string_view method, std::string* out) {
  out->assign(branch);
  out->push_back('|');
  out->append(method == "ACK" ? "INVITE" : method);
}

std::string clientTransactionKey(std::string_view branch, std::string_view method) {
  std::string k;
  clientTransactionKey(branch, method, &k);
  return k;
}

std::string clientTransactionKey(const SipMessage& response) {
  return clientTransactionKey((*response.topVia())->branch, (*response.cseq())->method_text);
}

}  // namespace herald::sip
