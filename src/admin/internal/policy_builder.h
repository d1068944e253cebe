#pragma once

// Builds the Policy that the store holds: local domains, the parameters set through the API
// over the config file's values (Seed), and the service switches.

#include <cstdint>

#include "admin/admin_service.h"
#include "admin/node_control.h"  // the policy types
#include "common/result.h"
#include "store/store.h"

namespace herald::admin::detail {

// The Policy of the parameters' defaults alone (what a reset gives).
Policy defaultPolicy(const Seed& seed);

// REQUIRES: called inside the transaction whose state it should see, if any.
[[nodiscard]] Result<Policy> buildPolicy(store::Store& store, const Seed& seed, int64_t version);

}  // namespace herald::admin::detail
