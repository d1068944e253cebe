#pragma once

// NodeControl: what the admin plane asks of the running node. src/server implements it
// (Node); admin tests use a fake. Every call is made from an admin thread and may block
// until the node has done what was asked.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "policy/policy.h"
#include "common/result.h"

namespace herald::admin {

// The snapshot the admin plane builds (src/policy), named as the admin code always has.
using policy::ClusterParams;
using policy::kServices;
using policy::NodeParams;
using policy::Policy;
using policy::PolicyPtr;
using policy::Service;
using policy::ServiceSwitches;

struct ListenerInfo {
  std::string transport;  // "udp", "tcp", "tls"
  std::string address;    // IP literal, IPv6 without brackets
  uint16_t port = 0;
  std::string service;  // "sip-proxy", "sip-federation", "admin"
};

enum class ServiceState { Running, Stopped, Starting, Stopping };

struct ServiceStatus {
  ServiceState state = ServiceState::Stopped;
  std::vector<ListenerInfo> listeners;  // bound now; empty when stopped
  int64_t since = 0;                    // unix seconds of the last state change
};

struct NodeStatus {
  std::string version;  // HERALD_VERSION_STRING
  std::string node;     // [node] name
  int64_t started_at = 0;
  std::vector<ListenerInfo> listeners;
  std::map<std::string, uint64_t> counters;  // "sip.received" -> n (admin-api.md, Status)
  std::string store_path;
  int schema_version = 0;
};

class NodeControl {
 public:
  virtual ~NodeControl() = default;

  // Makes `policy` the one every SIP worker uses for new requests (and starts or stops
  // services whose switch changed). Returns once it is live on every worker; an error
  // (a service that cannot start: its port is taken) leaves the previous policy in force.
  [[nodiscard]] virtual Result<void> applyPolicy(PolicyPtr policy) = 0;

  // A user was created or its credentials or display name changed / was deleted; returns
  // once the node authenticates against the new state. `ha1_*` as in store::UserRecord.
  virtual void userChanged(const std::string& username, const std::string& domain,
                           const std::string& ha1_md5, const std::string& ha1_sha256) = 0;
  virtual void userDeleted(const std::string& username, const std::string& domain) = 0;
  // Contacts registered now for sip:username@domain.
  virtual size_t registeredContacts(const std::string& username, const std::string& domain) = 0;

  // Stops and starts a running service (new sockets, same policy).
  [[nodiscard]] virtual Result<void> restartService(Service s) = 0;
  virtual ServiceStatus serviceStatus(Service s) = 0;
  virtual NodeStatus status() = 0;
};

}  // namespace herald::admin
