#pragma once

// Context: what the parts of the admin service share: the store connection and its lock, the
// node, the clock, the seed from the config file, and the policy snapshot now in force.
//
// Locks, always taken in this order: change_mu (one change at a time, held while the node
// applies a policy), then store_mu (the SQLite connection, which one thread uses at a time).
// Reads take only store_mu, so that a GET is answered while a service starts.

#include <cstdint>
#include <memory>
#include <mutex>

#include "admin/admin_service.h"
#include "common/clock.h"
#include "store/store.h"

namespace herald::admin::detail {

class Context {
 public:
  Context(std::unique_ptr<store::Store> s, NodeControl& n, const Clock& c, Seed config_seed)
      : store(std::move(s)),
        node(n),
        clock(c),
        seed(std::move(config_seed)),
        opened_at(c.unixSeconds()) {}

  PolicyPtr policy() const {
    std::lock_guard<std::mutex> lock(policy_mu_);
    return policy_;
  }
  void setPolicy(PolicyPtr p) {
    std::lock_guard<std::mutex> lock(policy_mu_);
    policy_ = std::move(p);
  }

  const std::unique_ptr<store::Store> store;
  NodeControl& node;
  const Clock& clock;
  const Seed seed;
  const int64_t opened_at;  // unix seconds; updated_at of parameters never changed
  std::mutex change_mu;
  std::mutex store_mu;
  // Audit entries written since the log was last pruned (pruneAuditIfDue). Guarded by store_mu.
  int64_t audits_since_prune = 0;

 private:
  mutable std::mutex policy_mu_;
  PolicyPtr policy_ = std::make_shared<const Policy>();
};

}  // namespace herald::admin::detail
