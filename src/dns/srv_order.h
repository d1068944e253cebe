#pragma once

// RFC 2782 target selection: the order in which a client tries the targets of an SRV answer.
//
//   dns::Rng rng(seed);
//   for (const auto& r : dns::orderSrv(answer.srv, rng)) tryTarget(r.target, r.port);

#include <random>
#include <vector>

#include "dns/answer.h"

namespace herald::dns {

using Rng = std::mt19937_64;

// Priority ascending; within one priority, repeated weighted random selection (RFC 2782
// "Usage rules"): a record is picked with probability weight / (sum of the weights left).
// Weight-0 records get the RFC's "very small chance": 1 / (sum + 1) at each pick while
// weighted records remain, and are ordered at random among themselves. The same seed gives the
// same order. A lone "." target (RFC 2782: service not available) is returned as is; callers
// check for it.
std::vector<SrvRecord> orderSrv(std::vector<SrvRecord> records, Rng& rng);

}  // namespace herald::dns
