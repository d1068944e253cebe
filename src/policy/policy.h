#pragma once

// Policy: the node's configuration as the SIP workers see it, one immutable snapshot
// (DESIGN.md "Threads and state"). Data only, so that the data plane (server, federation,
// presence) reads it without depending on the admin plane that builds it: the admin plane
// makes a new one after every committed change and hands it to NodeControl::applyPolicy(); a
// request keeps the snapshot it started with. Users are not part of it (there may be
// 100,000): NodeControl hears of them one by one.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "policy/static_route.h"

namespace herald::policy {

// Spec §4.8, cluster-wide.
struct ClusterParams {
  std::string federation_routing_fqdn;  // default: the node's sip.hostname
  std::string default_federation_routing_domain = "aol.com";
  std::string virtual_ip_address;   // "" = not set
  std::string virtual_server_name;  // "" = not set
  bool im_gateway_status = true;
  bool record_route_transport = false;
  bool email_federation = false;
  bool availability_without_approval = false;
};

// This node's run-time settings; each mirrors a key of the config file, which gives the base
// value (docs/configuration.md); a value set through the API wins.
struct NodeParams {
  int sip_t1_ms = 500;
  int sip_t2_ms = 4000;
  int sip_t4_ms = 5000;
  int registrar_min_expires_s = 60;
  int registrar_max_expires_s = 3600;
  int tcp_idle_timeout_s = 3605;
  int max_connections = 10000;
  std::string log_level = "info";
};

enum class Service { SipProxy, SipFederation, Presence };
inline constexpr Service kServices[] = {Service::SipProxy, Service::SipFederation,
                                        Service::Presence};

struct ServiceSwitches {
  bool sip_proxy = true;
  bool sip_federation = true;
  bool presence = true;
  bool activated(Service s) const {
    return s == Service::SipProxy ? sip_proxy : s == Service::SipFederation ? sip_federation
                                                                             : presence;
  }
};

// Spec §4.1: another organisation's domain that local users may exchange IM and presence with.
enum class Integration { Sip, Lync, Clearinghouse };  // standards-based, Microsoft, AOL-type
enum class IdentityPolicy { Subjects, Rfc5922, SrvTarget };  // how a peer proves the domain
enum class Discovery { SipFederationTls, Rfc3263, Both };    // the DNS lookups routing may use

struct FederatedDomain {
  std::string name;  // lower-case A-labels, no trailing dot
  std::string description;
  Integration integration = Integration::Sip;
  bool direct_federation = false;
  IdentityPolicy identity_policy = IdentityPolicy::Rfc5922;
  Discovery discovery = Discovery::Both;
  std::string via_domain;  // clearinghouse: the hub's domain ("" = cluster default)
  bool discovered = false;
};

struct Policy {
  int64_t version = 0;                     // grows by one per committed configuration change
  std::set<std::string> local_domains;     // lower-case, no trailing dot
  std::map<std::string, FederatedDomain> federated_domains;  // by name
  // Every static route, the predefined open-federation `.*` route included (spec §4.2);
  // src/federation indexes them (RouteTable) once per snapshot.
  std::vector<StaticRoute> static_routes;
  ClusterParams cluster;
  NodeParams node;
  ServiceSwitches services;
};

using PolicyPtr = std::shared_ptr<const Policy>;

}  // namespace herald::policy
