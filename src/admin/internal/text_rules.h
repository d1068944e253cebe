#pragma once

// The text rules of docs/admin-api.md that several resources share: character counts, control
// characters, domain names, SIP user names, IP literals, and RFC 3339 times.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald::admin::detail {

// Characters (Unicode code points) of UTF-8 text; nullopt when `s` is not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::optional<size_t> utf8Length(std::string_view s);

// C0 controls (including NUL, TAB and LF), DEL and C1 controls (U+0080-U+009F).
// REQUIRES: `s` is valid UTF-8.
bool hasControlCharacters(std::string_view s);

// ASCII lower-case, without one trailing dot: "Example.ORG." -> "example.org".
std::string normalizeDomain(std::string_view s);

// Why a normalized name is not a domain name ("" when it is one): at most 253 characters,
// labels of 1-63 characters from [a-z0-9-], neither starting nor ending with '-'. A single
// label ("localhost") is allowed.
std::string fqdnProblem(std::string_view name);
inline bool isFqdn(std::string_view name) { return fqdnProblem(name).empty(); }

// RFC 3261 user part without escapes, 1-64 characters: letters, digits and
// - _ . ! ~ * ' ( ) & = + $ , ; ? /  (the set of the offline `herald user add`).
bool isSipUser(std::string_view s);

// An IPv4 or IPv6 literal (IPv6 without brackets).
bool isIpLiteral(std::string_view s);

// "2026-12-02T10:15:00Z"
std::string rfc3339(int64_t unix_seconds);

// User input quoted in a message: at most `max` characters, control characters and bytes
// that are not UTF-8 replaced by '?', so that the message is always valid UTF-8.
std::string shown(std::string_view s, size_t max = 64);

// The actor of a login_failed entry: the user name tried, control characters removed, at
// most 64 characters (docs/admin-api.md, Audit log).
std::string failedLoginActor(std::string_view username);

}  // namespace herald::admin::detail
