#include "sip/message/via.h"

#include "sip/message/chars.h"
#include "sip/message/internal/grammar.h"
#include "sip/message/internal/scanner.h"

namespace herald::sip {

using detail::Scanner;

namespace {

tl::unexpected<ParseError> badVia(std::string_view detail) { return badRequest("Bad Via", detail); }

ParseResult<Via> scanVia(Scanner& s) {
  Via via;
  s.skipLws();
  size_t start = s.pos();
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport
  via.protocol_name = s.token();
  if (via.protocol_name.empty() || !s.consumeSeparator('/')) return badVia("bad sent-protocol");
  via.protocol_version = s.token();
  if (via.protocol_version.empty() || !s.consumeSeparator('/')) {
    return badVia("bad sent-protocol");
  }
  via.transport = s.token();
  if (via.transport.empty()) return badVia("missing transport");
  if (!s.skipLws()) return badVia("missing sent-by");
  // sent-by = host [ COLON port ]
  size_t host_start = s.pos();
  if (s.peek() == '[') {
    while (!s.atEnd() && s.peek() != ']') s.setPos(s.pos() + 1);
    if (!s.consume(']')) return badVia("bad IPv6 reference");
    std::string_view ref = s.since(host_start);
    via.host = ref.substr(1, ref.size() - 2);
    if (!parseHost(via.host, &via.host_kind) || via.host_kind != HostKind::IPv6) {
      return badVia("bad sent-by host");
    }
  } else {
    via.host = s.takeWhile(chars::kHostname);
    if (!parseHost(via.host, &via.host_kind)) return badVia("bad sent-by host");
  }
  if (s.consumeSeparator(':')) {
    uint16_t port = 0;
    if (!parsePort(s.digits(), &port)) return badVia("bad sent-by port");
    via.port = port;
  }
  const char* bad = nullptr;
  auto params = detail::scanHeaderParams(s, [&via, &bad](const Param& p) {
    if (chars::iequals(p.name, "branch")) {
      if (!p.has_value) bad = "empty branch";
      if (via.branch.empty()) via.branch = p.value;  // the first one counts, as for find()
    } else if (chars::iequals(p.name, "received")) {
      HostKind kind;
      if (!p.has_value || !parseHost(p.value, &kind) || kind == HostKind::Name) {
        bad = "received is not an IP address";
      }
      via.received = p.value;
    } else if (chars::iequals(p.name, "rport")) {
      via.rport_requested = true;
      if (p.has_value) {
        uint16_t port = 0;
        if (!parsePort(p.value, &port)) bad = "bad rport";
        via.rport = port;
      }
    } else if (chars::iequals(p.name, "maddr")) {
      HostKind kind;
      if (!p.has_value || !parseHost(p.value, &kind)) bad = "bad maddr";
      via.maddr = p.value;
    } else if (chars::iequals(p.name, "ttl")) {
      unsigned long long ttl = 0;
      if (!p.has_value || !detail::parseDecimal(p.value, 255, &ttl)) bad = "bad ttl";
      via.ttl = static_cast<uint8_t>(ttl);
    }
    return bad == nullptr;
  });
  if (bad != nullptr) return badVia(bad);
  if (!params) return badVia(params.error().detail);
  via.params = *params;
  via.raw = s.since(start);
  return via;
}

}  // namespace

ParseResult<void> parseViaList(std::string_view text, std::vector<Via>* out) {
  Scanner s(text);
  bool more = true;
  while (more) {
    auto via = scanVia(s);
    if (!via) return tl::unexpected(via.error());
    out->push_back(*via);
    if (!detail::nextListElement(s, &more)) return badVia("unexpected text after via-parm");
  }
  return {};
}

}  // namespace herald::sip
