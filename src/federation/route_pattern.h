#pragma once

// RoutePattern: the destination pattern of a static route (spec F10, §4.2), parsed, validated
// and held in its canonical form. Plain data; any thread may read a const one.
//
//   auto p = RoutePattern::parse("domaina.com", RouteType::Domain);   // natural form, exact
//   p->reversed();   // ".com.domaina."
//   auto q = RoutePattern::parse(".com.domaina.*", RouteType::Domain);  // incumbent's form
//   q->natural();    // "*.domaina.com"
//   q->matches(*routeKey("x.domaina.com"));   // true
//
// Domain patterns are matched against the route key of §2 step 3 (`routeKey()`:
// "x.domaina.com" -> ".com.domaina.x."), as a glob anchored at both ends:
//   - `.` is a literal, `*` is any run of characters (dots included), `\*` a literal star;
//   - `.com.domaina.*`  matches domaina.com and every name below it, not domainab.com;
//   - `.com.domaina.`   matches exactly domaina.com;
//   - `.*`              the predefined open-federation pattern (F22): every domain.
// The natural form is the reversed one read backwards: `domaina.com` is `.com.domaina.`, and a
// leading `*` label is the open tail, so `*.domaina.com` is `.com.domaina.*` (the domain itself
// included, as in the incumbent's form) and `*` alone is `.*`. Labels are LDH (A-labels for
// internationalised names), lowercased; `*` may appear inside a label (`.com.sip*.`).
//
// User patterns match the Request-URI user part, case-sensitively (RFC 3261 §19.1.4):
// `.` is exactly one character, `*` any run and only at the end, `\*` and `\.` literals.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policy/static_route.h"

namespace herald::fed {

using policy::RouteType;

std::string_view routeTypeName(RouteType type);  // "user", "domain"

// Longest pattern, description and next hop (F10).
inline constexpr size_t kMaxPatternLength = 255;

// The §2 step 3 key of a domain: "." + labels reversed + ".", after §2 step 0 normalisation
// (lowercase, one trailing dot stripped). "DomainA.com." -> ".com.domaina.".
// Error (InvalidArgument) for an empty name, an empty label, a label over 63 characters, a
// name over 253, a character outside LDH, or non-ASCII (with a hint at the xn-- form).
[[nodiscard]] Result<std::string> routeKey(std::string_view domain);

class RoutePattern {
 public:
  // Parses `text` as a pattern of `type`. Domain patterns are accepted in reversed form (they
  // start with '.') or in natural form, and `(*.)` as the open-federation pattern. The error
  // (InvalidArgument) says what is wrong and, where it can, what to write instead.
  [[nodiscard]] static Result<RoutePattern> parse(std::string_view text, RouteType type);

  // The predefined open-federation pattern `.*` (F22).
  static RoutePattern openFederation();

  RouteType type() const { return type_; }
  // The canonical form, as stored: reversed for domain patterns (".com.domaina.*").
  const std::string& canonical() const { return canonical_; }
  // Domain patterns: the reversed form (same as canonical()).
  const std::string& reversed() const { return canonical_; }
  // Domain patterns: the natural form ("*.domaina.com"; "*" for `.*`). User patterns: as is.
  std::string natural() const;

  bool isOpenFederation() const { return type_ == RouteType::Domain && canonical_ == ".*"; }
  // True when the pattern has no wildcard at all (matches one key only).
  bool exact() const { return wildcards_ == 0; }
  // Domain patterns whose only wildcard is a final `*` after a '.', or none: `.com.a.*`,
  // `.com.a.`, `.*`. These go into the route table's label trie.
  bool labelPrefix() const;
  // The literal part before the first wildcard, unescaped (".com.domaina." for
  // ".com.domaina.*"): the trie key of a labelPrefix() pattern. Its length is the specificity
  // of §2 step 3 i.
  const std::string& literalPrefix() const { return literal_prefix_; }
  // Number of literal characters in the whole pattern (a tie-breaker after the prefix).
  size_t literalCount() const { return literal_count_; }

  // Domain patterns: `key` is a routeKey(). User patterns: `key` is the user part.
  bool matches(std::string_view key) const;

  bool operator==(const RoutePattern& o) const {
    return type_ == o.type_ && canonical_ == o.canonical_;
  }

 private:
  // One element of the compiled pattern.
  enum class Op : uint8_t { Literal, AnyOne, AnyRun };
  struct Token {
    Op op;
    char c;
  };

  RoutePattern(RouteType type, std::string canonical, std::vector<Token> tokens);

  RouteType type_ = RouteType::User;
  std::string canonical_;
  std::vector<Token> tokens_;
  std::string literal_prefix_;
  size_t literal_count_ = 0;
  size_t wildcards_ = 0;
};

}  // namespace herald::fed
