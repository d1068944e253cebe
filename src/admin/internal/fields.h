#pragma once

// Checks of a request body's members and of list query parameters, in the words of
// docs/admin-api.md: unknown keys are 400 unknown_field, a wrong JSON type 400 rule `type`, a
// missing required member 422 missing_field, a broken rule 422 with the rule's name.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "admin/admin_service.h"

namespace herald::admin::detail {

// Every member a resource knows: writable, read-only (ignored) and identity fields alike.
// Fails on a body that is not an object (400 bad_json) or on the first other key.
ApiResult<void> checkKnownFields(const nlohmann::json& body,
                                 std::span<const std::string_view> known);

// The string member `name`: nullopt when absent (422 missing_field when `required`), 400 rule
// `type` when it is not a string.
ApiResult<std::optional<std::string>> stringMember(const nlohmann::json& body,
                                                   std::string_view name, bool required);

// Free text: at most `max` characters, no control characters (rules `length`, `characters`).
ApiResult<void> checkText(std::string_view field, const std::string& value, size_t max);
// A password: `min`-`max` characters (rule `password_length`), no control characters.
ApiResult<void> checkPassword(std::string_view field, const std::string& value, size_t min,
                              size_t max);
// An identity member sent on update: absent, or the current value (else 422 `immutable`).
// `normalize` maps the sent value before comparing (domain names are compared lower-cased).
ApiResult<void> checkIdentity(const nlohmann::json& body, std::string_view field,
                              const std::string& current,
                              std::string (*normalize)(std::string_view) = nullptr);

// 412 unless the client's If-Match names `version` (no If-Match matches any version).
ApiResult<void> checkIfMatch(const Change& change, int64_t version);

// limit 1-1000 and offset >= 0 (400 rule `range`).
ApiResult<void> checkPaging(const ListQuery& q);
// The value of filter `name`, or "" when absent.
std::string filter(const ListQuery& q, const std::string& name);

}  // namespace herald::admin::detail
