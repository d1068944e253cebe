#pragma once

// Scanner: a cursor over one header value for the RFC 3261 §25 grammars. Knows LWS (including
// line folds), tokens, quoted strings and separators with their optional whitespace (SEMI,
// COMMA, EQUAL, SLASH...). Never reads past the view.

#include <cstddef>
#include <string_view>

#include "sip/message/chars.h"

namespace herald::sip::detail {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool atEnd() const { return pos_ >= s_.size(); }
  char peek() const { return atEnd() ? '\0' : s_[pos_]; }
  size_t pos() const { return pos_; }
  void setPos(size_t pos) { pos_ = pos; }
  std::string_view text() const { return s_; }
  std::string_view rest() const { return s_.substr(pos_); }
  std::string_view since(size_t from) const { return s_.substr(from, pos_ - from); }

  // LWS / SWS: any run of SP, HTAB and line folds (CRLF or LF followed by SP/HTAB).
  // Returns true if anything was skipped.
  bool skipLws() {
    size_t start = pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (chars::isWsp(c)) {
        ++pos_;
      } else if (c == '\r' && pos_ + 2 < s_.size() && s_[pos_ + 1] == '\n' &&
                 chars::isWsp(s_[pos_ + 2])) {
        pos_ += 3;
      } else if (c == '\n' && pos_ + 1 < s_.size() && chars::isWsp(s_[pos_ + 1])) {
        pos_ += 2;
      } else {
        break;
      }
    }
    return pos_ != start;
  }

  bool consume(char c) {
    if (!atEnd() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  // SWS c SWS (SEMI, COMMA, EQUAL, SLASH, COLON). Leaves the position unchanged on failure.
  bool consumeSeparator(char c) {
    size_t save = pos_;
    skipLws();
    if (consume(c)) {
      skipLws();
      return true;
    }
    pos_ = save;
    return false;
  }

  // 1*token-char; empty if none.
  std::string_view token() { return takeWhile(chars::kToken); }

  std::string_view takeWhile(uint16_t cls) {
    size_t start = pos_;
    while (pos_ < s_.size() && chars::is(s_[pos_], cls)) {
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

  std::string_view digits() {
    size_t start = pos_;
    while (pos_ < s_.size() && chars::isDigit(s_[pos_])) {
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

  enum class Quoted { No, Ok, Bad };

  // quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE, at the current position.
  // On Ok, *out is the string with its quotes. Bad: unterminated or a forbidden octet.
  Quoted quotedString(std::string_view* out) {
    if (peek() != '"') {
      return Quoted::No;
    }
    size_t start = pos_++;
    while (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        *out = s_.substr(start, pos_ - start);
        return Quoted::Ok;
      }
      if (c == '\\') {
        // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
        if (pos_ + 1 >= s_.size()) return Quoted::Bad;
        unsigned char n = static_cast<unsigned char>(s_[pos_ + 1]);
        if (n == 0x0A || n == 0x0D || n > 0x7F) return Quoted::Bad;
        pos_ += 2;
        continue;
      }
      if (c == '\r' || c == '\n') {
        if (!skipLws()) return Quoted::Bad;  // only a line fold may break a quoted string
        continue;
      }
      // qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
      if (c < 0x20 ? c != '\t' : c == 0x7F) return Quoted::Bad;
      ++pos_;
    }
    return Quoted::Bad;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

// Parses 1*DIGIT into a value no larger than max. False on overflow or non-digits.
inline bool parseDecimal(std::string_view digits, unsigned long long max, unsigned long long* out) {
  if (digits.empty()) return false;
  unsigned long long v = 0;
  for (char c : digits) {
    if (!chars::isDigit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > max) return false;
  }
  *out = v;
  return true;
}

}  // namespace herald::sip::detail
