#pragma once

// How a change is made: validated and written in one store transaction together with its audit
// entry and the policy_version bump, and made live before the answer (docs/admin-api.md,
// "Every change answers only after it is live").
//
// A configuration change is applied before it is committed, without holding the store's write
// lock while the node applies it (a service start may take a moment, and the node's own store
// writes, e.g. registrations, must not wait behind it):
//
//   1. rehearsal: BEGIN; fn(); bump policy_version; build the next Policy; ROLLBACK
//   2. NodeControl::applyPolicy(next)           -- fails: 503 service_failed, nothing changed
//   3. BEGIN; fn(); bump; audit entry; COMMIT   -- fails: the previous Policy is applied again
//   4. NodeControl user calls (after_commit), then the answer
//
// change_mu serializes changes, and only this service writes the configuration tables, so
// step 3 meets the state step 1 saw; fn is still checked again and may refuse in step 3.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "admin/admin_service.h"
#include "admin/internal/context.h"
#include "store/store.h"

namespace herald::admin::detail {

// What a change did inside its transaction.
struct Outcome {
  Answer answer;  // item and version; the runner sets policy_version
  // The audit entry (the runner sets `at` and `policy_version`); nullopt when the request
  // changes nothing (an idempotent one): nothing is written, applied or audited.
  std::optional<store::AuditRecord> audit;
  // Tells the node what the Policy does not carry (users); runs after COMMIT.
  std::function<void()> after_commit;
};

// Validates and writes one change through `store`, inside a transaction the runner owns.
// Must give the same outcome for the same store state and `now` (it may run twice).
using ChangeFn = std::function<ApiResult<Outcome>(store::Store& store, int64_t now)>;

// An audit entry of `actor`; a null `before` or `after` is kept as SQL NULL. JSON is written
// with invalid UTF-8 replaced, so that no input can make it throw.
store::AuditRecord auditEntry(const Actor& actor, std::string action, std::string object_type,
                              std::string object_id, const nlohmann::json& before,
                              const nlohmann::json& after);

// A change of a configuration object: policy_version grows and the next Policy is live.
ApiResult<Answer> configChange(Context& ctx, const ChangeFn& fn);

// A change that is not configuration (a restart, a login, an administrator's password): one
// transaction; policy_version does not move. `first`, if given, runs under the change lock
// before the transaction; its failure is the answer and nothing is written.
ApiResult<Answer> plainChange(Context& ctx, const ChangeFn& fn,
                              const std::function<ApiResult<void>()>& first = nullptr);

// Applies the audit retention of the seed (days, rows) when `force`, or once every
// kAuditPruneEvery entries. REQUIRES: store_mu held (inside the caller's transaction or not).
inline constexpr int64_t kAuditPruneEvery = 256;
ApiResult<void> pruneAuditIfDue(Context& ctx, bool force);

// At open, before the node runs: commits a configuration change (bumping policy_version)
// without applying it; the node applies the policy it reads at start.
ApiResult<Answer> startupChange(Context& ctx, const ChangeFn& fn);

}  // namespace herald::admin::detail
