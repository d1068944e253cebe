#pragma once

// SipRouter: where a request goes once the proxy has checked it — the routing policy of a
// node, where the services meet (registrar, IM, location, authentication). Federation routing
// (federated domains, static routes, DNS) joins here with its own issue.
//
//   REGISTER for a local domain           -> Registrar
//   From a local domain, untrusted source -> digest challenge (407) and identity check
//   To a local user: MESSAGE              -> ImService (fork, or store and 202)
//   To a local user: other methods        -> fork to the registered contacts (480 if none)
//   To this node: OPTIONS                 -> 200 with Allow, Accept, Supported
//   Through our Record-Route (in dialog)  -> the next hop the request names
//   Anything else                         -> 403 (not an open relay) / 404 / 481
//
// One per worker, with that worker's RoutingPolicy.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "policy/policy.h"
#include "common/inet.h"
#include "im/im_service.h"
#include "registrar/digest.h"
#include "registrar/location_service.h"
#include "registrar/registrar.h"
#include "registrar/user_directory.h"
#include "sip/proxy/proxy.h"

namespace herald::server {

// One per worker, changed only on that worker (between requests) when the admin plane applies
// a new snapshot.
struct RoutingPolicy {
  policy::PolicyPtr policy;    // local domains, parameters, service switches
  std::vector<Cidr> trusted;  // sources trusted without authentication (config file)
};

class SipRouter final : public sip::RequestRouter {
 public:
  SipRouter(const RoutingPolicy& policy, registrar::Registrar& registrar, im::ImService& im,
            registrar::LocationService& location, const registrar::UserDirectory& users,
            registrar::DigestAuthenticator& auth, const Clock& clock);

  void route(sip::Proxy& proxy, sip::RequestContext& ctx) override;

 private:
  bool trusted(const Endpoint& source) const;

  const RoutingPolicy& policy_;
  registrar::Registrar& registrar_;
  im::ImService& im_;
  registrar::LocationService& location_;
  const registrar::UserDirectory& users_;
  registrar::DigestAuthenticator& auth_;
  const Clock& clock_;
};

// Allow / Accept / Supported of this node, for OPTIONS answers.
std::string capabilityHeaders();

}  // namespace herald::server
