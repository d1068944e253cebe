#pragma once

// Character classes of the RFC 3261 §25 grammar, as one constexpr table.

#include <array>
#include <cstdint>
#include <string_view>

namespace herald::sip::chars {

enum Class : uint16_t {
  kAlpha = 1 << 0,
  kDigit = 1 << 1,
  kHex = 1 << 2,
  kToken = 1 << 3,  // token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
  kUnreserved = 1 << 4,    // alphanum / mark
  kUserExtra = 1 << 5,     // user-unreserved: "&" "=" "+" "$" "," ";" "?" "/"
  kPassExtra = 1 << 6,     // password: "&" "=" "+" "$" ","
  kParamExtra = 1 << 7,    // param-unreserved: "[" "]" "/" ":" "&" "+" "$"
  kHnvExtra = 1 << 8,      // hnv-unreserved: "[" "]" "/" "?" ":" "+" "$"
  kWord = 1 << 9,          // Call-ID word
  kReserved = 1 << 10,     // reserved: ";" "/" "?" ":" "@" "&" "=" "+" "$" ","
  kWsp = 1 << 11,          // SP / HTAB
  kSchemeExtra = 1 << 12,  // scheme: "+" "-" "."
  kHostname = 1 << 13,     // alphanum "-" "." (and "_" tolerated)
};

namespace detail {
constexpr std::array<uint16_t, 256> buildTable() {
  std::array<uint16_t, 256> t{};
  auto add = [&t](std::string_view set, uint16_t cls) {
    for (char c : set) {
      t[static_cast<unsigned char>(c)] |= cls;
    }
  };
  for (int c = 'a'; c <= 'z'; ++c) {
    t[c] |= kAlpha | kToken | kUnreserved | kWord | kHostname;
    t[c - 'a' + 'A'] |= kAlpha | kToken | kUnreserved | kWord | kHostname;
  }
  for (int c = '0'; c <= '9'; ++c) {
    t[c] |= kDigit | kHex | kToken | kUnreserved | kWord | kHostname;
  }
  add("abcdefABCDEF", kHex);
  add("-.!%*_+`'~", kToken);
  add("-_.!~*'()", kUnreserved);
  add("&=+$,;?/", kUserExtra);
  add("&=+$,", kPassExtra);
  add("[]/:&+$", kParamExtra);
  add("[]/?:+$", kHnvExtra);
  add("-.!%*_+`'~()<>:\\\"/[]?{}", kWord);
  add(";/?:@&=+$,", kReserved);
  add(" \t", kWsp);
  add("+-.", kSchemeExtra);
  add("-._", kHostname);
  return t;
}
}  // namespace detail

inline constexpr std::array<uint16_t, 256> kTable = detail::buildTable();

constexpr bool is(char c, uint16_t cls) {
  return (kTable[static_cast<unsigned char>(c)] & cls) != 0;
}
constexpr bool isDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool isAlpha(char c) { return is(c, kAlpha); }
constexpr bool isHex(char c) { return is(c, kHex); }
constexpr bool isToken(char c) { return is(c, kToken); }
constexpr bool isWsp(char c) { return c == ' ' || c == '\t'; }
constexpr bool isUtf8NonAscii(char c) { return static_cast<unsigned char>(c) >= 0x80; }

constexpr char toLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

constexpr int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ASCII case-insensitive equality.
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (toLower(a[i]) != toLower(b[i])) return false;
  }
  return true;
}

// ASCII case-insensitive prefix test.
constexpr bool istartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// True if every byte of s has one of the classes, or is a valid %HH escape when
// allow_escaped is set. Empty strings pass.
constexpr bool allOf(std::string_view s, uint16_t cls, bool allow_escaped) {
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && allow_escaped) {
      if (i + 2 >= s.size()) return false;
      if (!isHex(s[i + 1]) || !isHex(s[i + 2])) return false;
      i += 2;
      continue;
    }
    if (!is(c, cls)) return false;
  }
  return true;
}

}  // namespace herald::sip::chars
