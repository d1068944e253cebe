#pragma once

// FakeNodeControl: a NodeControl for tests of the admin plane (no sockets, no SIP). It keeps
// what it was told (policies, user changes) and can be told to fail applyPolicy or
// restartService. Services follow the switches of the last applied policy.
//
//   FakeNodeControl node;
//   node.fail_apply = "cannot bind tls 0.0.0.0:5061: Address already in use";
//   auto admin = AdminService::open(db, dir, node, seed);

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "admin/node_control.h"
#include "common/error.h"

namespace herald::admin {

class FakeNodeControl final : public NodeControl {
 public:
  struct Credentials {
    std::string ha1_md5;
    std::string ha1_sha256;
  };

  Result<void> applyPolicy(PolicyPtr policy) override {
    if (during_apply) during_apply();
    std::lock_guard<std::mutex> lock(mu);
    ++apply_calls;
    if (!fail_apply.empty()) return unexpected(unavailable(fail_apply));
    applied = policy;
    return {};
  }
  void userChanged(const std::string& username, const std::string& domain,
                   const std::string& ha1_md5, const std::string& ha1_sha256) override {
    std::lock_guard<std::mutex> lock(mu);
    users[username + "@" + domain] = Credentials{ha1_md5, ha1_sha256};
    events.push_back("changed " + username + "@" + domain);
  }
  void userDeleted(const std::string& username, const std::string& domain) override {
    std::lock_guard<std::mutex> lock(mu);
    users.erase(username + "@" + domain);
    contacts.erase(username + "@" + domain);
    events.push_back("deleted " + username + "@" + domain);
  }
  size_t registeredContacts(const std::string& username, const std::string& domain) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = contacts.find(username + "@" + domain);
    return it == contacts.end() ? 0 : it->second;
  }
  Result<void> restartService(Service s) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!fail_restart.empty()) return unexpected(unavailable(fail_restart));
    ++restarts[s];
    return {};
  }
  ServiceStatus serviceStatus(Service s) override {
    std::lock_guard<std::mutex> lock(mu);
    bool running = applied ? applied->services.activated(s) : true;
    ServiceStatus st;
    st.state = running ? ServiceState::Running : ServiceState::Stopped;
    st.since = 1'700'000'000 + restarts[s];
    if (running && s == Service::SipProxy) {
      st.listeners = {{"udp", "0.0.0.0", 5060, "sip-proxy"}, {"tcp", "0.0.0.0", 5060, "sip-proxy"}};
    } else if (running && s == Service::SipFederation) {
      st.listeners = {{"tls", "0.0.0.0", 5061, "sip-federation"}};
    }
    return st;
  }
  NodeStatus status() override {
    NodeStatus s;
    s.version = "0.4.0";
    s.node = "herald-1";
    s.started_at = 1'700'000'000;
    s.listeners = {{"udp", "0.0.0.0", 5060, "sip-proxy"}, {"tcp", "127.0.0.1", 8080, "admin"}};
    s.counters = {{"sip.received", 12}, {"sip.sent", 10}};
    s.store_path = "/var/lib/herald/herald.db";
    s.schema_version = 2;
    return s;
  }

  std::mutex mu;
  PolicyPtr applied;                   // the last policy applied successfully
  int apply_calls = 0;                 // successful or not
  std::string fail_apply;              // non-empty: applyPolicy fails with this detail
  std::string fail_restart;            // non-empty: restartService fails with this detail
  std::function<void()> during_apply;  // runs first in applyPolicy (to hold a change open)
  std::map<Service, int> restarts;
  std::map<std::string, Credentials> users;  // "user@domain" -> HA1s, as last told
  std::map<std::string, size_t> contacts;    // "user@domain" -> registered contacts
  std::vector<std::string> events;           // "changed alice@example.org", "deleted ..."
};

}  // namespace herald::admin
