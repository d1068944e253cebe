#include "admin/internal/fields.h"

#include <algorithm>

#include "admin/internal/api_errors.h"
#include "admin/internal/text_rules.h"

namespace herald::admin::detail {

ApiResult<void> checkKnownFields(const nlohmann::json& body,
                                 std::span<const std::string_view> known) {
  if (!body.is_object()) return tl::unexpected(badJson("the body must be a JSON object"));
  for (const auto& [key, value] : body.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return tl::unexpected(unknownField(key));
    }
  }
  return {};
}

ApiResult<std::optional<std::string>> stringMember(const nlohmann::json& body,
                                                   std::string_view name, bool required) {
  auto it = body.find(name);
  if (it == body.end()) {
    if (required) return tl::unexpected(missingField(name));
    return std::optional<std::string>();
  }
  if (!it->is_string()) {
    return tl::unexpected(wrongType(name, std::string(name) + " must be a string"));
  }
  return std::optional<std::string>(it->get_ref<const std::string&>());
}

ApiResult<void> checkText(std::string_view field, const std::string& value, size_t max) {
  auto length = utf8Length(value);
  if (!length || hasControlCharacters(value)) {
    return tl::unexpected(brokenRule(field, "characters",
                                     std::string(field) + " must not contain control characters"));
  }
  if (*length > max) {
    return tl::unexpected(brokenRule(
        field, "length",
        std::string(field) + " must have at most " + std::to_string(max) + " characters"));
  }
  return {};
}

ApiResult<void> checkPassword(std::string_view field, const std::string& value, size_t min,
                              size_t max) {
  auto length = utf8Length(value);
  if (length && (*length < min || *length > max)) {
    return tl::unexpected(brokenRule(field, "password_length",
                                     "the password must have " + std::to_string(min) + " to " +
                                         std::to_string(max) + " characters"));
  }
  if (!length || hasControlCharacters(value)) {
    return tl::unexpected(
        brokenRule(field, "characters", "the password must not contain control characters"));
  }
  return {};
}

ApiResult<void> checkIdentity(const nlohmann::json& body, std::string_view field,
                              const std::string& current,
                              std::string (*normalize)(std::string_view)) {
  auto sent = stringMember(body, field, false);
  if (!sent) return tl::unexpected(sent.error());
  if (!*sent) return {};
  std::string value = normalize != nullptr ? normalize(**sent) : **sent;
  if (value != current) {
    return tl::unexpected(
        brokenRule(field, "immutable",
                   std::string(field) + " cannot be changed (it is '" + shown(current) + "')"));
  }
  return {};
}

ApiResult<void> checkIfMatch(const Change& change, int64_t version) {
  if (change.if_match && *change.if_match != version) {
    return tl::unexpected(preconditionFailed(version));
  }
  return {};
}

ApiResult<void> checkPaging(const ListQuery& q) {
  if (q.limit < 1 || q.limit > 1000) {
    return tl::unexpected(badQuery("limit", "limit must be 1 to 1000"));
  }
  if (q.offset < 0) return tl::unexpected(badQuery("offset", "offset must be 0 or more"));
  return {};
}

std::string filter(const ListQuery& q, const std::string& name) {
  auto it = q.filters.find(name);
  return it == q.filters.end() ? std::string() : it->second;
}

}  // namespace herald::admin::detail
