#pragma once

// Parameter lists held as validated views, scanned on lookup (no allocation).
//
//   HeaderParams p = via.params;            // ";branch=z9hG4bK1;rport"
//   p.find("branch")->value;                // "z9hG4bK1"
//   for (const Param& x : p) { ... }
//
// HeaderParams: generic-param lists of header values (RFC 3261 §25: SEMI token [EQUAL gen-value],
// LWS allowed around separators, gen-value = token / host / quoted-string).
// UriParams: uri-parameters of a SIP-URI (";" pname ["=" pvalue], %HH escapes, no LWS).
// Names compare case-insensitively. Values are returned raw: quoted strings keep their quotes,
// URI values stay escaped.

#include <optional>
#include <string>
#include <string_view>

#include "sip/message/parse_error.h"

namespace herald::sip {

struct Param {
  std::string_view name;
  std::string_view value;  // raw; empty when there is no "=value"
  bool has_value = false;

  // value with surrounding quotes removed and quoted-pairs resolved.
  std::string unquotedValue() const;
};

class HeaderParams {
 public:
  class Iterator;

  HeaderParams() = default;

  // Validates text of the form *(SEMI generic-param) and returns the list over it.
  // The view must outlive the list.
  static ParseResult<HeaderParams> parse(std::string_view text);
  // REQUIRES: text was validated by the same grammar (used by the header parsers, which
  // validate while scanning).
  static HeaderParams fromValidated(std::string_view text) { return HeaderParams(text); }

  bool empty() const { return raw_.empty(); }
  // The parameters as written, starting at the first ';' (may include LWS).
  std::string_view raw() const { return raw_; }

  std::optional<Param> find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name).has_value(); }

  Iterator begin() const;
  Iterator end() const;

 private:
  explicit HeaderParams(std::string_view raw) : raw_(raw) {}
  std::string_view raw_;
};

class HeaderParams::Iterator {
 public:
  const Param& operator*() const { return current_; }
  const Param* operator->() const { return &current_; }
  Iterator& operator++() {
    advance();
    return *this;
  }
  bool operator==(const Iterator& o) const { return pos_ == o.pos_; }

 private:
  friend class HeaderParams;
  Iterator(std::string_view raw, size_t pos) : raw_(raw), pos_(pos) { advance(); }
  void advance();

  std::string_view raw_;
  size_t pos_;       // npos at end
  size_t next_ = 0;  // where the following parameter starts
  Param current_;
};

class UriParams {
 public:
  class Iterator;

  UriParams() = default;

  // Validates text of the form *(";" uri-parameter), escapes included.
  static ParseResult<UriParams> parse(std::string_view text);

  bool empty() const { return raw_.empty(); }
  std::string_view raw() const { return raw_; }

  // Finds by name, comparing unescaped names case-insensitively ("%6C%72" finds "lr").
  std::optional<Param> find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name).has_value(); }

  Iterator begin() const;
  Iterator end() const;

 private:
  explicit UriParams(std::string_view raw) : raw_(raw) {}
  std::string_view raw_;
};

class UriParams::Iterator {
 public:
  const Param& operator*() const { return current_; }
  const Param* operator->() const { return &current_; }
  Iterator& operator++() {
    advance();
    return *this;
  }
  bool operator==(const Iterator& o) const { return pos_ == o.pos_; }

 private:
  friend class UriParams;
  Iterator(std::string_view raw, size_t pos) : raw_(raw), pos_(pos) { advance(); }
  void advance();

  std::string_view raw_;
  size_t pos_;
  size_t next_ = 0;
  Param current_;
};

// Resolves %HH escapes. Embedded NULs are kept (RFC 4475 escnull).
std::string unescape(std::string_view escaped);

// Removes the quotes of a quoted-string and resolves quoted-pairs; other text is returned as is.
std::string unquote(std::string_view text);

// Compares two escaped strings as their unescaped octets, without allocating.
bool unescapedEquals(std::string_view a, std::string_view b, bool ignore_case);

}  // namespace herald::sip
