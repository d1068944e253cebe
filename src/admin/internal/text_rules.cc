#include "admin/internal/text_rules.h"

#include <ctime>
#include <string>

#include "common/inet.h"
#include "sip/message/chars.h"

namespace herald::admin::detail {
namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length (0 when invalid) and the code point.
size_t decodeUtf8(std::string_view s, size_t i, char32_t* cp) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(i);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    c = (c << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < kMin[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return n;
}

bool isControl(char32_t c) { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }

// Copies at most `max` code points of `s`, dropping or replacing controls and invalid bytes.
std::string cleaned(std::string_view s, size_t max, bool replace) {
  std::string out;
  size_t kept = 0;
  for (size_t i = 0; i < s.size() && kept < max;) {
    char32_t c = 0;
    size_t n = decodeUtf8(s, i, &c);
    if (n == 0 || isControl(c)) {
      if (replace) {
        out += '?';
        ++kept;
      }
      i += n == 0 ? 1 : n;
      continue;
    }
    out.append(s.substr(i, n));
    ++kept;
    i += n;
  }
  return out;
}

}  // namespace

std::optional<size_t> utf8Length(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++count) {
    char32_t c = 0;
    size_t n = decodeUtf8(s, i, &c);
    if (n == 0) return std::nullopt;
    i += n;
  }
  return count;
}

bool hasControlCharacters(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t c = 0;
    size_t n = decodeUtf8(s, i, &c);
    if (n == 0) return true;  // not UTF-8: the caller broke the REQUIRES; refuse, do not read on
    if (isControl(c)) return true;
    i += n;
  }
  return false;
}

std::string normalizeDomain(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(sip::chars::toLower(c));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string fqdnProblem(std::string_view name) {
  if (name.empty()) return "it is empty";
  if (name.size() > 253) return "it has more than 253 characters";
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return "it has an empty label";
    if (label.size() > 63) return "a label has more than 63 characters";
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return "labels are letters, digits and '-'";
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return "a label neither starts nor ends with '-'";
    }
    if (dot == std::string_view::npos) return "";
    start = dot + 1;
  }
}

bool isSipUser(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         sip::chars::allOf(s, sip::chars::kUnreserved | sip::chars::kUserExtra, false);
}

bool isIpLiteral(std::string_view s) {
  // inet_pton() stops at a NUL; "1.2.3.4\0junk" is not an address.
  return s.find('\0') == std::string_view::npos && Endpoint::fromAddress(s, 0).has_value();
}

std::string rfc3339(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string shown(std::string_view s, size_t max) { return cleaned(s, max, true); }

std::string failedLoginActor(std::string_view username) { return cleaned(username, 64, false); }

}  // namespace herald::admin::detail
