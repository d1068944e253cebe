// Fuzzes the SIP message core: datagram parsing, full validation, every typed accessor, the
// editor and response builder (whose output must parse again), the parse -> serialize -> parse
// property, and stream framing over arbitrary chunkings. Crashes, leaks, sanitizer reports and
// broken properties (abort) are findings.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sip/parser/message_editor.h"
#include "sip/parser/message_parser.h"
#include "sip/parser/stream_framer.h"

using namespace herald::sip;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Touches every typed accessor; results are not used beyond not crashing.
void touchAll(const SipMessage& m) {
  if (m.isRequest()) (void)m.requestUri();
  (void)m.vias();
  (void)m.topVia();
  (void)m.from();
  (void)m.to();
  (void)m.callId();
  (void)m.cseq();
  (void)m.maxForwards();
  (void)m.contacts();
  (void)m.routes();
  (void)m.recordRoutes();
  (void)m.contentType();
  (void)m.expires();
  (void)m.minExpires();
  (void)m.event();
  (void)m.subscriptionState();
  (void)m.sipETag();
  (void)m.sipIfMatch();
  (void)m.accept();
  (void)m.tokenList(HeaderId::Supported);
  (void)m.authHeaders(HeaderId::Authorization);
  (void)m.nameAddrList(HeaderId::PAssertedIdentity);
  if (auto a = m.authHeaders(HeaderId::Authorization); a && !a->empty()) {
    (void)(*a)[0].find("nonce");
  }
  if (auto from = m.from(); from) {
    for (const Param& p : (*from)->params) (void)p.unquotedValue();
    (void)(*from)->uri.canonicalAor();
  }
}

std::string headersOf(const SipMessage& m) {
  std::string s;
  for (const HeaderField& h : m.headers()) {
    if (h.id == HeaderId::ContentLength) continue;
    s.append(h.name);
    s.push_back(':');
    s.append(h.value);
    s.push_back('\n');
  }
  return s;
}

void fuzzMessage(std::string_view in) {
  auto msg = MessageParser::parseDatagram(Buffer::copyOf(in));
  if (!msg) return;
  touchAll(*msg);
  if (!validate(*msg, Validation::Full)) return;

  // parse -> serialize -> parse gives the same message.
  std::string out = MessageEditor(*msg).build();
  auto again = MessageParser::parseStream(Buffer::copyOf(out));
  check(again.has_value());
  check(validate(*again, Validation::Full).has_value());
  check(headersOf(*again) == headersOf(*msg));
  check(again->body() == msg->body());
  check(again->startLine() == msg->startLine());

  // Proxy edits keep the message valid.
  MessageEditor ed(*msg);
  ed.pushVia("SIP/2.0/UDP herald.invalid;branch=z9hG4bKfuzz");
  check(ed.popVia().has_value());
  if (auto routes = msg->routes(); routes && !routes->empty()) check(ed.popRoute().has_value());
  (void)ed.decrementMaxForwards();
  ed.pushRecordRoute("<sip:herald.invalid;lr>");
  if (msg->isRequest()) ed.setRequestUri("sip:fuzz@herald.invalid");
  auto edited = MessageParser::parseStream(Buffer::copyOf(ed.build()));
  check(edited.has_value());
  auto vias = edited->vias();
  check(vias.has_value() && !vias->empty() && (*vias)[0].branch == "z9hG4bKfuzz");

  if (msg->isRequest()) {
    auto resp = MessageParser::parseStream(
        Buffer::copyOf(buildResponse(*msg, ResponseSpec{486, "Busy Here", "fz", {}, {}, {}})));
    check(resp.has_value());
    check(validate(*resp, Validation::Basic).has_value());
  }
}

void fuzzStream(std::string_view in) {
  if (in.empty()) return;
  // The first byte picks the chunk size, so the corpus explores partial reads.
  size_t chunk = 1 + static_cast<unsigned char>(in[0]) % 64;
  in.remove_prefix(1);
  ParserLimits limits;
  limits.max_message_bytes = 4096;
  StreamFramer framer(limits);
  size_t consumed = 0;
  size_t emitted = 0;
  for (size_t pos = 0; pos < in.size(); pos += chunk) {
    framer.append(in.substr(pos, chunk));
    while (true) {
      auto item = framer.next();
      if (item.kind == StreamFramer::Kind::NeedMore) break;
      if (item.kind == StreamFramer::Kind::Error) return;
      if (item.kind == StreamFramer::Kind::Message) {
        emitted += item.message.size();
        check(item.message.size() <= limits.max_message_bytes);
        auto m = MessageParser::parseStream(std::move(item.message), limits);
        if (m) touchAll(*m);
      }
    }
    consumed = pos + chunk;
  }
  check(emitted <= consumed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzzMessage(in);
  fuzzStream(in);
  return 0;
}
