#include "admin/internal/change_runner.h"

#include "admin/internal/api_errors.h"
#include "admin/internal/policy_builder.h"
#include "common/log.h"

namespace herald::admin::detail {
namespace {

// A store transaction that rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(store::Store& store) : store_(store) {}
  ~Transaction() {
    if (open_) store_.rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Result<void> begin() {
    HERALD_TRY(store_.begin());
    open_ = true;
    return {};
  }
  Result<void> commit() {
    auto r = store_.commit();
    if (r) open_ = false;
    return r;
  }

 private:
  store::Store& store_;
  bool open_ = false;
};

struct Rehearsal {
  std::optional<Answer> unchanged;  // the request changes nothing
  PolicyPtr next;
};

// Step 1: runs fn and builds the Policy it leads to, then rolls everything back.
ApiResult<Rehearsal> rehearse(Context& ctx, const ChangeFn& fn, int64_t now) {
  std::lock_guard<std::mutex> lock(ctx.store_mu);
  Transaction tx(*ctx.store);
  if (auto b = tx.begin(); !b) return tl::unexpected(internalError(b.error()));
  auto out = fn(*ctx.store, now);
  if (!out) return tl::unexpected(out.error());
  if (!out->audit) return Rehearsal{std::move(out->answer), nullptr};
  auto version = ctx.store->bumpPolicyVersion();
  if (!version) return tl::unexpected(internalError(version.error()));
  auto next = buildPolicy(*ctx.store, ctx.seed, *version);
  if (!next) return tl::unexpected(internalError(next.error()));
  return Rehearsal{std::nullopt, std::make_shared<const Policy>(std::move(*next))};
}

// Runs fn in one transaction; when it changes something, bumps policy_version (when
// `expected_version` is set, to exactly that), appends the audit entry and commits.
ApiResult<Outcome> commitOnce(Context& ctx, const ChangeFn& fn, int64_t now,
                              std::optional<int64_t> expected_version, bool bump) {
  std::lock_guard<std::mutex> lock(ctx.store_mu);
  Transaction tx(*ctx.store);
  if (auto b = tx.begin(); !b) return tl::unexpected(internalError(b.error()));
  auto out = fn(*ctx.store, now);
  if (!out || !out->audit) return out;
  store::AuditRecord& audit = *out->audit;
  audit.at = now;
  audit.policy_version.reset();
  if (bump) {
    auto version = ctx.store->bumpPolicyVersion();
    if (!version) return tl::unexpected(internalError(version.error()));
    if (expected_version && *version != *expected_version) {
      return tl::unexpected(internalError(
          Error{ErrorCode::Internal, "policy_version moved under the change lock: expected " +
                                         std::to_string(*expected_version) + ", got " +
                                         std::to_string(*version)}));
    }
    audit.policy_version = *version;
  }
  if (auto id = ctx.store->appendAudit(audit); !id) {
    return tl::unexpected(internalError(id.error()));
  }
  if (auto p = pruneAuditIfDue(ctx, false); !p) return tl::unexpected(p.error());
  if (auto c = tx.commit(); !c) return tl::unexpected(internalError(c.error()));
  return out;
}

void logChange(const store::AuditRecord& a) {
  // A name tried at login may be a password typed in the wrong box: the log does not get it.
  if (a.action == "login" || a.action == "login_failed") {
    HLOG_DEBUG(Admin, "{} from '{}'", a.action, a.source_address);
    return;
  }
  HLOG_INFO(Admin, "{} {} {} by {} from '{}' (policy_version {})", a.action, a.object_type,
            a.object_id, a.actor, a.source_address,
            a.policy_version ? std::to_string(*a.policy_version) : "unchanged");
}

std::optional<std::string> jsonText(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

ApiResult<void> pruneAuditIfDue(Context& ctx, bool force) {
  if (!force && ++ctx.audits_since_prune < kAuditPruneEvery) return {};
  ctx.audits_since_prune = 0;
  int64_t before = ctx.clock.unixSeconds() - ctx.seed.audit_retention_days * 24 * 3600;
  auto pruned = ctx.store->pruneAudit(before, ctx.seed.audit_retention_rows);
  if (!pruned) return tl::unexpected(internalError(pruned.error()));
  if (*pruned > 0) {
    HLOG_INFO(Admin, "audit log: {} entries past the retention ({} days, {} entries) deleted",
              *pruned, ctx.seed.audit_retention_days, ctx.seed.audit_retention_rows);
  }
  return {};
}

store::AuditRecord auditEntry(const Actor& actor, std::string action, std::string object_type,
                              std::string object_id, const nlohmann::json& before,
                              const nlohmann::json& after) {
  store::AuditRecord e;
  e.actor = actor.name;
  e.source_address = actor.source_address;
  e.action = std::move(action);
  e.object_type = std::move(object_type);
  e.object_id = std::move(object_id);
  e.before_json = jsonText(before);
  e.after_json = jsonText(after);
  return e;
}

ApiResult<Answer> configChange(Context& ctx, const ChangeFn& fn) {
  std::lock_guard<std::mutex> change(ctx.change_mu);
  const int64_t now = ctx.clock.unixSeconds();
  const PolicyPtr current = ctx.policy();

  auto rehearsal = rehearse(ctx, fn, now);
  if (!rehearsal) return tl::unexpected(rehearsal.error());
  if (rehearsal->unchanged) {
    rehearsal->unchanged->policy_version = current->version;
    return std::move(*rehearsal->unchanged);
  }
  const PolicyPtr next = rehearsal->next;
  if (auto applied = ctx.node.applyPolicy(next); !applied) {
    HLOG_WARN(Admin, "policy {} not applied, nothing changed: {}", next->version,
              applied.error().toString());
    return tl::unexpected(serviceFailed(applied.error().detail));
  }

  auto done = commitOnce(ctx, fn, now, next->version, true);
  if (!done || !done->audit) {
    // The store keeps the previous state: so must the node.
    if (auto back = ctx.node.applyPolicy(current); !back) {
      HLOG_ERROR(Admin, "cannot apply policy {} again after a failed change: {}", current->version,
                 back.error().toString());
    }
    if (!done) return tl::unexpected(done.error());
    done->answer.policy_version = current->version;
    return std::move(done->answer);
  }
  ctx.setPolicy(next);
  if (done->after_commit) done->after_commit();
  logChange(*done->audit);
  done->answer.policy_version = next->version;
  return std::move(done->answer);
}

ApiResult<Answer> plainChange(Context& ctx, const ChangeFn& fn,
                              const std::function<ApiResult<void>()>& first) {
  std::lock_guard<std::mutex> change(ctx.change_mu);
  if (first) {
    if (auto r = first(); !r) return tl::unexpected(r.error());
  }
  auto done = commitOnce(ctx, fn, ctx.clock.unixSeconds(), std::nullopt, false);
  if (!done) return tl::unexpected(done.error());
  if (done->audit) logChange(*done->audit);
  if (done->after_commit) done->after_commit();
  done->answer.policy_version = ctx.policy()->version;
  return std::move(done->answer);
}

ApiResult<Answer> startupChange(Context& ctx, const ChangeFn& fn) {
  std::lock_guard<std::mutex> change(ctx.change_mu);
  auto done = commitOnce(ctx, fn, ctx.clock.unixSeconds(), std::nullopt, true);
  if (!done) return tl::unexpected(done.error());
  if (done->audit) {
    logChange(*done->audit);
    done->answer.policy_version = done->audit->policy_version.value_or(0);
  }
  return std::move(done->answer);
}

}  // namespace herald::admin::detail
