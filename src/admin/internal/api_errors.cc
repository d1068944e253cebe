#include "admin/internal/api_errors.h"

#include "admin/internal/text_rules.h"
#include "common/log.h"

namespace herald::admin::detail {
namespace {

// A JSON member name goes back to the client as `field`; keep it valid UTF-8.
std::string fieldName(std::string_view field) {
  return utf8Length(field) ? std::string(field) : shown(field);
}

}  // namespace

ApiError wrongType(std::string_view field, std::string message) {
  return ApiError{400, "invalid_field", std::move(message), fieldName(field), "type", ""};
}

ApiError brokenRule(std::string_view field, std::string_view rule, std::string message) {
  return ApiError{422, "invalid_field", std::move(message), fieldName(field), std::string(rule),
                  ""};
}

ApiError missingField(std::string_view field) {
  return ApiError{
      422, "missing_field", std::string(field) + " is required", std::string(field), "required",
      ""};
}

ApiError unknownField(std::string_view field) {
  return ApiError{
      400, "unknown_field", "unknown field '" + shown(field) + "'", fieldName(field), "known_field",
      ""};
}

ApiError badQuery(std::string_view field, std::string message) {
  return ApiError{400, "invalid_field", std::move(message), std::string(field), "range", ""};
}

ApiError badJson(std::string message) {
  return ApiError{400, "bad_json", std::move(message), "", "", ""};
}

ApiError notFound(std::string message) {
  return ApiError{404, "not_found", std::move(message), "", "", ""};
}

ApiError methodNotAllowed() {
  return ApiError{405, "method_not_allowed", "this path does not have that method", "", "", ""};
}

ApiError conflict(std::string message, std::string_view field, std::string_view rule) {
  return ApiError{409, "conflict", std::move(message), std::string(field), std::string(rule), ""};
}

ApiError preconditionFailed(int64_t current_version) {
  return ApiError{412,
                  "precondition_failed",
                  "the object changed since you read it (now version " +
                      std::to_string(current_version) + "); reload and try again",
                  "",
                  "",
                  ""};
}

ApiError internalError(const Error& error) {
  HLOG_ERROR(Admin, "admin request failed, nothing changed: {}", error.toString());
  return ApiError{
      500, "internal_error", "internal error; nothing was changed (see the node log)", "", "", ""};
}

ApiError serviceFailed(const std::string& detail) {
  return ApiError{
      503, "service_failed", "the change could not be applied: " + shown(detail, 512), "", "", ""};
}

ApiError unauthorized(std::string message) {
  return ApiError{401, "unauthorized", std::move(message), "", "", ""};
}

ApiError forbidden(std::string message) {
  return ApiError{403, "forbidden", std::move(message), "", "", ""};
}

ApiError rateLimited(int64_t retry_after_s, std::string_view what) {
  ApiError e{429, "rate_limited", "", "", "", ""};
  e.message = "too many " + std::string(what) + "; wait and try again";
  e.retry_after_s = retry_after_s;
  return e;
}

}  // namespace herald::admin::detail
