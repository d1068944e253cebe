// Fuzzes the URI and header-value grammars: parseUri and its comparison and accessors, and the
// name-addr, Via, Contact, parameter and auth grammars on the same bytes. URI equality must be
// reflexive and symmetric.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sip/message/header_types.h"
#include "sip/message/name_addr.h"
#include "sip/message/uri.h"
#include "sip/message/via.h"

using namespace herald::sip;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto uri = parseUri(in)) {
    check(uriEquals(*uri, *uri));
    (void)uri->userUnescaped();
    (void)uri->canonicalAor();
    (void)uri->hostPort();
    (void)uri->transportParam();
    for (const Param& p : uri->params) (void)unescape(p.value);
    // Compare with the same text re-parsed from a copy, and with a prefix of it.
    std::string copy(in);
    auto again = parseUri(copy);
    check(again.has_value() && uriEquals(*uri, *again) && uriEquals(*again, *uri));
    if (size > 1) {
      if (auto prefix = parseUri(in.substr(0, size / 2))) {
        check(uriEquals(*uri, *prefix) == uriEquals(*prefix, *uri));
      }
    }
  }
  if (auto na = parseNameAddr(in)) {
    (void)na->displayNameUnquoted();
    for (const Param& p : na->params) (void)p.unquotedValue();
  }
  std::vector<Via> vias;
  (void)parseViaList(in, &vias);
  std::vector<Contact> contacts;
  (void)parseContactList(in, &contacts);
  if (auto params = HeaderParams::parse(in)) {
    for (const Param& p : *params) (void)p.unquotedValue();
  }
  if (auto auth = parseAuthHeader(in)) (void)auth->find("realm");
  (void)parseCSeq(in);
  (void)parseMediaType(in);
  return 0;
}
