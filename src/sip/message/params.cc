#include "sip/message/params.h"

#include "sip/message/chars.h"
#include "sip/message/internal/grammar.h"
#include "sip/message/internal/scanner.h"

namespace herald::sip {

using detail::Scanner;

namespace detail {

bool scanHeaderParam(Scanner& s, Param* out) {
  if (!s.consumeSeparator(';')) return false;
  std::string_view name = s.token();
  if (name.empty()) return false;
  *out = Param{name, {}, false};
  if (s.consumeSeparator('=')) {
    std::string_view value;
    auto q = s.quotedString(&value);
    if (q == Scanner::Quoted::Bad) return false;
    if (q == Scanner::Quoted::No) {
      // gen-value = token / host / quoted-string; a host may be an IPv6 reference, and
      // received= carries a bare IPv6address (RFC 3261 §25).
      size_t start = s.pos();
      while (!s.atEnd() &&
             (chars::isToken(s.peek()) || s.peek() == ':' || s.peek() == '[' || s.peek() == ']')) {
        s.setPos(s.pos() + 1);
      }
      value = s.since(start);
      if (value.empty()) return false;
    }
    out->value = value;
    out->has_value = true;
  }
  return true;
}

}  // namespace detail

namespace {

// One ";pname[=pvalue]" of a URI at s[pos]; sets *next past it. False on grammar error.
bool scanUriParam(std::string_view s, size_t pos, Param* out, size_t* next) {
  if (pos >= s.size() || s[pos] != ';') return false;
  size_t start = pos + 1;
  size_t end = s.find(';', start);
  if (end == std::string_view::npos) end = s.size();
  std::string_view item = s.substr(start, end - start);
  size_t eq = item.find('=');
  std::string_view name = item.substr(0, eq);
  constexpr uint16_t kParamChar = chars::kUnreserved | chars::kParamExtra;
  if (name.empty() || !chars::allOf(name, kParamChar, true)) return false;
  *out = Param{name, {}, false};
  if (eq != std::string_view::npos) {
    std::string_view value = item.substr(eq + 1);
    if (value.empty() || !chars::allOf(value, kParamChar, true)) return false;
    out->value = value;
    out->has_value = true;
  }
  *next = end;
  return true;
}

}  // namespace

std::string Param::unquotedValue() const { return unquote(value); }

ParseResult<HeaderParams> HeaderParams::parse(std::string_view text) {
  Scanner s(text);
  Param p;
  while (true) {
    s.skipLws();
    if (s.atEnd()) break;
    if (!detail::scanHeaderParam(s, &p)) {
      return badRequest("Bad parameter", "malformed header parameter");
    }
  }
  return HeaderParams(text);
}

std::optional<Param> HeaderParams::find(std::string_view name) const {
  for (const Param& p : *this) {
    if (chars::iequals(p.name, name)) return p;
  }
  return std::nullopt;
}

HeaderParams::Iterator HeaderParams::begin() const {
  return Iterator(raw_, raw_.empty() ? std::string_view::npos : 0);
}
HeaderParams::Iterator HeaderParams::end() const { return Iterator(raw_, std::string_view::npos); }

void HeaderParams::Iterator::advance() {
  if (pos_ == std::string_view::npos) return;
  Scanner s(raw_);
  s.setPos(next_);
  s.skipLws();
  if (s.atEnd() || !detail::scanHeaderParam(s, &current_)) {
    pos_ = std::string_view::npos;  // validated at parse time, so this is the end
    return;
  }
  pos_ = next_;
  next_ = s.pos();
}

ParseResult<UriParams> UriParams::parse(std::string_view text) {
  size_t pos = 0;
  Param p;
  while (pos < text.size()) {
    size_t start = pos;
    if (!scanUriParam(text, pos, &p, &pos)) {
      return badRequest("Bad URI", "malformed URI parameter");
    }
    // RFC 3261 §19.1.1: a parameter appears at most once.
    size_t prev_pos = 0;
    Param prev;
    while (prev_pos < start && scanUriParam(text, prev_pos, &prev, &prev_pos)) {
      if (unescapedEquals(prev.name, p.name, true)) {
        return badRequest("Bad URI", "duplicate URI parameter");
      }
    }
  }
  return UriParams(text);
}

std::optional<Param> UriParams::find(std::string_view name) const {
  for (const Param& p : *this) {
    if (unescapedEquals(p.name, name, true)) return p;
  }
  return std::nullopt;
}

UriParams::Iterator UriParams::begin() const {
  return Iterator(raw_, raw_.empty() ? std::string_view::npos : 0);
}
UriParams::Iterator UriParams::end() const { return Iterator(raw_, std::string_view::npos); }

void UriParams::Iterator::advance() {
  if (pos_ == std::string_view::npos) return;
  size_t next = 0;
  if (next_ >= raw_.size() || !scanUriParam(raw_, next_, &current_, &next)) {
    pos_ = std::string_view::npos;
    return;
  }
  pos_ = next_;
  next_ = next;
}

std::string unescape(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '%' && i + 2 < escaped.size() && chars::isHex(escaped[i + 1]) &&
        chars::isHex(escaped[i + 2])) {
      out.push_back(static_cast<char>(chars::hexValue(escaped[i + 1]) * 16 +
                                      chars::hexValue(escaped[i + 2])));
      i += 2;
    } else {
      out.push_back(escaped[i]);
    }
  }
  return out;
}

std::string unquote(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
    return std::string(text);
  }
  std::string out;
  out.reserve(text.size() - 2);
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '\\' && i + 2 < text.size()) {
      ++i;
    }
    out.push_back(text[i]);
  }
  return out;
}

namespace {
// Next unescaped octet of s from *i; advances *i.
inline unsigned char nextOctet(std::string_view s, size_t* i) {
  char c = s[*i];
  if (c == '%' && *i + 2 < s.size() && chars::isHex(s[*i + 1]) && chars::isHex(s[*i + 2])) {
    unsigned char v =
        static_cast<unsigned char>(chars::hexValue(s[*i + 1]) * 16 + chars::hexValue(s[*i + 2]));
    *i += 3;
    return v;
  }
  *i += 1;
  return static_cast<unsigned char>(c);
}
}  // namespace

bool unescapedEquals(std::string_view a, std::string_view b, bool ignore_case) {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() && j < b.size()) {
    unsigned char x = nextOctet(a, &i);
    unsigned char y = nextOctet(b, &j);
    if (ignore_case) {
      x = static_cast<unsigned char>(chars::toLower(static_cast<char>(x)));
      y = static_cast<unsigned char>(chars::toLower(static_cast<char>(y)));
    }
    if (x != y) return false;
  }
  return i == a.size() && j == b.size();
}

}  // namespace herald::sip
