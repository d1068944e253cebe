#pragma once

// Builders of the error answers of docs/admin-api.md (table "Errors"), so that every resource
// spells a code, status and rule the same way.

#include <string>
#include <string_view>

#include "admin/admin_service.h"
#include "common/error.h"

namespace herald::admin::detail {

// 400 invalid_field, rule `type`: a value of the wrong JSON type.
ApiError wrongType(std::string_view field, std::string message);
// 422 invalid_field: a value of the right type that breaks `rule`.
ApiError brokenRule(std::string_view field, std::string_view rule, std::string message);
// 422 missing_field, rule `required`.
ApiError missingField(std::string_view field);
// 400 unknown_field, rule `known_field`.
ApiError unknownField(std::string_view field);
// 400 invalid_field, rule `range`: a bad query parameter.
ApiError badQuery(std::string_view field, std::string message);
// 400 bad_json.
ApiError badJson(std::string message);
ApiError notFound(std::string message);
ApiError methodNotAllowed();
// 409 conflict; `field`/`rule` only for a duplicate name.
ApiError conflict(std::string message, std::string_view field = "", std::string_view rule = "");
// 412: the object is at `current_version`.
ApiError preconditionFailed(int64_t current_version);
// 500: logs `error` (the message a client sees says only that nothing changed).
ApiError internalError(const Error& error);
// 503 service_failed: `detail` is the node's reason (the listener it could not bind).
ApiError serviceFailed(const std::string& detail);
ApiError unauthorized(std::string message);
ApiError forbidden(std::string message);
// 429 rate_limited with Retry-After `retry_after_s`: too many `what` from one address
// ("failed logins", "wrong passwords").
ApiError rateLimited(int64_t retry_after_s, std::string_view what);

}  // namespace herald::admin::detail
