#pragma once

// Transaction matching keys (RFC 3261 §17.1.3, §17.2.3).
//
// Server side: with an RFC 3261 branch (magic cookie), the key is branch + sent-by + method,
// where ACK counts as INVITE; CANCEL has its own transaction. Without it (RFC 2543 peers,
// RFC 4475 badbranch), the key is built from the Request-URI, From tag, Call-ID, CSeq number
// and the top Via.
// Client side: the branch Herald generated + the CSeq method of the response.

#include <string>

#include "sip/message/parse_error.h"
#include "sip/message/sip_message.h"

namespace herald::sip {

// REQUIRES: msg is a request that passed validate(Basic).
std::string serverTransactionKey(const SipMessage& request);
// The same into *out (reusing its capacity on the hot path).
void serverTransactionKey(const SipMessage& request, std::string* out);

// The key of the INVITE server transaction that a CANCEL or ACK refers to.
std::string inviteKeyFor(const SipMessage& cancel_or_ack);

// REQUIRES: msg is a response that passed validate(Basic).
std::string clientTransactionKey(const SipMessage& response);
std::string clientTransactionKey(std::string_view branch, std::string_view method);
void clientTransactionKey(std::string_view branch, std::string_view method, std::string* out);

}  // namespace herald::sip
