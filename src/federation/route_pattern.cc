#include "federation/route_pattern.h"

#include <algorithm>
#include <array>

#include <fmt/core.h>

namespace herald::fed {
namespace {

constexpr size_t kMaxLabelLength = 63;
constexpr size_t kMaxNameLength = 253;

bool isLdh(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool isAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

Error nonAscii(std::string_view what, std::string_view text) {
  return invalidArgument(fmt::format(
      "{} '{}' contains non-ASCII characters: write internationalised domain names as IDNA "
      "A-labels, e.g. 'xn--bcher-kva.example' for 'bücher.example' (idn2 prints the form)",
      what, text));
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::string join(const std::vector<std::string_view>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      out += sep;
    }
    out += parts[i];
  }
  return out;
}

// Whether `label` is probably a top-level domain: used only to word a suggestion.
bool looksLikeTld(std::string_view label) {
  static constexpr std::array<std::string_view, 10> kGeneric = {
      "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "test"};
  return label.size() == 2 || std::find(kGeneric.begin(), kGeneric.end(), label) != kGeneric.end();
}

// The error for natural-looking input that ends in ".*", like "domaina.com.*".
Error wrongOrder(std::string_view text) {
  std::string_view body = text.substr(0, text.size() - 2);
  std::vector<std::string_view> labels = split(body, '.');
  if (labels.size() > 1 && looksLikeTld(labels.front()) && !looksLikeTld(labels.back())) {
    std::vector<std::string_view> natural(labels.rbegin(), labels.rend());
    return invalidArgument(fmt::format(
        "domain pattern '{}' lacks the leading '.' of the reversed form: write '.{}' ({} and "
        "the names below it; natural form '*.{}')",
        text, text, join(natural, "."), join(natural, ".")));
  }
  std::vector<std::string_view> reversed(labels.rbegin(), labels.rend());
  return invalidArgument(fmt::format(
      "domain pattern '{}' is in the wrong order: the reversed form starts with the top-level "
      "label, so {} and the names below it is '.{}.*' (or write '*.{}')",
      text, body, join(reversed, "."), body));
}

// Checks one label of a domain pattern and appends it, with `**` runs collapsed.
Result<void> appendDomainLabel(std::string_view label, std::string_view text, std::string* out) {
  if (label.empty()) {
    return unexpected(invalidArgument(fmt::format(
        "domain pattern '{}' has an empty label (two dots in a row, or a dot at an end of the "
        "natural form)",
        text)));
  }
  if (label.size() > kMaxLabelLength) {
    return unexpected(invalidArgument(fmt::format(
        "domain pattern '{}': label '{}' is {} characters long; a DNS label has at most 63", text,
        label, label.size())));
  }
  for (size_t i = 0; i < label.size(); ++i) {
    char c = label[i];
    if (c == '\\') {
      if (i + 1 == label.size() || label[i + 1] != '*') {
        return unexpected(invalidArgument(fmt::format(
            "domain pattern '{}': '\\' escapes only '*' ('\\*' is a literal star)", text)));
      }
      *out += "\\*";
      ++i;
    } else if (c == '*') {
      if (out->empty() || out->back() != '*' || (out->size() >= 2 && (*out)[out->size() - 2] == '\\')) {
        *out += '*';
      }
    } else if (isLdh(c)) {
      *out += c;
    } else {
      return unexpected(invalidArgument(fmt::format(
          "domain pattern '{}': character '{}' is not allowed (letters, digits, '-', '.', '*' "
          "and '\\*' are)",
          text, c)));
    }
  }
  return {};
}

// Builds the canonical reversed form from labels in reversed order (top-level first).
Result<std::string> canonicalDomain(std::vector<std::string_view> labels, bool open,
                                    std::string_view text) {
  // `.com.a.*.` and `.com.a.*.*` match the same keys (names strictly below a.com); keep the
  // second so that the natural form `*.*.a.com` reads back to it.
  if (!open && !labels.empty() && !labels.back().empty() &&
      labels.back().find_first_not_of('*') == std::string_view::npos) {
    open = true;
  }
  if (labels.empty() && !open) {
    return unexpected(invalidArgument(fmt::format(
        "domain pattern '{}' matches no domain; '.*' (natural '*') is every domain", text)));
  }
  std::string out = ".";
  for (std::string_view label : labels) {
    HERALD_TRY(appendDomainLabel(label, text, &out));
    out += '.';
  }
  if (open) {
    out += '*';
  }
  if (out.size() > kMaxPatternLength) {
    return unexpected(invalidArgument(fmt::format(
        "domain pattern '{}' is {} characters long in reversed form; at most {}", text,
        out.size(), kMaxPatternLength)));
  }
  return out;
}

Result<std::string> parseDomainText(std::string_view text) {
  if (text == "(*.)") {
    return std::string(".*");
  }
  if (text.front() == '.') {
    if (text == ".") {
      return unexpected(invalidArgument(
          "domain pattern '.' matches no domain; '.*' (natural '*') is every domain"));
    }
    std::vector<std::string_view> parts = split(text.substr(1), '.');
    std::string_view last = parts.back();
    if (last != "" && last != "*") {
      return unexpected(invalidArgument(fmt::format(
          "reversed domain pattern '{}' must end with '.' (exactly that domain) or '.*' (the "
          "domain and the names below it): write '{}.*' or '{}.'",
          text, text, text)));
    }
    parts.pop_back();
    return canonicalDomain(std::move(parts), last == "*", text);
  }
  if (text.size() >= 2 && text.substr(text.size() - 2) == ".*" &&
      (text.size() < 3 || text[text.size() - 3] != '\\')) {
    return unexpected(wrongOrder(text));
  }
  std::string_view name = text;
  if (name.back() == '.') {
    name.remove_suffix(1);  // an absolute name, "domaina.com."
  }
  if (name.empty()) {
    return unexpected(
        invalidArgument(fmt::format("domain pattern '{}' names no domain", text)));
  }
  std::vector<std::string_view> parts = split(name, '.');
  bool open = parts.front() == "*";
  if (open) {
    parts.erase(parts.begin());
  }
  std::reverse(parts.begin(), parts.end());
  return canonicalDomain(std::move(parts), open, text);
}

Result<void> checkUserPattern(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (i + 1 == text.size() || (text[i + 1] != '*' && text[i + 1] != '.')) {
        return unexpected(invalidArgument(fmt::format(
            "user pattern '{}': '\\' escapes only '*' and '.' ('\\*', '\\.' are literals)",
            text)));
      }
      ++i;
    } else if (c == '*' && i + 1 != text.size()) {
      return unexpected(invalidArgument(fmt::format(
          "user pattern '{}': '*' may appear only at the end of a user pattern ('\\*' is a "
          "literal star)",
          text)));
    } else if (c == '@') {
      return unexpected(invalidArgument(fmt::format(
          "user pattern '{}' contains '@': a user route matches the user part of the "
          "Request-URI only; use a domain route for the host",
          text)));
    } else if (c <= ' ' || c == 0x7f) {
      return unexpected(invalidArgument(fmt::format(
          "user pattern '{}' contains a space or control character", text)));
    }
  }
  return {};
}

}  // namespace

std::string_view routeTypeName(RouteType type) {
  return type == RouteType::Domain ? "domain" : "user";
}

Result<std::string> routeKey(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') {
    domain.remove_suffix(1);
  }
  if (domain.empty()) {
    return unexpected(invalidArgument("empty domain name"));
  }
  if (domain.size() > kMaxNameLength) {
    return unexpected(invalidArgument(fmt::format(
        "domain name is {} characters long; at most {}", domain.size(), kMaxNameLength)));
  }
  std::string key;
  key.reserve(domain.size() + 2);
  key += '.';
  size_t end = domain.size();
  while (true) {
    size_t dot = domain.rfind('.', end - 1);
    size_t begin = dot == std::string_view::npos ? 0 : dot + 1;
    if (begin == end) {
      return unexpected(invalidArgument(fmt::format("domain name '{}' has an empty label", domain)));
    }
    if (end - begin > kMaxLabelLength) {
      return unexpected(invalidArgument(
          fmt::format("domain name '{}' has a label over 63 characters", domain)));
    }
    for (size_t i = begin; i < end; ++i) {
      char c = domain[i];
      if (c >= 'A' && c <= 'Z') {
        c = static_cast<char>(c - 'A' + 'a');
      } else if (static_cast<unsigned char>(c) >= 0x80) {
        return unexpected(nonAscii("domain name", domain));
      } else if (!isLdh(c)) {
        return unexpected(invalidArgument(
            fmt::format("domain name '{}' contains '{}' (letters, digits, '-' only)", domain, c)));
      }
      key += c;
    }
    key += '.';
    if (dot == std::string_view::npos) {
      break;
    }
    end = dot;
  }
  return key;
}

RoutePattern::RoutePattern(RouteType type, std::string canonical, std::vector<Token> tokens)
    : type_(type), canonical_(std::move(canonical)), tokens_(std::move(tokens)) {
  bool in_prefix = true;
  for (const Token& t : tokens_) {
    if (t.op == Op::Literal) {
      ++literal_count_;
      if (in_prefix) {
        literal_prefix_ += t.c;
      }
    } else {
      ++wildcards_;
      in_prefix = false;
    }
  }
}

Result<RoutePattern> RoutePattern::parse(std::string_view input, RouteType type) {
  std::string_view text = trim(input);
  std::string_view what = type == RouteType::Domain ? "domain pattern" : "user pattern";
  if (text.empty()) {
    return unexpected(invalidArgument(fmt::format("the {} is empty", what)));
  }
  if (text.size() > kMaxPatternLength) {
    return unexpected(invalidArgument(fmt::format("the {} is {} characters long; at most {}",
                                                  what, text.size(), kMaxPatternLength)));
  }
  if (!isAscii(text)) {
    if (type == RouteType::Domain) {
      return unexpected(nonAscii(what, text));
    }
    return unexpected(invalidArgument(fmt::format(
        "user pattern '{}' contains non-ASCII characters; user patterns are ASCII", text)));
  }
  std::vector<Token> tokens;
  std::string canonical;
  if (type == RouteType::Domain) {
    std::string lower = asciiLower(text);
    auto parsed = parseDomainText(lower);
    if (!parsed) {
      return unexpected(parsed.error());
    }
    canonical = std::move(*parsed);
    for (size_t i = 0; i < canonical.size(); ++i) {
      if (canonical[i] == '\\') {
        tokens.push_back({Op::Literal, canonical[++i]});
      } else if (canonical[i] == '*') {
        tokens.push_back({Op::AnyRun, '*'});
      } else {
        tokens.push_back({Op::Literal, canonical[i]});
      }
    }
  } else {
    HERALD_TRY(checkUserPattern(text));
    canonical = std::string(text);
    for (size_t i = 0; i < canonical.size(); ++i) {
      char c = canonical[i];
      if (c == '\\') {
        tokens.push_back({Op::Literal, canonical[++i]});
      } else if (c == '*') {
        tokens.push_back({Op::AnyRun, '*'});
      } else if (c == '.') {
        tokens.push_back({Op::AnyOne, '.'});
      } else {
        tokens.push_back({Op::Literal, c});
      }
    }
  }
  return RoutePattern(type, std::move(canonical), std::move(tokens));
}

RoutePattern RoutePattern::openFederation() {
  return RoutePattern(RouteType::Domain, ".*", {{Op::Literal, '.'}, {Op::AnyRun, '*'}});
}

bool RoutePattern::labelPrefix() const {
  if (type_ != RouteType::Domain) {
    return false;
  }
  if (wildcards_ == 0) {
    return true;
  }
  size_t n = tokens_.size();
  return wildcards_ == 1 && n >= 2 && tokens_[n - 1].op == Op::AnyRun &&
         tokens_[n - 2].op == Op::Literal && tokens_[n - 2].c == '.';
}

std::string RoutePattern::natural() const {
  if (type_ == RouteType::User) {
    return canonical_;
  }
  if (canonical_ == ".*") {
    return "*";
  }
  std::string_view body(canonical_);
  body.remove_prefix(1);
  bool open = body.back() == '*' && (body.size() < 2 || body[body.size() - 2] == '.');
  body.remove_suffix(open ? 2 : 1);
  std::vector<std::string_view> labels = split(body, '.');
  std::reverse(labels.begin(), labels.end());
  return (open ? "*." : "") + join(labels, ".");
}

bool RoutePattern::matches(std::string_view key) const {
  // Glob match with backtracking to the last `*`: O(pattern x key) at worst.
  size_t p = 0;
  size_t k = 0;
  size_t star = std::string_view::npos;
  size_t mark = 0;
  const size_t n = tokens_.size();
  while (k < key.size()) {
    if (p < n && (tokens_[p].op == Op::AnyOne ||
                  (tokens_[p].op == Op::Literal && tokens_[p].c == key[k]))) {
      ++p;
      ++k;
    } else if (p < n && tokens_[p].op == Op::AnyRun) {
      star = p++;
      mark = k;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      k = ++mark;
    } else {
      return false;
    }
  }
  while (p < n && tokens_[p].op == Op::AnyRun) {
    ++p;
  }
  return p == n;
}

}  // namespace herald::fed
