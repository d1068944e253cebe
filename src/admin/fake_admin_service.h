#pragma once

// FakeAdminService: an in-memory AdminService for the tests of HttpApi and the CLI. It keeps
// objects as JSON, answers like the contract says for the common cases (404, 409, 412,
// versions, policy_version), records every call, and can be told to fail the next one.
// Not a model of the validation rules: that is AdminService's job and its tests'.
// Thread-safe (HttpApi calls it from its pool).

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "admin/admin_service.h"

namespace herald::admin {

class FakeAdminService final : public AdminService {
 public:
  static constexpr const char* kToken = "tok-admin";
  static constexpr const char* kPassword = "admin-password-1";
  static constexpr int64_t kExpiresAt = 1796206500;  // 2026-12-02T10:15:00Z

  struct Call {
    std::string op;  // "list", "get", "create", "update", "remove", "password", "action",
                     // "status", "login", "logout", "admin_password"
    std::string collection;
    std::string key;
    nlohmann::json body;
    ListQuery query;
    Change change;
    std::string action;
  };

  FakeAdminService() {
    tokens_.insert(kToken);
    for (const char* name : {"sip-proxy", "sip-federation", "presence"}) {
      objects["services"][name] = {{"name", name},
                                   {"description", "the " + std::string(name)},
                                   {"activated", true},
                                   {"state", "running"},
                                   {"listeners", nlohmann::json::array()},
                                   {"since", "2026-12-02T08:00:00Z"}};
    }
    objects["params"]["sip-t1"] = {{"name", "sip-t1"}, {"scope", "node"}, {"type", "integer"},
                                   {"value", 500},     {"default", 500},  {"is_default", true},
                                   {"unit", "ms"},     {"version", 1}};
    objects["params"]["record-route-transport"] = {{"name", "record-route-transport"},
                                                   {"scope", "cluster"},
                                                   {"type", "bool"},
                                                   {"value", false},
                                                   {"default", false},
                                                   {"is_default", true},
                                                   {"version", 1}};
  }

  // collection -> key -> the item as the API shows it.
  std::map<std::string, std::map<std::string, nlohmann::json>> objects;
  int64_t policy_version = 1;
  // The next call other than authenticate() fails with this error.
  std::optional<ApiError> fail_next;
  // The device_token of the last login() call.
  std::string last_device_token;
  // login() answers 429 with this Retry-After while it is not 0.
  int64_t rate_limited_for_s = 0;

  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  void clearCalls() {
    std::lock_guard lock(mutex_);
    calls_.clear();
  }

  PolicyPtr policy() const override { return std::make_shared<Policy>(); }

  ApiResult<Answer> list(const std::string& collection, const ListQuery& q) override {
    std::lock_guard lock(mutex_);
    if (auto e = record("list", collection, "", {}, q, {}, "")) return tl::unexpected(*e);
    Answer a;
    a.item = nlohmann::json::array();
    for (const auto& [key, item] : objects[collection]) {
      if (!q.q.empty() && key.find(q.q) == std::string::npos) continue;
      ++a.total;
      if (a.total > q.offset && static_cast<int64_t>(a.item.size()) < q.limit) {
        a.item.push_back(item);
      }
    }
    a.policy_version = policy_version;
    return a;
  }

  ApiResult<Answer> get(const std::string& collection, const std::string& key) override {
    std::lock_guard lock(mutex_);
    if (auto e = record("get", collection, key, {}, {}, {}, "")) return tl::unexpected(*e);
    auto* item = find(collection, key);
    if (item == nullptr) return tl::unexpected(notFound(collection, key));
    return answer(*item);
  }

  ApiResult<Answer> create(const std::string& collection, const nlohmann::json& body,
                           const Change& change) override {
    std::lock_guard lock(mutex_);
    if (auto e = record("create", collection, "", body, {}, change, "")) {
      return tl::unexpected(*e);
    }
    nlohmann::json item = body;
    item.erase("password");
    std::string key = item.value("name", "");
    if (collection == "users") {
      key = item.value("username", "") + "@" + item.value("domain", "");
      item["address"] = key;
    }
    if (objects[collection].count(key)) {
      return tl::unexpected(
          ApiError{409, "conflict", key + " exists already", "name", "unique", ""});
    }
    item["version"] = 1;
    objects[collection][key] = item;
    ++policy_version;
    return answer(item);
  }

  ApiResult<Answer> update(const std::string& collection, const std::string& key,
                           const nlohmann::json& body, const Change& change) override {
    std::lock_guard lock(mutex_);
    if (auto e = record("update", collection, key, body, {}, change, "")) {
      return tl::unexpected(*e);
    }
    auto* item = find(collection, key);
    if (item == nullptr) return tl::unexpected(notFound(collection, key));
    if (auto e = precondition(*item, change)) return tl::unexpected(*e);
    for (const auto& [k, v] : body.items()) (*item)[k] = v;
    if (collection == "params") (*item)["is_default"] = false;
    bump(*item);
    return answer(*item);
  }

  ApiResult<Answer> remove(const std::string& collection, const std::string& key,
                           const Change& change) override {
    std::lock_guard lock(mutex_);
    if (auto e = record("remove", collection, key, {}, {}, change, "")) {
      return tl::unexpected(*e);
    }
    auto* item = find(collection, key);
    if (item == nullptr) return tl::unexpected(notFound(collection, key));
    if (auto e = precondition(*item, change)) return tl::unexpected(*e);
    if (collection == "params") {
      (*item)["value"] = (*item)["default"];
      (*item)["is_default"] = true;
      bump(*item);
      return answer(*item);
    }
    Answer a = answer(*item);
    a.version = 0;
    objects[collection].erase(key);
    ++policy_version;
    a.policy_version = policy_version;
    return a;
  }

  ApiResult<Answer> setUserPassword(const std::string& address, const nlohmann::json& body,
                                    const Change& change) override {
    std::lock_guard lock(mutex_);
    if (auto e = record("password", "users", address, body, {}, change, "")) {
      return tl::unexpected(*e);
    }
    auto* item = find("users", address);
    if (item == nullptr) return tl::unexpected(notFound("users", address));
    if (auto e = precondition(*item, change)) return tl::unexpected(*e);
    bump(*item);
    return answer(*item);
  }

  ApiResult<Answer> serviceAction(const std::string& name, const std::string& action,
                                  const Change& change) override {
    std::lock_guard lock(mutex_);
    if (auto e = record("action", "services", name, {}, {}, change, action)) {
      return tl::unexpected(*e);
    }
    auto* item = find("services", name);
    if (item == nullptr) return tl::unexpected(notFound("services", name));
    if (action == "restart" && !(*item)["activated"].get<bool>()) {
      return tl::unexpected(
          ApiError{409, "conflict", name + " is not activated; activate it instead", "", "", ""});
    }
    if (action != "restart") {
      (*item)["activated"] = action == "activate";
      (*item)["state"] = action == "activate" ? "running" : "stopped";
      ++policy_version;
    }
    Answer a = answer(*item);
    a.version = 0;
    return a;
  }

  nlohmann::json status() override {
    std::lock_guard lock(mutex_);
    record("status", "", "", {}, {}, {}, "");
    return {
        {"version", "0.0.0-fake"},
        {"node", "fake-1"},
        {"started_at", "2026-12-02T08:00:00Z"},
        {"uptime_s", 8400},
        {"policy_version", policy_version},
        {"listeners",
         {{{"transport", "tcp"}, {"address", "127.0.0.1"}, {"port", 8080}, {"service", "admin"}}}},
        {"counters", {{"sip.received", 12}, {"sip.sent", 11}}},
        {"store", {{"backend", "sqlite"}, {"path", "/tmp/fake.db"}, {"schema_version", 2}}}};
  }

  using AdminService::login;
  ApiResult<Session> login(const std::string& username, const std::string& password,
                           const std::string& source_address, const std::string& device_token,
                           int64_t* retry_after_s) override {
    std::lock_guard lock(mutex_);
    last_device_token = device_token;
    Change who{Actor{username, source_address}, {}};
    if (auto e = record("login", "", "", {}, {}, who, "")) return tl::unexpected(*e);
    if (rate_limited_for_s > 0) {
      *retry_after_s = rate_limited_for_s;
      return tl::unexpected(ApiError{429, "rate_limited",
                                     "too many failed logins from your address; wait and try again",
                                     "", "", ""});
    }
    if (username != "admin" || password != kPassword) {
      return tl::unexpected(
          ApiError{401, "unauthorized", "wrong user name or password", "", "", ""});
    }
    std::string token = "tok-" + std::to_string(++logins_);
    tokens_.insert(token);
    return Session{token, username, kExpiresAt, "d1.fake." + token};
  }

  ApiResult<void> logout(const std::string& token) override {
    std::lock_guard lock(mutex_);
    if (auto e = record("logout", "", "", {}, {}, {}, "")) return tl::unexpected(*e);
    tokens_.erase(token);
    return {};
  }

  ApiResult<Session> authenticate(const std::string& token) override {
    std::lock_guard lock(mutex_);
    if (!tokens_.count(token)) {
      return tl::unexpected(
          ApiError{401, "unauthorized", "sign in first: the token is not valid", "", "", ""});
    }
    return Session{token, "admin", kExpiresAt, ""};
  }

  ApiResult<void> changeAdminPassword(const std::string& name, const nlohmann::json& body,
                                      const Session& session,
                                      const std::string& source_address) override {
    std::lock_guard lock(mutex_);
    Change who{Actor{session.username, source_address}, {}};
    if (auto e = record("admin_password", "admins", name, body, {}, who, "")) {
      return tl::unexpected(*e);
    }
    if (name != session.username) {
      return tl::unexpected(
          ApiError{403, "forbidden", "you can change only your own password", "", "", ""});
    }
    return {};
  }

 private:
  std::optional<ApiError> record(const char* op, const std::string& collection,
                                 const std::string& key, const nlohmann::json& body,
                                 const ListQuery& query, const Change& change,
                                 const std::string& action) {
    Call& call = calls_.emplace_back();
    call.op = op;
    call.collection = collection;
    call.key = key;
    call.body = body;
    call.query = query;
    call.change = change;
    call.action = action;
    std::optional<ApiError> e = std::move(fail_next);
    fail_next.reset();
    return e;
  }

  nlohmann::json* find(const std::string& collection, const std::string& key) {
    auto c = objects.find(collection);
    if (c == objects.end()) return nullptr;
    auto it = c->second.find(key);
    return it == c->second.end() ? nullptr : &it->second;
  }

  static ApiError notFound(const std::string& collection, const std::string& key) {
    return ApiError{404, "not_found", "no " + collection + " object " + key, "", "", ""};
  }

  static std::optional<ApiError> precondition(const nlohmann::json& item, const Change& change) {
    int64_t version = item.value("version", int64_t{0});
    if (change.if_match && *change.if_match != version) {
      return ApiError{
          412,
          "precondition_failed",
          "the object changed since you read it (now version " + std::to_string(version) + ")",
          "",
          "",
          ""};
    }
    return std::nullopt;
  }

  void bump(nlohmann::json& item) {
    item["version"] = item.value("version", int64_t{0}) + 1;
    ++policy_version;
  }

  Answer answer(const nlohmann::json& item) const {
    Answer a;
    a.item = item;
    a.version = item.value("version", int64_t{0});
    a.policy_version = policy_version;
    return a;
  }

  mutable std::mutex mutex_;
  std::vector<Call> calls_;
  std::set<std::string> tokens_;
  int logins_ = 0;
};

}  // namespace herald::admin
