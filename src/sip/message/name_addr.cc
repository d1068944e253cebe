#include "sip/message/name_addr.h"

#include "sip/message/chars.h"
#include "sip/message/internal/grammar.h"
#include "sip/message/internal/scanner.h"

namespace herald::sip {

namespace detail {

bool nextListElement(Scanner& s, bool* more) {
  s.skipLws();
  if (s.atEnd()) {
    *more = false;
    return true;
  }
  if (s.consume(',')) {
    s.skipLws();
    *more = true;
    return !s.atEnd();  // a trailing comma is an empty element
  }
  return false;
}

ParseResult<NameAddr> scanNameAddr(Scanner& s, AddrForm form) {
  s.skipLws();
  NameAddr na;
  size_t start = s.pos();
  // display-name = *(token LWS) / quoted-string, then LAQUOT.
  std::string_view quoted;
  auto q = s.quotedString(&quoted);
  if (q == Scanner::Quoted::Bad) return badRequest("Bad address", "unterminated quoted string");
  bool have_laquot = false;
  if (q == Scanner::Quoted::Ok) {
    na.display_name = quoted;
    s.skipLws();
    if (s.peek() != '<') return badRequest("Bad address", "display name without <URI>");
    have_laquot = true;
  } else {
    size_t name_start = s.pos();
    size_t name_end = name_start;
    while (true) {
      std::string_view t = s.token();
      if (t.empty()) break;
      name_end = s.pos();
      s.skipLws();
    }
    if (s.peek() == '<') {
      // RFC 4475 lwsdisp: no LWS between display name and '<' is accepted.
      na.display_name = s.text().substr(name_start, name_end - name_start);
      have_laquot = true;
    } else {
      s.setPos(name_start);
    }
  }
  if (have_laquot) {
    s.consume('<');
    size_t uri_start = s.pos();
    while (!s.atEnd() && s.peek() != '>') s.setPos(s.pos() + 1);
    if (s.atEnd()) return badRequest("Bad address", "missing '>'");
    std::string_view text = s.since(uri_start);
    if (!text.empty() && (chars::isWsp(text.front()) || chars::isWsp(text.back()))) {
      return badRequest("Bad address", "whitespace inside <>");  // RFC 4475 badaspec
    }
    auto uri = parseUri(text);
    if (!uri) return badRequest("Bad address", uri.error().detail);
    na.uri = *uri;
    na.bracketed = true;
    s.consume('>');
  } else {
    if (form == AddrForm::NameAddrOnly) return badRequest("Bad address", "URI must be in <>");
    // addr-spec: up to the header parameters, the next element or the end. Its URI cannot
    // contain ';', ',' or '?' unless it is in <> (RFC 3261 §20).
    size_t uri_start = s.pos();
    while (!s.atEnd()) {
      char c = s.peek();
      if (c == ';' || c == ',' || chars::isWsp(c) || c == '\r' || c == '\n') break;
      s.setPos(s.pos() + 1);
    }
    std::string_view text = s.since(uri_start);
    if (text.find('?') != std::string_view::npos) {
      return badRequest("Bad address", "URI with headers must be in <>");
    }
    auto uri = parseUri(text);
    if (!uri) return badRequest("Bad address", uri.error().detail);
    na.uri = *uri;
  }
  auto params = scanHeaderParams(s, [&na](const Param& p) {
    if (na.tag.empty() && chars::iequals(p.name, "tag")) na.tag = p.value;
    return true;
  });
  if (!params) return tl::unexpected(params.error());
  na.params = *params;
  na.raw = s.since(start);
  return na;
}

}  // namespace detail

using detail::Scanner;

std::string NameAddr::displayNameUnquoted() const { return unquote(display_name); }

ParseResult<NameAddr> parseNameAddr(std::string_view text, AddrForm form) {
  Scanner s(text);
  auto na = detail::scanNameAddr(s, form);
  if (!na) return na;
  s.skipLws();
  if (!s.atEnd()) return badRequest("Bad address", "unexpected text after address");
  return na;
}

ParseResult<void> parseNameAddrList(std::string_view text, AddrForm form,
                                    std::vector<NameAddr>* out) {
  Scanner s(text);
  bool more = true;
  while (more) {
    auto na = detail::scanNameAddr(s, form);
    if (!na) return tl::unexpected(na.error());
    out->push_back(*na);
    if (!detail::nextListElement(s, &more)) {
      return badRequest("Bad address", "unexpected text after address");
    }
  }
  return {};
}

namespace {

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
bool parseQValue(std::string_view v, uint16_t* out) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return false;
  unsigned value = static_cast<unsigned>(v[0] - '0') * 1000;
  if (v.size() > 1) {
    if (v[1] != '.' || v.size() > 5) return false;
    unsigned scale = 100;
    for (size_t i = 2; i < v.size(); ++i) {
      if (!chars::isDigit(v[i])) return false;
      value += static_cast<unsigned>(v[i] - '0') * scale;
      scale /= 10;
    }
  }
  if (value > 1000) return false;
  *out = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

ParseResult<void> parseContactList(std::string_view text, std::vector<Contact>* out) {
  Scanner s(text);
  s.skipLws();
  if (s.peek() == '*') {
    s.consume('*');
    s.skipLws();
    if (!s.atEnd()) return badRequest("Bad Contact", "'*' must stand alone");
    Contact c;
    c.star = true;
    out->push_back(c);
    return {};
  }
  bool more = true;
  while (more) {
    auto na = detail::scanNameAddr(s, AddrForm::NameAddrOrAddrSpec);
    if (!na) return tl::unexpected(na.error());
    Contact c;
    c.addr = *na;
    if (auto e = na->params.find("expires")) {
      unsigned long long v = 0;
      if (!detail::parseDecimal(e->value, 0xFFFFFFFFull, &v)) {
        return badRequest("Bad Contact", "bad expires parameter");
      }
      c.expires = static_cast<uint32_t>(v);
    }
    if (auto q = na->params.find("q")) {
      uint16_t qv = 0;
      if (!parseQValue(q->value, &qv)) return badRequest("Bad Contact", "bad q parameter");
      c.q = qv;
    }
    out->push_back(c);
    if (!detail::nextListElement(s, &more)) {
      return badRequest("Bad Contact", "unexpected text after address");
    }
  }
  return {};
}

}  // namespace herald::sip
