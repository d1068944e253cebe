#include "admin/http_handler.h"

#include <strings.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>
#include <string_view>

#include "admin/internal/percent.h"
#include "admin/web_assets.h"
#include "common/inet.h"
#include "common/log.h"

namespace herald::admin {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view kApiPrefix = "/api/v1/";
// Deeper JSON than this is refused as bad_json: no request of the API nests more than 3.
constexpr int kMaxJsonDepth = 32;

// ---------------------------------------------------------------------------------------------
// Small text helpers

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

bool hasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

// `s` as one path segment, escaped as RFC 3986 pchar needs: '/', '?', '%', '#' and anything
// outside printable ASCII.
std::string encodeSegment(std::string_view s) { return detail::percentEncode(s, "!$&'()*+,;=:@"); }

// A decimal integer of at most 18 digits (no sign), or nullopt.
std::optional<int64_t> parseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return v;
}

std::string rfc3339(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

// Quoted text for a message: at most 64 characters, control characters dropped.
std::string quote(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 64)) {
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) out.push_back(c);
  }
  if (s.size() > 64) out += "...";
  return out + "'";
}

// ---------------------------------------------------------------------------------------------
// Answers

const char* defaultCode(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 408:
      return "request_timeout";
    case 409:
      return "conflict";
    case 412:
      return "precondition_failed";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    case 415:
      return "unsupported_media_type";
    case 421:
      return "misdirected_request";
    case 429:
      return "rate_limited";
    case 503:
      return "service_failed";
    default:
      return "internal_error";
  }
}

ApiError apiError(int status, std::string code, std::string message, std::string field = "",
                  std::string rule = "") {
  return ApiError{status,           std::move(code), std::move(message),
                  std::move(field), std::move(rule), ""};
}

void addCommonHeaders(HttpResponse& r, std::string_view cache_control) {
  r.headers.emplace_back("Cache-Control", std::string(cache_control));
  for (const auto& h : securityHeaders()) r.headers.push_back(h);
}

template <class Json>
HttpResponse jsonResponse(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  // Strings that are not UTF-8 (they cannot come from a parsed request) are replaced, not
  // thrown on.
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  addCommonHeaders(r, "no-store");
  return r;
}

HttpResponse noContent() {
  HttpResponse r;
  r.status = 204;
  addCommonHeaders(r, "no-store");
  return r;
}

void setETag(HttpResponse& r, int64_t version) {
  if (version > 0) r.headers.emplace_back("ETag", "\"" + std::to_string(version) + "\"");
}

// ---------------------------------------------------------------------------------------------
// Request parts

// The bearer token of `Authorization: Bearer <token>` (RFC 6750 §2.1), or "".
std::string bearerToken(const HttpHeaders& headers) {
  if (headers.count("Authorization") != 1) return "";
  std::string_view v = trim(headers.find("Authorization")->second);
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() || !equalsNoCase(v.substr(0, kScheme.size()), kScheme) ||
      v[kScheme.size()] != ' ') {
    return "";
  }
  std::string_view token = trim(v.substr(kScheme.size() + 1));
  size_t i = 0;
  while (i < token.size() &&
         (std::isalnum(static_cast<unsigned char>(token[i])) ||
          std::string_view("-._~+/").find(token[i]) != std::string_view::npos)) {
    ++i;
  }
  while (i < token.size() && token[i] == '=') ++i;
  if (i == 0 || i != token.size()) return "";
  return std::string(token);
}

// application/json, with no charset or charset=utf-8 (other parameters are ignored).
bool isJsonContentType(const HttpHeaders& headers) {
  if (headers.count("Content-Type") != 1) return false;
  std::string_view v = headers.find("Content-Type")->second;
  size_t semi = v.find(';');
  if (!equalsNoCase(trim(v.substr(0, semi)), "application/json")) return false;
  while (semi != std::string_view::npos) {
    v.remove_prefix(semi + 1);
    semi = v.find(';');
    std::string_view param = trim(v.substr(0, semi));
    size_t eq = param.find('=');
    if (!equalsNoCase(trim(param.substr(0, eq)), "charset")) continue;
    std::string_view value = eq == std::string_view::npos ? "" : trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!equalsNoCase(value, "utf-8")) return false;
  }
  return true;
}

// One JSON object; bad_json for invalid JSON, a duplicate key, too deep a nesting or another
// top-level value.
ApiResult<json> parseJsonObject(const std::string& body) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  bool has_duplicate = false;
  bool too_deep = false;
  json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        too_deep = too_deep || depth > kMaxJsonDepth;
        break;
      case json::parse_event_t::array_start:
        too_deep = too_deep || depth > kMaxJsonDepth;
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() && !has_duplicate &&
            !open_objects.back().insert(parsed.get<std::string>()).second) {
          has_duplicate = true;
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json value = json::parse(body, check, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return tl::unexpected(apiError(400, "bad_json", "the body is not valid JSON"));
  }
  if (has_duplicate) {
    return tl::unexpected(
        apiError(400, "bad_json", "the body has the key " + quote(duplicate) + " twice"));
  }
  if (too_deep) {
    return tl::unexpected(apiError(400, "bad_json", "the body nests too deeply"));
  }
  if (!value.is_object()) {
    return tl::unexpected(apiError(400, "bad_json", "the body must be a JSON object"));
  }
  return value;
}

// If-Match (RFC 9110 §13.1.1) as this API takes it: absent or "*" is "any version"; one strong
// tag "N" names version N; anything else (a weak tag, a list, garbage) is 412.
ApiResult<std::optional<int64_t>> parseIfMatch(const HttpHeaders& headers) {
  size_t n = headers.count("If-Match");
  if (n == 0) return std::optional<int64_t>();
  auto bad = [] {
    return tl::unexpected(
        apiError(412, "precondition_failed",
                 "If-Match must be one strong entity tag like \"3\" (the version you read) or *"));
  };
  if (n > 1) return bad();
  std::string_view v = trim(headers.find("If-Match")->second);
  if (v == "*") return std::optional<int64_t>();
  if (v.size() < 3 || v.front() != '"' || v.back() != '"') return bad();
  auto version = parseDecimal(v.substr(1, v.size() - 2));
  if (!version) return bad();
  return std::optional<int64_t>(*version);
}

// The query string as name -> value (first occurrence wins). Names that do not decode are
// skipped (unknown parameters are ignored); a value that does not decode is an error naming
// its parameter.
ApiResult<std::map<std::string, std::string>> parseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto name = detail::percentDecode(part.substr(0, eq), true);
    if (!name) continue;
    auto value =
        detail::percentDecode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
    if (!value) {
      return tl::unexpected(apiError(
          400, "invalid_field", "the query parameter " + quote(*name) + " has a broken %-escape",
          *name, "characters"));
    }
    out.emplace(std::move(*name), std::move(*value));
  }
  return out;
}

ApiResult<ListQuery> listQuery(const std::string& collection,
                               const std::map<std::string, std::string>& params) {
  ListQuery q;
  auto number = [&](const char* name, int64_t min, int64_t max,
                    int64_t* out) -> std::optional<ApiError> {
    auto it = params.find(name);
    if (it == params.end()) return std::nullopt;
    auto v = parseDecimal(it->second);
    if (!v || *v < min || *v > max) {
      std::string range = max == INT64_MAX ? "an integer of at least " + std::to_string(min)
                                           : "an integer from " + std::to_string(min) + " to " +
                                                 std::to_string(max);
      return apiError(400, "invalid_field", std::string(name) + " must be " + range, name, "range");
    }
    *out = *v;
    return std::nullopt;
  };
  if (auto e = number("limit", 1, 1000, &q.limit)) return tl::unexpected(*e);
  if (auto e = number("offset", 0, INT64_MAX, &q.offset)) return tl::unexpected(*e);
  if (auto it = params.find("q"); it != params.end()) q.q = it->second;
  static const std::map<std::string, std::vector<std::string>> kFilters = {
      {"users", {"domain"}},
      {"params", {"scope"}},
      {"audit", {"before_id", "object_type", "actor"}},
  };
  if (auto f = kFilters.find(collection); f != kFilters.end()) {
    for (const std::string& name : f->second) {
      if (auto it = params.find(name); it != params.end()) q.filters[name] = it->second;
    }
  }
  if (collection == "audit" && q.filters.count("before_id")) {
    int64_t before = 0;
    if (auto e = number("before_id", 1, INT64_MAX, &before)) return tl::unexpected(*e);
  }
  return q;
}

// ---------------------------------------------------------------------------------------------
// Routes (docs/admin-api.md)

enum class Kind {
  Login,
  Logout,
  Collection,
  Item,
  UserPassword,
  ServiceAction,
  Status,
  AdminPassword
};

struct Endpoint {
  Kind kind = Kind::Status;
  std::string collection;
  std::string key;
  std::string action;
  std::vector<std::string_view> methods;  // the ones this path has
};

std::optional<Endpoint> resolve(const std::vector<std::string>& segs) {
  auto make = [](Kind kind, std::vector<std::string_view> methods) {
    Endpoint e;
    e.kind = kind;
    e.methods = std::move(methods);
    return e;
  };
  const size_t n = segs.size();
  const std::string& top = segs[0];
  if (n == 1 && top == "login") return make(Kind::Login, {"POST"});
  if (n == 1 && top == "logout") return make(Kind::Logout, {"POST"});
  if (n == 1 && top == "status") return make(Kind::Status, {"GET", "HEAD"});
  if (n == 3 && top == "admins" && !segs[1].empty() && segs[2] == "password") {
    Endpoint e = make(Kind::AdminPassword, {"PUT"});
    e.key = segs[1];
    return e;
  }
  static const std::set<std::string> kCollections = {"domains", "users", "params", "services",
                                                     "audit", "federated-domains"};
  if (!kCollections.count(top)) return std::nullopt;
  const bool writable = top == "domains" || top == "users" || top == "federated-domains";
  if (n == 1) {
    Endpoint e =
        make(Kind::Collection, writable ? std::vector<std::string_view>{"GET", "HEAD", "POST"}
                                        : std::vector<std::string_view>{"GET", "HEAD"});
    e.collection = top;
    return e;
  }
  if (top == "audit" || segs[1].empty()) return std::nullopt;
  Endpoint e;
  e.collection = top;
  e.key = segs[1];
  if (n == 2) {
    e.kind = Kind::Item;
    if (writable) {
      e.methods = {"GET", "HEAD", "PATCH", "DELETE"};
    } else if (top == "params") {
      e.methods = {"GET", "HEAD", "PUT", "DELETE"};
    } else {
      e.methods = {"GET", "HEAD"};
    }
    return e;
  }
  if (n == 3 && top == "users" && segs[2] == "password") {
    e.kind = Kind::UserPassword;
    e.methods = {"PUT"};
    return e;
  }
  if (n == 3 && top == "services" &&
      (segs[2] == "activate" || segs[2] == "deactivate" || segs[2] == "restart")) {
    e.kind = Kind::ServiceAction;
    e.action = segs[2];
    e.methods = {"POST"};
    return e;
  }
  return std::nullopt;
}

std::string allowHeader(const std::vector<std::string_view>& methods) {
  std::string out;
  for (auto m : methods) {
    if (!out.empty()) out += ", ";
    out += m;
  }
  return out;
}

// "PATCH", or "this method" for a name that is not a plain token.
std::string methodName(std::string_view m) {
  bool plain = !m.empty() && m.size() <= 16 &&
               std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  return plain ? std::string(m) : "this method";
}

const ApiError kNoSuchPath{404, "not_found", "there is no such path", "", "", ""};

// ---------------------------------------------------------------------------------------------
// The web console

// If-None-Match (RFC 9110 §13.1.2, weak comparison) against `etag`.
bool noneMatch(const HttpHeaders& headers, std::string_view etag) {
  auto [first, last] = headers.equal_range("If-None-Match");
  for (auto it = first; it != last; ++it) {
    std::string_view list = it->second;
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view tag = trim(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
      if (tag == "*" || tag == etag) return true;
    }
  }
  return false;
}

HttpResponse serveAsset(const HttpRequest& req, std::string_view path) {
  if (req.method != "GET" && req.method != "HEAD") {
    HttpResponse r =
        errorResponse(apiError(405, "method_not_allowed",
                               methodName(req.method) + " is not allowed here; the console's files "
                                                        "take GET"));
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const WebAsset* asset = findWebAsset(path);
  if (asset == nullptr) return errorResponse(kNoSuchPath);
  HttpResponse r;
  r.status = 200;
  if (noneMatch(req.headers, asset->etag)) {
    r.status = 304;
  } else {
    r.body = std::string(asset->data);
    r.headers.emplace_back("Content-Type", std::string(asset->content_type));
  }
  r.headers.emplace_back("ETag", std::string(asset->etag));
  addCommonHeaders(r, "no-cache");
  return r;
}

// ---------------------------------------------------------------------------------------------
// The API

json listEnvelope(const Answer& a) {
  return json{{"items", a.item.is_array() ? a.item : json::array()},
              {"total", a.total},
              {"policy_version", a.policy_version}};
}

json itemEnvelope(const Answer& a) {
  return json{{"item", a.item}, {"policy_version", a.policy_version}};
}

HttpResponse itemResponse(int status, const Answer& a) {
  HttpResponse r = jsonResponse(status, itemEnvelope(a));
  setETag(r, a.version);
  return r;
}

// The key of a created item, as its URL names it.
std::string itemKey(const std::string& collection, const json& item) {
  const char* field = collection == "users" ? "address" : "name";
  auto it = item.find(field);
  return it != item.end() && it->is_string() ? it->get<std::string>() : "";
}

struct LoginFields {
  std::string username;
  std::string password;
  std::string device_token;
};

// Login's body: {"username": string, "password": string, "device_token": string (optional)}
// and nothing else.
ApiResult<LoginFields> loginFields(const json& body) {
  for (const auto& [k, v] : body.items()) {
    if (k != "username" && k != "password" && k != "device_token") {
      return tl::unexpected(
          apiError(400, "unknown_field", "unknown field " + quote(k), k, "known_field"));
    }
  }
  LoginFields f;
  std::string* values[3] = {&f.username, &f.password, &f.device_token};
  const char* names[3] = {"username", "password", "device_token"};
  for (int i = 0; i < 3; ++i) {
    auto it = body.find(names[i]);
    if (it == body.end()) {
      if (i == 2) break;  // optional
      return tl::unexpected(apiError(422, "missing_field", std::string(names[i]) + " is required",
                                     names[i], "required"));
    }
    if (!it->is_string()) {
      return tl::unexpected(apiError(
          400, "invalid_field", std::string(names[i]) + " must be a string", names[i], "type"));
    }
    *values[i] = it->get<std::string>();
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Where the request was meant to go (DNS rebinding, cross-site requests)

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The host of a Host header value ("127.0.0.1:8080", "[::1]:8080", "Admin.Example."), lower
// case, without port, brackets or a final dot; nullopt when it is not a host[:port].
std::optional<std::string> hostOf(std::string_view v) {
  std::string_view host;
  std::string_view port;
  if (!splitHostPort(trim(v), &host, &port)) return std::nullopt;
  if (!port.empty() && !parseDecimal(port)) return std::nullopt;
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || hasControl(host) ||
      host.find_first_of(" \t/\\@?#") != std::string_view::npos) {
    return std::nullopt;
  }
  return lower(host);
}

// Same address: both literals, compared as addresses ("::1" and "0:0::1" are one).
bool sameAddress(const std::string& a, const std::string& b) {
  auto x = herald::Endpoint::fromAddress(a, 0);
  auto y = herald::Endpoint::fromAddress(b, 0);
  return x && y && *x == *y;
}

// nullopt when the Host header names this listener: its address, "localhost" on a loopback
// listener, or a name of admin.allowed_hosts. A page served from a name that the attacker
// rebinds to this address carries that name as its Host.
std::optional<ApiError> misdirected(const HttpRequest& req,
                                    const std::vector<std::string>& allowed_hosts) {
  if (req.headers.count("Host") != 1) {
    return apiError(400, "bad_request", "the request needs exactly one Host header");
  }
  const std::string& value = req.headers.find("Host")->second;
  auto host = hostOf(value);
  if (!host) return apiError(400, "bad_request", "the Host header " + quote(value) + " is malformed");
  if (!req.local_address.empty()) {
    if (sameAddress(*host, req.local_address)) return std::nullopt;
    auto local = herald::Endpoint::fromAddress(req.local_address, 0);
    if (*host == "localhost" && local && local->isLoopback()) return std::nullopt;
  }
  for (const auto& name : allowed_hosts) {
    auto allowed = hostOf(name);
    if (allowed && *allowed == *host) return std::nullopt;
  }
  return apiError(421, "misdirected_request",
                  "the Host " + quote(value) +
                      " is not this console's address; to reach it by that name, add the name "
                      "to admin.allowed_hosts");
}

// A change (POST, PUT, PATCH, DELETE) that a browser sent from another site: its Origin is not
// this console's, or Sec-Fetch-Site says so. Requests without either (the CLI, curl) pass.
std::optional<ApiError> crossSite(const HttpRequest& req) {
  if (req.method != "POST" && req.method != "PUT" && req.method != "PATCH" &&
      req.method != "DELETE") {
    return std::nullopt;
  }
  if (auto site = req.headers.find("Sec-Fetch-Site"); site != req.headers.end()) {
    std::string v = lower(trim(site->second));
    if (v != "same-origin" && v != "none") {
      return apiError(403, "forbidden",
                      "cross-site request refused (Sec-Fetch-Site: " + quote(v) +
                          "): changes come from this console's own pages only");
    }
  }
  auto origin = req.headers.find("Origin");
  if (origin == req.headers.end()) return std::nullopt;
  auto host = req.headers.find("Host");
  std::string own = std::string(req.tls ? "https://" : "http://") +
                    (host == req.headers.end() ? "" : lower(trim(host->second)));
  if (req.headers.count("Origin") == 1 && lower(trim(origin->second)) == own) return std::nullopt;
  return apiError(403, "forbidden",
                  "cross-origin request refused: Origin " + quote(origin->second) +
                      " is not this console (" + quote(own) + ")");
}

class Call {
 public:
  Call(AdminService& service, const HttpRequest& req) : service_(service), req_(req) {}

  HttpResponse run() {
    HttpResponse r = answer();
    r.actor = session_.username;
    return r;
  }

 private:
  HttpResponse answer() {
    std::string_view target = req_.target;
    size_t qmark = target.find('?');
    std::string_view path = target.substr(0, qmark);
    std::string_view query = qmark == std::string_view::npos ? "" : target.substr(qmark + 1);
    if (req_.body_too_large) {
      return errorResponse(apiError(413, "payload_too_large", "the body is larger than 64 KiB"));
    }
    if (path.substr(0, kApiPrefix.size()) != kApiPrefix) {
      if (path == "/api" || path.substr(0, 5) == "/api/") return errorResponse(kNoSuchPath);
      return serveAsset(req_, path);
    }
    // Split on '/' first, decode each segment after (docs/admin-api.md, Decisions 15).
    std::vector<std::string> segs;
    path.remove_prefix(kApiPrefix.size());
    while (true) {
      size_t slash = path.find('/');
      auto seg = detail::percentDecode(path.substr(0, slash), false);
      if (!seg || hasControl(*seg) || segs.size() == 3) return errorResponse(kNoSuchPath);
      segs.push_back(std::move(*seg));
      if (slash == std::string_view::npos) break;
      path.remove_prefix(slash + 1);
    }
    auto endpoint = resolve(segs);
    if (!endpoint) return errorResponse(kNoSuchPath);
    endpoint_ = std::move(*endpoint);
    const auto& allowed = endpoint_.methods;
    if (std::find(allowed.begin(), allowed.end(), req_.method) == allowed.end()) {
      HttpResponse r = errorResponse(
          apiError(405, "method_not_allowed",
                   methodName(req_.method) + " is not allowed here; use " + allowHeader(allowed)));
      r.headers.emplace_back("Allow", allowHeader(allowed));
      return r;
    }
    if (endpoint_.kind != Kind::Login) {
      token_ = bearerToken(req_.headers);
      ApiResult<Session> session =
          token_.empty() ? tl::unexpected(apiError(401, "unauthorized",
                                                   "sign in first: no valid bearer token"))
                         : service_.authenticate(token_);
      if (!session) return errorResponse(session.error());
      session_ = std::move(*session);
    }
    if (auto e = readBody(); e) return errorResponse(*e);
    if (auto q = parseQuery(query); q) {
      query_ = std::move(*q);
    } else {
      return errorResponse(q.error());
    }
    return dispatch();
  }

  bool hasBodySemantics() const {
    return req_.method == "POST" || req_.method == "PUT" || req_.method == "PATCH" ||
           req_.method == "DELETE";
  }

  std::optional<ApiError> readBody() {
    if (!hasBodySemantics() || req_.body.empty()) return std::nullopt;
    if (!isJsonContentType(req_.headers)) {
      return apiError(415, "unsupported_media_type",
                      "the body must be Content-Type: application/json (charset utf-8)");
    }
    auto body = parseJsonObject(req_.body);
    if (!body) return body.error();
    body_ = std::move(*body);
    return std::nullopt;
  }

  // The JSON object a create or update needs.
  ApiResult<json> requiredBody() const {
    if (body_.is_null()) {
      return tl::unexpected(apiError(400, "bad_json", "a JSON object body is required"));
    }
    return body_;
  }

  // Calls without a body take none or {}.
  std::optional<ApiError> emptyBody() const {
    if (body_.is_object() && !body_.empty()) {
      const std::string& k = body_.begin().key();
      return apiError(400, "unknown_field", "unknown field " + quote(k), k, "known_field");
    }
    return std::nullopt;
  }

  ApiResult<Change> change() const {
    auto if_match = parseIfMatch(req_.headers);
    if (!if_match) return tl::unexpected(if_match.error());
    return Change{Actor{session_.username, req_.remote_address}, *if_match};
  }

  HttpResponse dispatch() {
    const std::string& m = req_.method;
    const bool read = m == "GET" || m == "HEAD";
    switch (endpoint_.kind) {
      case Kind::Login:
        return login();
      case Kind::Logout: {
        if (auto e = emptyBody()) return errorResponse(*e);
        auto r = service_.logout(token_);
        return r ? noContent() : errorResponse(r.error());
      }
      case Kind::Status:
        return jsonResponse(200, service_.status());
      case Kind::Collection: {
        if (read) {
          auto q = listQuery(endpoint_.collection, query_);
          if (!q) return errorResponse(q.error());
          auto a = service_.list(endpoint_.collection, *q);
          return a ? jsonResponse(200, listEnvelope(*a)) : errorResponse(a.error());
        }
        auto body = requiredBody();
        if (!body) return errorResponse(body.error());
        auto a = service_.create(endpoint_.collection, *body,
                                 Change{Actor{session_.username, req_.remote_address}, {}});
        if (!a) return errorResponse(a.error());
        HttpResponse r = itemResponse(201, *a);
        std::string key = itemKey(endpoint_.collection, a->item);
        if (!key.empty()) {
          r.headers.emplace_back("Location", std::string(kApiPrefix) + endpoint_.collection + "/" +
                                                 encodeSegment(key));
        }
        return r;
      }
      case Kind::Item: {
        if (read) {
          auto a = service_.get(endpoint_.collection, endpoint_.key);
          return a ? itemResponse(200, *a) : errorResponse(a.error());
        }
        auto c = change();
        if (!c) return errorResponse(c.error());
        if (m == "DELETE") {
          if (auto e = emptyBody()) return errorResponse(*e);
          auto a = service_.remove(endpoint_.collection, endpoint_.key, *c);
          if (!a) return errorResponse(a.error());
          // A parameter reset answers the parameter after it, which still has a version.
          return endpoint_.collection == "params" ? itemResponse(200, *a)
                                                  : jsonResponse(200, itemEnvelope(*a));
        }
        auto body = requiredBody();
        if (!body) return errorResponse(body.error());
        auto a = service_.update(endpoint_.collection, endpoint_.key, *body, *c);
        return a ? itemResponse(200, *a) : errorResponse(a.error());
      }
      case Kind::UserPassword: {
        auto c = change();
        if (!c) return errorResponse(c.error());
        auto body = requiredBody();
        if (!body) return errorResponse(body.error());
        auto a = service_.setUserPassword(endpoint_.key, *body, *c);
        return a ? itemResponse(200, *a) : errorResponse(a.error());
      }
      case Kind::ServiceAction: {
        if (auto e = emptyBody()) return errorResponse(*e);
        auto a = service_.serviceAction(endpoint_.key, endpoint_.action,
                                        Change{Actor{session_.username, req_.remote_address}, {}});
        return a ? jsonResponse(200, itemEnvelope(*a)) : errorResponse(a.error());
      }
      case Kind::AdminPassword: {
        auto body = requiredBody();
        if (!body) return errorResponse(body.error());
        auto r = service_.changeAdminPassword(endpoint_.key, *body, session_, req_.remote_address);
        return r ? noContent() : errorResponse(r.error());
      }
    }
    return errorResponse(kNoSuchPath);
  }

  HttpResponse login() {
    auto body = requiredBody();
    if (!body) return errorResponse(body.error());
    auto fields = loginFields(*body);
    if (!fields) return errorResponse(fields.error());
    int64_t retry_after = 0;
    auto s = service_.login(fields->username, fields->password, req_.remote_address,
                            fields->device_token, &retry_after);
    if (!s) {
      ApiError e = s.error();
      if (e.retry_after_s == 0) e.retry_after_s = retry_after;
      return errorResponse(e);
    }
    session_ = *s;
    ordered_json answer{{"token", s->token},
                        {"expires_at", rfc3339(s->expires_at)},
                        {"username", s->username}};
    if (!s->device_token.empty()) answer["device_token"] = s->device_token;
    return jsonResponse(200, answer);
  }

  AdminService& service_;
  const HttpRequest& req_;
  Endpoint endpoint_;
  std::string token_;
  Session session_;
  json body_;  // null when the request has no body
  std::map<std::string, std::string> query_;
};

}  // namespace

bool HeaderNameLess::operator()(const std::string& a, const std::string& b) const {
  return strcasecmp(a.c_str(), b.c_str()) < 0;
}

std::string HttpResponse::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (equalsNoCase(k, name)) return v;
  }
  return "";
}

const std::vector<std::pair<std::string, std::string>>& securityHeaders() {
  // The console's CSP (src/admin/web/README.md): no inline code, no framing, no foreign URL.
  static const std::vector<std::pair<std::string, std::string>> kHeaders = {
      {"Content-Security-Policy",
       "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
  };
  return kHeaders;
}

HttpResponse errorResponse(const ApiError& error) {
  int status = error.status >= 400 && error.status <= 599 ? error.status : 500;
  ordered_json e;
  e["status"] = status;
  e["code"] = error.code.empty() ? defaultCode(status) : error.code;
  e["message"] = error.message.empty() ? std::string("the request failed") : error.message;
  if (!error.field.empty()) e["field"] = error.field;
  if (!error.rule.empty()) e["rule"] = error.rule;
  if (!error.related.empty()) e["related"] = error.related;
  HttpResponse r = jsonResponse(status, ordered_json{{"error", e}});
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"herald\"");
  if (status == 429) {
    r.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, error.retry_after_s)));
  }
  return r;
}

HttpResponse transportErrorResponse(int status) {
  std::string message;
  switch (status) {
    case 413:
      message = "the body is larger than 64 KiB";
      break;
    case 414:
      message = "the request URI is longer than 8 KiB";
      break;
    case 400:
      message = "the HTTP request is malformed";
      break;
    case 408:
      message = "the request did not arrive in time";
      break;
    default:
      message = "the request cannot be served";
      break;
  }
  return errorResponse(apiError(status, defaultCode(status), message));
}

HttpResponse HttpHandler::handle(const HttpRequest& request) const {
  try {
    if (auto e = misdirected(request, allowed_hosts_)) return errorResponse(*e);
    if (auto e = crossSite(request)) return errorResponse(*e);
    return Call(service_, request).run();
  } catch (const std::exception& e) {
    // A bug or a broken store below AdminService; the client learns nothing of it.
    HLOG_ERROR(Admin, "{} request failed: {}", methodName(request.method), e.what());
    return errorResponse(
        apiError(500, "internal_error", "internal error; the node log has the details"));
  }
}

}  // namespace herald::admin
