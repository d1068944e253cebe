#include "admin/internal/audit_log.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "admin/internal/fields.h"
#include "admin/internal/text_rules.h"

namespace herald::admin::detail {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 6> kObjectTypes = {"domain",  "user",  "param",
                                                          "service", "admin", "federated_domain"};

json storedJson(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  json j = json::parse(*text, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

json entryJson(const store::AuditRecord& e) {
  return json{{"id", e.id},
              {"at", rfc3339(e.at)},
              {"actor", e.actor},
              {"source_address", e.source_address},
              {"action", e.action},
              {"object_type", e.object_type},
              {"object_id", e.object_id},
              {"before", storedJson(e.before_json)},
              {"after", storedJson(e.after_json)},
              {"policy_version", e.policy_version ? json(*e.policy_version) : json(nullptr)}};
}

}  // namespace

ApiResult<Answer> AuditLog::list(const ListQuery& q) {
  if (q.limit < 1 || q.limit > 1000) {
    return tl::unexpected(badQuery("limit", "limit must be 1 to 1000"));
  }
  store::AuditQuery query;
  query.limit = q.limit;
  if (std::string before = filter(q, "before_id"); !before.empty()) {
    int64_t id = 0;
    auto [end, ec] = std::from_chars(before.data(), before.data() + before.size(), id);
    if (ec != std::errc() || end != before.data() + before.size() || id < 1) {
      return tl::unexpected(badQuery("before_id", "before_id must be an entry id (1 or more)"));
    }
    query.before_id = id;
  }
  query.object_type = filter(q, "object_type");
  if (!query.object_type.empty() && std::find(kObjectTypes.begin(), kObjectTypes.end(),
                                              query.object_type) == kObjectTypes.end()) {
    return tl::unexpected(badQuery(
        "object_type", "object_type is domain, user, param, service, admin or federated_domain"));
  }
  query.actor = filter(q, "actor");
  std::lock_guard<std::mutex> lock(ctx_.store_mu);
  auto page = ctx_.store->queryAudit(query);
  if (!page) return tl::unexpected(internalError(page.error()));
  Answer a{json::array(), page->total, 0, ctx_.policy()->version};
  for (const auto& e : page->items) a.item.push_back(entryJson(e));
  return a;
}

ApiResult<Answer> AuditLog::get(const std::string&) {
  return tl::unexpected(notFound("audit entries are listed, not read one by one"));
}

}  // namespace herald::admin::detail
