#include "sip/message/header_types.h"

#include "sip/message/chars.h"
#include "sip/message/internal/grammar.h"
#include "sip/message/internal/scanner.h"

namespace herald::sip {

using detail::Scanner;

ParseResult<CSeq> parseCSeq(std::string_view text) {
  Scanner s(text);
  s.skipLws();
  unsigned long long number = 0;
  if (!detail::parseDecimal(s.digits(), 0xFFFFFFFFull, &number)) {
    return badRequest("Bad CSeq", "sequence number missing or larger than 2^32-1");
  }
  if (!s.skipLws()) return badRequest("Bad CSeq", "missing method");
  CSeq cseq;
  cseq.number = static_cast<uint32_t>(number);
  cseq.method_text = s.token();
  if (cseq.method_text.empty()) return badRequest("Bad CSeq", "missing method");
  s.skipLws();
  if (!s.atEnd()) return badRequest("Bad CSeq", "unexpected text after method");
  cseq.method = methodFromName(cseq.method_text);
  return cseq;
}

ParseResult<uint32_t> parseDecimalValue(std::string_view text, uint32_t max) {
  Scanner s(text);
  s.skipLws();
  unsigned long long v = 0;
  if (!detail::parseDecimal(s.digits(), max, &v)) {
    return badRequest("Bad Header", "not a number in range");
  }
  s.skipLws();
  if (!s.atEnd()) return badRequest("Bad Header", "unexpected text after number");
  return static_cast<uint32_t>(v);
}

ParseResult<std::string_view> parseCallId(std::string_view text) {
  Scanner s(text);
  s.skipLws();
  size_t start = s.pos();
  std::string_view word = s.takeWhile(chars::kWord);
  if (word.empty()) return badRequest("Bad Call-ID", "empty");
  if (s.consume('@') && s.takeWhile(chars::kWord).empty()) {
    return badRequest("Bad Call-ID", "empty word after '@'");
  }
  std::string_view id = s.since(start);
  s.skipLws();
  if (!s.atEnd()) return badRequest("Bad Call-ID", "bad character");
  return id;
}

bool MediaType::is(std::string_view type_name, std::string_view subtype_name) const {
  return chars::iequals(type, type_name) && chars::iequals(subtype, subtype_name);
}

namespace {

ParseResult<MediaType> scanMediaType(Scanner& s) {
  s.skipLws();
  MediaType mt;
  mt.type = s.token();
  if (mt.type.empty() || !s.consumeSeparator('/')) {
    return badRequest("Bad Content-Type", "expected type/subtype");
  }
  mt.subtype = s.token();
  if (mt.subtype.empty()) return badRequest("Bad Content-Type", "expected type/subtype");
  auto params = detail::scanHeaderParams(s);
  if (!params) return badRequest("Bad Content-Type", params.error().detail);
  mt.params = *params;
  return mt;
}

}  // namespace

ParseResult<MediaType> parseMediaType(std::string_view text) {
  Scanner s(text);
  auto mt = scanMediaType(s);
  if (!mt) return mt;
  s.skipLws();
  if (!s.atEnd()) return badRequest("Bad Content-Type", "unexpected text after media type");
  return mt;
}

ParseResult<void> parseMediaTypeList(std::string_view text, std::vector<MediaType>* out) {
  Scanner s(text);
  s.skipLws();
  if (s.atEnd()) return {};
  bool more = true;
  while (more) {
    auto mt = scanMediaType(s);
    if (!mt) return badRequest("Bad Accept", mt.error().detail);
    out->push_back(*mt);
    if (!detail::nextListElement(s, &more)) return badRequest("Bad Accept", "expected ','");
  }
  return {};
}

std::string_view Event::id() const {
  auto p = params.find("id");
  return p ? p->value : std::string_view();
}

ParseResult<Event> parseEvent(std::string_view text) {
  Scanner s(text);
  s.skipLws();
  Event e;
  e.package = s.token();  // token includes '.', so templates ("presence.winfo") come along
  if (e.package.empty()) return badRequest("Bad Event", "missing event type");
  auto params = detail::scanHeaderParams(s);
  if (!params) return badRequest("Bad Event", params.error().detail);
  e.params = *params;
  s.skipLws();
  if (!s.atEnd()) return badRequest("Bad Event", "unexpected text");
  return e;
}

ParseResult<SubscriptionState> parseSubscriptionState(std::string_view text) {
  Scanner s(text);
  s.skipLws();
  SubscriptionState st;
  st.state = s.token();
  if (st.state.empty()) return badRequest("Bad Subscription-State", "missing state");
  auto params = detail::scanHeaderParams(s);
  if (!params) return badRequest("Bad Subscription-State", params.error().detail);
  st.params = *params;
  s.skipLws();
  if (!s.atEnd()) return badRequest("Bad Subscription-State", "unexpected text");
  for (const Param& p : st.params) {
    unsigned long long v = 0;
    if (chars::iequals(p.name, "reason")) {
      st.reason = p.value;
    } else if (chars::iequals(p.name, "expires")) {
      if (!detail::parseDecimal(p.value, 0xFFFFFFFFull, &v)) {
        return badRequest("Bad Subscription-State", "bad expires");
      }
      st.expires = static_cast<uint32_t>(v);
    } else if (chars::iequals(p.name, "retry-after")) {
      if (!detail::parseDecimal(p.value, 0xFFFFFFFFull, &v)) {
        return badRequest("Bad Subscription-State", "bad retry-after");
      }
      st.retry_after = static_cast<uint32_t>(v);
    }
  }
  return st;
}

ParseResult<std::string_view> parseEntityTag(std::string_view text) {
  Scanner s(text);
  s.skipLws();
  std::string_view tag = s.token();
  s.skipLws();
  if (tag.empty() || !s.atEnd()) return badRequest("Bad SIP-ETag", "entity-tag must be a token");
  return tag;
}

ParseResult<void> parseTokenList(std::string_view text, std::vector<std::string_view>* out) {
  Scanner s(text);
  s.skipLws();
  if (s.atEnd()) return {};
  bool more = true;
  while (more) {
    std::string_view t = s.token();
    if (t.empty()) return badRequest("Bad Header", "expected a token");
    out->push_back(t);
    if (!detail::nextListElement(s, &more)) return badRequest("Bad Header", "expected ','");
  }
  return {};
}

namespace detail {

bool nextAuthParam(std::string_view raw, size_t* pos, Param* out) {
  Scanner s(raw);
  s.setPos(*pos);
  s.skipLws();
  if (s.atEnd()) return false;
  if (*pos != 0) {
    if (!s.consume(',')) return false;
    s.skipLws();
  }
  std::string_view name = s.token();
  if (name.empty() || !s.consumeSeparator('=')) return false;
  std::string_view value;
  auto q = s.quotedString(&value);
  if (q == Scanner::Quoted::Bad) return false;
  if (q == Scanner::Quoted::No) {
    value = s.token();
    if (value.empty()) return false;
  }
  *out = Param{name, value, true};
  *pos = s.pos();
  return true;
}

}  // namespace detail

std::optional<Param> AuthHeader::find(std::string_view name) const {
  std::optional<Param> found;
  forEach([&](const Param& p) {
    if (!found && chars::iequals(p.name, name)) found = p;
  });
  return found;
}

ParseResult<AuthHeader> parseAuthHeader(std::string_view text) {
  Scanner s(text);
  s.skipLws();
  AuthHeader h;
  h.scheme = s.token();
  if (h.scheme.empty()) return badRequest("Bad Authorization", "missing scheme");
  s.skipLws();
  h.params_raw = s.rest();
  // Validate: every parameter parses and nothing else follows.
  size_t pos = 0;
  Param p;
  while (detail::nextAuthParam(h.params_raw, &pos, &p)) {
  }
  Scanner rest(h.params_raw);
  rest.setPos(pos);
  rest.skipLws();
  if (!rest.atEnd()) return badRequest("Bad Authorization", "malformed auth-param");
  return h;
}

}  // namespace herald::sip
