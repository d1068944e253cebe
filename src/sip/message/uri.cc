#include "sip/message/uri.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include "sip/message/chars.h"
#include "sip/message/internal/scanner.h"

namespace herald::sip {
namespace {

constexpr uint16_t kUserChars = chars::kUnreserved | chars::kUserExtra;
constexpr uint16_t kPasswordChars = chars::kUnreserved | chars::kPassExtra;
constexpr uint16_t kHeaderChars = chars::kUnreserved | chars::kHnvExtra;
constexpr uint16_t kUricChars = chars::kUnreserved | chars::kReserved;

tl::unexpected<ParseError> badUri(std::string_view detail) { return badRequest("Bad URI", detail); }

bool parseIPv4(std::string_view s, std::array<uint8_t, 4>* out) {
  size_t part = 0;
  size_t i = 0;
  while (part < 4) {
    size_t start = i;
    unsigned value = 0;
    while (i < s.size() && chars::isDigit(s[i]) && i - start < 3) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
    }
    if (i == start || value > 255) return false;
    (*out)[part++] = static_cast<uint8_t>(value);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

bool parseIPv6(std::string_view s, std::array<uint8_t, 16>* out) {
  char buf[64];
  if (s.empty() || s.size() >= sizeof(buf)) return false;
  for (char c : s) {
    if (!chars::isHex(c) && c != ':' && c != '.') return false;
  }
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  return inet_pton(AF_INET6, buf, out->data()) == 1;
}

bool looksNumeric(std::string_view s) {
  for (char c : s) {
    if (!chars::isDigit(c) && c != '.') return false;
  }
  return true;
}

bool isHostname(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  if (s.back() == '.') s.remove_suffix(1);
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) dot = s.size();
    std::string_view label = s.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!chars::is(c, chars::kHostname) || c == '.') return false;
    }
    start = dot + 1;
  }
  return true;
}

// Parses "host[:port]" (host possibly an IPv6 reference) into the Uri.
ParseResult<void> parseHostPort(std::string_view text, Uri* uri) {
  std::string_view host;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return badUri("unterminated IPv6 reference");
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    std::array<uint8_t, 16> addr;
    if (!parseIPv6(host, &addr)) return badUri("bad IPv6 address");
    uri->host_kind = HostKind::IPv6;
  } else {
    size_t colon = text.find(':');
    host = text.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
    if (!parseHost(host, &uri->host_kind)) return badUri("bad host");
  }
  uri->host = host;
  if (!rest.empty()) {
    if (rest.front() != ':') return badUri("bad host");
    uint16_t port = 0;
    if (!parsePort(rest.substr(1), &port)) return badUri("bad port");
    uri->port = port;
  }
  return {};
}

ParseResult<void> parseSipUri(std::string_view body, Uri* uri) {
  // userinfo: everything before the '@' (no other part of a valid SIP-URI may contain '@').
  size_t at = body.find('@');
  std::string_view rest = body;
  if (at != std::string_view::npos) {
    std::string_view userinfo = body.substr(0, at);
    size_t colon = userinfo.find(':');
    std::string_view user = userinfo.substr(0, colon);
    if (user.empty() || !chars::allOf(user, kUserChars, true)) return badUri("bad user part");
    uri->user = user;
    uri->has_user = true;
    if (colon != std::string_view::npos) {
      std::string_view password = userinfo.substr(colon + 1);
      if (!chars::allOf(password, kPasswordChars, true)) return badUri("bad password");
      uri->password = password;
      uri->has_password = true;
    }
    rest = body.substr(at + 1);
  }
  size_t q = rest.find('?');
  std::string_view before_headers = rest.substr(0, q);
  if (q != std::string_view::npos) {
    std::string_view headers = rest.substr(q + 1);
    // headers = header *( "&" header ); header = hname "=" hvalue
    size_t pos = 0;
    while (true) {
      size_t amp = headers.find('&', pos);
      std::string_view h = headers.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
      size_t eq = h.find('=');
      if (eq == std::string_view::npos || eq == 0 ||
          !chars::allOf(h.substr(0, eq), kHeaderChars, true) ||
          !chars::allOf(h.substr(eq + 1), kHeaderChars, true)) {
        return badUri("bad URI header");
      }
      if (amp == std::string_view::npos) break;
      pos = amp + 1;
    }
    uri->headers = headers;
    uri->has_headers = true;
  }
  size_t semi = before_headers.find(';');
  if (semi != std::string_view::npos && !before_headers.empty() && before_headers[0] == '[') {
    // An IPv6 reference contains no ';', but find the one after the ']'.
    size_t close = before_headers.find(']');
    semi = close == std::string_view::npos ? semi : before_headers.find(';', close);
  }
  auto hostport = parseHostPort(before_headers.substr(0, semi), uri);
  if (!hostport) return tl::unexpected(hostport.error());
  if (semi != std::string_view::npos) {
    auto params = UriParams::parse(before_headers.substr(semi));
    if (!params) return tl::unexpected(params.error());
    uri->params = *params;
  }
  return {};
}

ParseResult<void> parseTelUri(std::string_view body, Uri* uri) {
  size_t semi = body.find(';');
  std::string_view number = body.substr(0, semi);
  std::string_view digits = number;
  bool global = !digits.empty() && digits.front() == '+';
  if (global) digits.remove_prefix(1);
  bool any = false;
  for (char c : digits) {
    bool visual = c == '-' || c == '.' || c == '(' || c == ')';
    bool digit = global ? chars::isDigit(c) : (chars::isHex(c) || c == '*' || c == '#');
    if (!visual && !digit) return badUri("bad telephone number");
    any = any || digit;
  }
  if (!any) return badUri("bad telephone number");
  uri->user = number;
  uri->has_user = true;
  if (semi != std::string_view::npos) {
    auto params = UriParams::parse(body.substr(semi));
    if (!params) return tl::unexpected(params.error());
    uri->params = *params;
  }
  if (!global && !uri->params.has("phone-context")) {
    return badUri("local tel number without phone-context");
  }
  return {};
}

// Digits of a tel number without visual separators, lower-cased.
std::string telDigits(std::string_view number) {
  std::string out;
  for (char c : number) {
    if (c != '-' && c != '.' && c != '(' && c != ')') out.push_back(chars::toLower(c));
  }
  return out;
}

bool isSignificantSipParam(std::string_view name) {
  // RFC 3261 §19.1.4: user, ttl, method and maddr never match when only in one URI; the
  // examples there extend this to transport.
  for (std::string_view p : {"user", "ttl", "method", "maddr", "transport"}) {
    if (unescapedEquals(name, p, true)) return true;
  }
  return false;
}

bool sipParamsEqual(const UriParams& a, const UriParams& b) {
  for (const Param& pa : a) {
    auto pb = b.find(pa.name);
    if (!pb) {
      if (isSignificantSipParam(pa.name)) return false;
      continue;
    }
    if (pa.has_value != pb->has_value || !unescapedEquals(pa.value, pb->value, true)) return false;
  }
  for (const Param& pb : b) {
    if (!a.find(pb.name) && isSignificantSipParam(pb.name)) return false;
  }
  return true;
}

// Every "name=value" of a appears in b (names case-insensitive, values exact after unescaping).
bool headersIncluded(std::string_view a, std::string_view b) {
  size_t pos = 0;
  while (pos <= a.size() && !a.empty()) {
    size_t amp = a.find('&', pos);
    std::string_view h = a.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    size_t eq = h.find('=');
    bool found = false;
    size_t bpos = 0;
    while (bpos <= b.size() && !b.empty()) {
      size_t bamp = b.find('&', bpos);
      std::string_view hb = b.substr(bpos, bamp == std::string_view::npos ? bamp : bamp - bpos);
      size_t beq = hb.find('=');
      if (unescapedEquals(h.substr(0, eq), hb.substr(0, beq), true) &&
          unescapedEquals(h.substr(eq + 1), hb.substr(beq + 1), false)) {
        found = true;
        break;
      }
      if (bamp == std::string_view::npos) break;
      bpos = bamp + 1;
    }
    if (!found) return false;
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return true;
}

bool telParamsEqual(const UriParams& a, const UriParams& b) {
  size_t count_a = 0;
  for (const Param& pa : a) {
    ++count_a;
    auto pb = b.find(pa.name);
    if (!pb || pa.has_value != pb->has_value) return false;
    if (chars::iequals(pa.name, "phone-context")) {
      if (telDigits(unescape(pa.value)) != telDigits(unescape(pb->value))) return false;
    } else if (!unescapedEquals(pa.value, pb->value, true)) {
      return false;
    }
  }
  size_t count_b = 0;
  for ([[maybe_unused]] const Param& pb : b) ++count_b;
  return count_a == count_b;
}

}  // namespace

bool parsePort(std::string_view digits, uint16_t* port) {
  unsigned long long v = 0;
  if (digits.size() > 5 || !detail::parseDecimal(digits, 65535, &v)) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

bool parseHost(std::string_view host, HostKind* kind) {
  if (host.empty()) return false;
  if (looksNumeric(host)) {
    std::array<uint8_t, 4> addr;
    if (!parseIPv4(host, &addr)) return false;
    *kind = HostKind::IPv4;
    return true;
  }
  if (host.find(':') != std::string_view::npos) {
    std::array<uint8_t, 16> addr;
    if (!parseIPv6(host, &addr)) return false;
    *kind = HostKind::IPv6;
    return true;
  }
  if (!isHostname(host)) return false;
  *kind = HostKind::Name;
  return true;
}

bool hostEquals(std::string_view a, HostKind a_kind, std::string_view b, HostKind b_kind) {
  if (a_kind != b_kind) return false;
  switch (a_kind) {
    case HostKind::IPv4: {
      std::array<uint8_t, 4> x, y;
      return parseIPv4(a, &x) && parseIPv4(b, &y) && x == y;
    }
    case HostKind::IPv6: {
      std::array<uint8_t, 16> x, y;
      return parseIPv6(a, &x) && parseIPv6(b, &y) && x == y;
    }
    case HostKind::Name: {
      // A fully qualified name with a trailing dot names the same host.
      if (!a.empty() && a.back() == '.') a.remove_suffix(1);
      if (!b.empty() && b.back() == '.') b.remove_suffix(1);
      return chars::iequals(a, b);
    }
    case HostKind::None:
      return a.empty() && b.empty();
  }
  return false;
}

ParseResult<Uri> parseUri(std::string_view text) {
  Uri uri;
  uri.raw = text;
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return badUri("missing scheme");
  std::string_view scheme = text.substr(0, colon);
  if (!chars::isAlpha(scheme[0]) ||
      !chars::allOf(scheme, chars::kAlpha | chars::kDigit | chars::kSchemeExtra, false)) {
    return badUri("bad scheme");
  }
  uri.scheme_text = scheme;
  std::string_view body = text.substr(colon + 1);
  if (body.empty()) return badUri("empty URI");
  if (chars::iequals(scheme, "sip") || chars::iequals(scheme, "sips")) {
    uri.scheme = scheme.size() == 3 ? UriScheme::Sip : UriScheme::Sips;
    auto r = parseSipUri(body, &uri);
    if (!r) return tl::unexpected(r.error());
  } else if (chars::iequals(scheme, "tel")) {
    uri.scheme = UriScheme::Tel;
    auto r = parseTelUri(body, &uri);
    if (!r) return tl::unexpected(r.error());
  } else {
    uri.scheme = UriScheme::Other;
    // absoluteURI: uric characters (RFC 3261 §25), escapes, and a fragment.
    for (size_t i = 0; i < body.size(); ++i) {
      char c = body[i];
      if (c == '%') {
        if (i + 2 >= body.size() || !chars::isHex(body[i + 1]) || !chars::isHex(body[i + 2])) {
          return badUri("bad escape in URI");
        }
        i += 2;
      } else if (!chars::is(c, kUricChars | chars::kParamExtra) && c != '#') {
        return badUri("bad character in URI");
      }
    }
    uri.opaque = body;
  }
  return uri;
}

std::string Uri::userUnescaped() const { return unescape(user); }

std::string_view Uri::transportParam() const {
  auto p = params.find("transport");
  return p ? p->value : std::string_view();
}

std::string Uri::hostPort() const {
  std::string out;
  if (host_kind == HostKind::IPv6) {
    out.push_back('[');
    out.append(host);
    out.push_back(']');
  } else {
    out.append(host);
  }
  if (port) {
    out.push_back(':');
    out.append(std::to_string(*port));
  }
  return out;
}

std::string Uri::canonicalAor() const {
  std::string out;
  for (char c : scheme_text) out.push_back(chars::toLower(c));
  out.push_back(':');
  if (scheme == UriScheme::Other) {
    out.append(opaque);
    return out;
  }
  if (has_user) {
    out.append(scheme == UriScheme::Tel ? telDigits(user) : unescape(user));
    if (scheme == UriScheme::Tel) return out;
    out.push_back('@');
  }
  std::string hp = hostPort();
  for (char& c : hp) c = chars::toLower(c);
  out.append(hp);
  return out;
}

bool uriEquals(const Uri& a, const Uri& b) {
  if (a.scheme != b.scheme) return false;
  switch (a.scheme) {
    case UriScheme::Sip:
    case UriScheme::Sips:
      if (a.has_user != b.has_user || !unescapedEquals(a.user, b.user, false)) return false;
      if (a.has_password != b.has_password || !unescapedEquals(a.password, b.password, false)) {
        return false;
      }
      if (!hostEquals(a.host, a.host_kind, b.host, b.host_kind)) return false;
      if (a.port != b.port) return false;
      if (!sipParamsEqual(a.params, b.params)) return false;
      if (a.has_headers != b.has_headers) return false;
      return headersIncluded(a.headers, b.headers) && headersIncluded(b.headers, a.headers);
    case UriScheme::Tel:
      if ((a.user.front() == '+') != (b.user.front() == '+')) return false;
      if (telDigits(unescape(a.user)) != telDigits(unescape(b.user))) return false;
      return telParamsEqual(a.params, b.params);
    case UriScheme::Other:
      return chars::iequals(a.scheme_text, b.scheme_text) && a.opaque == b.opaque;
  }
  return false;
}

}  // namespace herald::sip
