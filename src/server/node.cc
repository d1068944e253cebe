#include "server/node.h"

#include <unistd.h>

#include <future>
#include <map>
#include <mutex>

#include "admin/admin_service.h"
#include "admin/http_api.h"
#include "common/clock.h"
#include "common/log.h"
#include "im/im_service.h"
#include "registrar/digest.h"
#include "registrar/location_service.h"
#include "registrar/registrar.h"
#include "registrar/user_directory.h"
#include "server/dev_certificate.h"
#include "server/sip_router.h"
#include "sip/proxy/proxy.h"
#include "sip/transaction/transaction_manager.h"
#include "sip/transport/transport_layer.h"
#include "store/file_modes.h"
#include "store/store_worker.h"

namespace herald::server {

namespace {

// The SIP stack of one worker: transactions, proxy, registrar, IM and routing.
class WorkerStack final : public sip::TransportReceiver {
 public:
  WorkerStack(uint32_t index, Node::Impl& node);

  void onMessage(std::unique_ptr<sip::SipMessage> msg, const sip::Origin& origin) override {
    if (msg->isRequest()) {
      tm_.receiveRequest(std::move(msg), origin);
    } else {
      tm_.receiveResponse(std::move(msg), origin);
    }
  }
  void onTransportError(sip::TxId tx) override { tm_.onTransportError(tx); }
  std::string describe() const {
    return "transactions " + std::to_string(tm_.liveTransactions()) + ", proxy contexts " +
           std::to_string(proxy_.activeContexts());
  }
  void onTick(TimePoint now) override {
    tm_.advance(now);
    proxy_.onTick(now);
  }
  bool idle() const override {
    return tm_.liveTransactions() == 0 && tm_.retiredCount() == 0 &&
           proxy_.activeContexts() == 0;
  }
  // On this worker, between requests: the snapshot new requests see from now on.
  void applyPolicy(const policy::PolicyPtr& policy) {
    routing_.policy = policy;
    const policy::NodeParams& p = policy->node;
    tm_.setTimers(sip::TimerConfig{Duration(p.sip_t1_ms), Duration(p.sip_t2_ms),
                                   Duration(p.sip_t4_ms)});
    registrar::RegistrarConfig rc = registrar_base_;
    rc.min_expires = p.registrar_min_expires_s;
    rc.max_expires = p.registrar_max_expires_s;
    registrar_.setConfig(rc);
  }
  const sip::TransactionManager::Stats& transactionStats() const { return tm_.stats(); }

 private:
  RoutingPolicy routing_;
  registrar::RegistrarConfig registrar_base_;
  sip::TransportSender sender_;
  sip::TransactionManager tm_;
  registrar::Registrar registrar_;
  im::ImService im_;
  SipRouter router_;
  sip::Proxy proxy_;
};

const char* serviceName(policy::Service s) {
  switch (s) {
    case policy::Service::SipProxy:
      return "sip-proxy";
    case policy::Service::SipFederation:
      return "sip-federation";
    case policy::Service::Presence:
      return "presence";
  }
  return "?";
}

// The node parameters as the config file sets them: the base that API values override.
policy::NodeParams nodeDefaults(const config::Config& c) {
  policy::NodeParams p;
  p.sip_t1_ms = static_cast<int>(c.sip.t1_ms);
  p.sip_t2_ms = static_cast<int>(c.sip.t2_ms);
  p.sip_t4_ms = static_cast<int>(c.sip.t4_ms);
  p.registrar_min_expires_s = static_cast<int>(c.registrar.min_expires);
  p.registrar_max_expires_s = static_cast<int>(c.registrar.max_expires);
  p.tcp_idle_timeout_s = static_cast<int>(c.sip.tcp_idle_timeout_s);
  p.max_connections = static_cast<int>(c.sip.max_connections);
  p.log_level = c.log.options.level;
  return p;
}

}  // namespace

struct Node::Impl final : public admin::NodeControl {
  explicit Impl(const config::Config& c) : config(c) {}

  // admin::NodeControl (admin threads).
  Result<void> applyPolicy(policy::PolicyPtr policy) override;
  void userChanged(const std::string& username, const std::string& domain,
                   const std::string& ha1_md5, const std::string& ha1_sha256) override;
  void userDeleted(const std::string& username, const std::string& domain) override;
  size_t registeredContacts(const std::string& username, const std::string& domain) override;
  Result<void> restartService(policy::Service s) override;
  admin::ServiceStatus serviceStatus(policy::Service s) override;
  admin::NodeStatus status() override;

  // Runs f on every worker, one after the other, and returns when all have.
  void onEveryWorker(const std::function<void(WorkerStack&)>& f);
  std::vector<admin::ListenerInfo> sipListeners() const;

  const config::Config& config;
  const Clock& clock = SystemClock::instance();
  int64_t started_at = 0;
  std::filesystem::path db_path;
  int schema_version = 0;
  // The policy in force, and when each service last changed state. apply_mu serializes
  // changes (the admin plane already does; this keeps NodeControl safe on its own).
  std::mutex apply_mu;
  mutable std::mutex policy_mu;
  policy::PolicyPtr policy;
  std::map<policy::Service, int64_t> service_since;
  std::unique_ptr<admin::AdminService> admin;
  std::unique_ptr<admin::HttpApi> http;
  std::unique_ptr<store::StoreWorker> store;
  registrar::UserDirectory users;
  registrar::LocationService location;
  std::unique_ptr<registrar::DigestAuthenticator> auth;
  im::DeliveryGuard delivery_guard;
  std::vector<Cidr> trusted;
  sip::NextHopResolver resolver;
  sip::LocalAddresses local;
  sip::ProxyConfig proxy_config;
  registrar::RegistrarConfig registrar_config;
  sip::TimerConfig timers;
  std::unique_ptr<sip::TransportLayer> transport;
  std::vector<std::unique_ptr<sip::TransportReceiver>> stacks;
  std::string hostname;
};

WorkerStack::WorkerStack(uint32_t index, Node::Impl& node)
    : sender_(*node.transport),
      tm_(node.clock, node.timers, sender_, index),
      registrar_(
          node.registrar_config, node.clock, node.location, node.users, *node.auth,
          [&node, index](std::function<void()> f) { node.transport->post(index, std::move(f)); }),
      im_(
          node.clock, node.location, *node.store, node.delivery_guard,
          [&node, index](std::function<void()> f) { node.transport->post(index, std::move(f)); },
          node.hostname),
      router_(routing_, registrar_, im_, node.location, node.users, *node.auth, node.clock),
      proxy_(tm_, node.local, node.proxy_config, router_, node.clock, node.resolver) {
  routing_.trusted = node.trusted;
  registrar_base_ = node.registrar_config;
  applyPolicy(node.policy);
  tm_.setUser(&proxy_);
  registrar_.setOnRegistered([this](const std::string& aor) { im_.deliverStored(proxy_, aor); });
}

Node::Node(config::Config config) : config_(std::move(config)) {}

Node::~Node() { stop(); }

std::vector<std::string> Node::listenerDescriptions() const {
  std::vector<std::string> out;
  if (!impl_ || !impl_->transport) return out;
  for (const auto& l : impl_->transport->boundListeners()) {
    std::string t(sip::transportName(l.transport));
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(t + " " + l.address.toString());
  }
  return out;
}

Result<void> Node::start() {
  impl_ = std::make_unique<Impl>(config_);
  Impl& n = *impl_;
  if (auto dir = store::ensurePrivateDirectory(config_.node.data_dir); !dir) {
    return unexpected(dir.error());
  }
  HLOG_INFO(Server, "node {} starting, data in {}", config_.node.name,
            config_.node.data_dir.string());

  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  n.hostname = config_.sip.hostname.empty() ? host : config_.sip.hostname;

  if (config_.tls.certificate.empty()) {
    auto cert = ensureDevCertificate(config_.node.data_dir / "tls", n.hostname);
    if (!cert) return unexpected(cert.error());
    HLOG_INFO(Server, "{} development TLS certificate {} ({}, valid until {})",
              cert->generated ? "generated" : "using", cert->certificate.string(), cert->subject,
              cert->not_after);
    config_.tls.certificate = cert->certificate;
    config_.tls.private_key = cert->private_key;
  } else {
    HLOG_INFO(Server, "TLS certificate {}", config_.tls.certificate.string());
  }

  // Store: users and bindings are loaded before any request can arrive.
  auto db_path = config_.node.data_dir / "herald.db";
  n.db_path = db_path;
  n.started_at = n.clock.unixSeconds();
  auto opened = store::openSqliteStore(db_path);
  if (!opened) return unexpected(opened.error());
  auto users = (*opened)->listUsers();
  if (!users) return unexpected(users.error());
  n.users.replace(*users);
  auto bindings = (*opened)->loadBindings(n.clock.unixSeconds());
  if (!bindings) return unexpected(bindings.error());
  n.location.load(*bindings);
  n.schema_version = (*opened)->schemaVersion();
  HLOG_INFO(Server, "store {} (schema {}): {} users, {} bindings", db_path.string(),
            n.schema_version, users->size(), bindings->size());
  n.store = std::make_unique<store::StoreWorker>(std::move(*opened));
  store::StoreWorker* store_worker = n.store.get();
  n.location.setPersist([store_worker](const std::string& aor,
                                       const std::vector<registrar::Binding>& current,
                                       registrar::LocationService::Persisted done) {
    std::vector<store::BindingRecord> rows;
    for (const auto& b : current) rows.push_back(registrar::toRecord(aor, b));
    store_worker->submit([aor, rows](store::Store& s) { return s.replaceBindings(aor, rows); },
                         std::move(done));
  });
  // Every second on the store thread: reload users edited by the CLI while the node runs
  // (the store's data version moves), and every minute drop expired bindings from memory and
  // disk (lookups already skip them; this bounds what unrefreshed registrations hold).
  auto last_version = std::make_shared<int64_t>(-1);
  auto ticks = std::make_shared<uint32_t>(0);
  registrar::UserDirectory* directory = &n.users;
  registrar::LocationService* location = &n.location;
  const Clock* clock = &n.clock;
  n.store->setPeriodic(std::chrono::seconds(1), [=](store::Store& s) {
    int64_t v = s.dataVersion();
    if (*last_version != -1 && v != *last_version) {
      // A user changed through the admin plane while the list was read may be missing from
      // it: then the list is not used, and the next tick reads again.
      uint64_t generation = directory->generation();
      auto list = s.listUsers();
      if (!list || !directory->replaceIfUnchanged(*list, generation)) return;
    }
    *last_version = v;
    if (++*ticks % 60 == 0) {
      int64_t now = clock->unixSeconds();
      size_t in_memory = location->purge(now);
      auto on_disk = s.deleteExpiredBindings(now);
      if (!on_disk) {
        HLOG_WARN(Server, "cannot delete expired bindings: {}", on_disk.error().toString());
      } else if (in_memory > 0 || *on_disk > 0) {
        HLOG_DEBUG(Server, "expired bindings removed: {} in memory, {} stored", in_memory,
                   *on_disk);
      }
    }
  });
  n.store->start();

  // The admin plane: its objects live in the store; the config file seeds them.
  admin::Seed seed;
  seed.node_name = config_.node.name;
  seed.config_domains = config_.sip.domains;
  seed.cluster_defaults.federation_routing_fqdn = n.hostname;
  seed.node_defaults = nodeDefaults(config_);
  seed.initial_admin_password = config_.admin.initial_password;
  seed.audit_retention_days = config_.admin.audit_retention_days;
  seed.audit_retention_rows = config_.admin.audit_retention_rows;
  auto admin = admin::AdminService::open(db_path, config_.node.data_dir, n, seed);
  if (!admin) {
    return unexpected(unavailable("admin plane: " + admin.error().message));
  }
  n.admin = std::move(*admin);
  n.policy = n.admin->policy();
  const policy::Policy& policy = *n.policy;
  for (const auto& t : config_.sip.trusted_sources) n.trusted.push_back(*Cidr::parse(t));
  if (policy.local_domains.empty()) HLOG_WARN(Server, "no local domains (sip.domains, or add one)");
  for (const auto& d : policy.local_domains) HLOG_INFO(Server, "local domain {}", d);
  for (const auto& t : config_.sip.trusted_sources) HLOG_INFO(Server, "trusted source {}", t);

  registrar::DigestConfig digest;
  digest.nonce_ttl = Duration(config_.registrar.nonce_ttl_s * 1000LL);
  digest.check_uri = config_.registrar.digest_uri_check;
  digest.algorithms.clear();
  for (const auto& a : config_.registrar.digest_algorithms) {
    digest.algorithms.push_back(a == "MD5" ? registrar::DigestAlgorithm::Md5
                                           : registrar::DigestAlgorithm::Sha256);
  }
  n.auth = std::make_unique<registrar::DigestAuthenticator>(n.clock, digest);
  n.registrar_config =
      registrar::RegistrarConfig{config_.registrar.min_expires, config_.registrar.max_expires,
                                 config_.registrar.default_expires, config_.registrar.max_contacts};
  n.timers = sip::TimerConfig{Duration(policy.node.sip_t1_ms), Duration(policy.node.sip_t2_ms),
                              Duration(policy.node.sip_t4_ms)};
  // A level set through the API wins over the file's (and its per-subsystem levels).
  if (policy.node.log_level != config_.log.options.level) log::setLevel("*", policy.node.log_level);
  n.proxy_config.server_name = "Herald/" + std::string(HERALD_VERSION_STRING);

  sip::TransportConfig tc;
  tc.workers = config_.sip.workers;
  tc.batch_scheduling = config_.sip.worker_scheduling == "batch";
  tc.limits = config_.sip.limits;
  tc.idle_timeout = Duration(int64_t{policy.node.tcp_idle_timeout_s} * 1000);
  tc.max_connections = static_cast<uint32_t>(policy.node.max_connections);
  tc.message_timeout = Duration(int64_t{config_.sip.tcp_message_timeout_s} * 1000);
  tc.max_connections_per_address = config_.sip.max_connections_per_address;
  tc.max_write_queue_bytes = config_.sip.max_write_queue_bytes;
  tc.tls.certificate = config_.tls.certificate;
  tc.tls.private_key = config_.tls.private_key;
  tc.tls.ca_file = config_.tls.ca_file;
  tc.tls.ciphers = config_.tls.ciphers;
  tc.tls.min_version = config_.tls.min_version;
  tc.tls.verify_server = config_.tls.verify_server;
  for (const auto& l : config_.sip.listeners) {
    sip::ListenerSpec spec;
    spec.transport = l.transport == config::Transport::Udp   ? sip::Transport::Udp
                     : l.transport == config::Transport::Tcp ? sip::Transport::Tcp
                                                             : sip::Transport::Tls;
    spec.address = *Endpoint::fromAddress(l.address, l.port);
    tc.listeners.push_back(spec);
  }
  n.transport = std::make_unique<sip::TransportLayer>(tc, n.clock);
  if (auto bound = n.transport->bind(); !bound) return bound;

  std::vector<sip::LocalListener> listeners;
  for (const auto& l : n.transport->boundListeners()) {
    listeners.push_back(sip::LocalListener{l.transport, l.address});
  }
  n.local = sip::LocalAddresses(listeners, {n.hostname});

  for (uint32_t w = 0; w < n.transport->workers(); ++w) {
    n.stacks.push_back(std::make_unique<WorkerStack>(w, n));
    n.transport->setReceiver(w, n.stacks.back().get());
  }
  n.transport->start();
  for (policy::Service s : policy::kServices) n.service_since[s] = n.clock.unixSeconds();
  if (!policy.services.sip_proxy) {
    n.transport->closeListeners();
    HLOG_WARN(Server, "service sip-proxy is deactivated: no SIP listener is open");
  } else {
    for (const auto& l : listenerDescriptions()) HLOG_INFO(Server, "SIP listening on {}", l);
  }
  HLOG_INFO(Server, "{} SIP workers, advertised host {}, policy version {}",
            n.transport->workers(), n.hostname, policy.version);

  if (config_.admin.enabled) {
    admin::HttpApiOptions o;
    o.address = config_.admin.address;
    o.port = config_.admin.port;
    o.tls_certificate = config_.admin.tls_certificate;
    o.tls_private_key = config_.admin.tls_private_key;
    o.allowed_hosts = config_.admin.allowed_hosts;
    o.max_connections = config_.admin.max_connections;
    o.max_connections_per_source = config_.admin.max_connections_per_source;
    o.header_timeout = std::chrono::seconds(config_.admin.header_timeout_s);
    o.body_timeout = std::chrono::seconds(config_.admin.body_timeout_s);
    n.http = std::make_unique<admin::HttpApi>(*n.admin, o);
    if (auto started = n.http->start(); !started) return started;
    const bool v6 = config_.admin.address.find(':') != std::string::npos;
    HLOG_INFO(Server, "admin console and API on {}://{}{}{}:{}/",
              o.tls_certificate.empty() ? "http" : "https", v6 ? "[" : "",
              config_.admin.address, v6 ? "]" : "", n.http->port());
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// admin::NodeControl

void Node::Impl::onEveryWorker(const std::function<void(WorkerStack&)>& f) {
  for (uint32_t w = 0; w < transport->workers(); ++w) {
    std::promise<void> done;
    auto* stack = static_cast<WorkerStack*>(stacks[w].get());
    transport->post(w, [&] {
      f(*stack);
      done.set_value();
    });
    done.get_future().wait();
  }
}

Result<void> Node::Impl::applyPolicy(policy::PolicyPtr next) {
  std::lock_guard<std::mutex> apply(apply_mu);
  policy::PolicyPtr prev;
  {
    std::lock_guard<std::mutex> lock(policy_mu);
    prev = policy;
  }
  // Services first: a listener that cannot open refuses the whole change.
  if (next->services.sip_proxy != prev->services.sip_proxy) {
    if (next->services.sip_proxy) {
      if (auto r = transport->reopenListeners(); !r) return r;
      HLOG_INFO(Server, "service sip-proxy activated: SIP listeners open");
    } else {
      transport->closeListeners();
      HLOG_INFO(Server, "service sip-proxy deactivated: SIP listeners closed");
    }
  }
  for (policy::Service s : policy::kServices) {
    if (next->services.activated(s) != prev->services.activated(s)) {
      std::lock_guard<std::mutex> lock(policy_mu);
      service_since[s] = clock.unixSeconds();
    }
  }
  const policy::NodeParams& p = next->node;
  if (p.log_level != prev->node.log_level) log::setLevel("*", p.log_level);
  transport->setConnectionLimits(Duration(int64_t{p.tcp_idle_timeout_s} * 1000),
                                 static_cast<uint32_t>(p.max_connections));
  onEveryWorker([&](WorkerStack& w) { w.applyPolicy(next); });
  {
    std::lock_guard<std::mutex> lock(policy_mu);
    policy = next;
  }
  HLOG_INFO(Server, "policy version {} applied", next->version);
  return {};
}

void Node::Impl::userChanged(const std::string& username, const std::string& domain,
                             const std::string& ha1_md5, const std::string& ha1_sha256) {
  users.upsert(registrar::UserEntry{username, domain, "", ha1_md5, ha1_sha256});
}

void Node::Impl::userDeleted(const std::string& username, const std::string& domain) {
  users.erase(username, domain);
  // Its registrations go too (and from the store, through the location service).
  std::string aor = "sip:" + username + "@" + domain;
  std::promise<void> done;
  auto r = location.update(
      aor, clock.unixSeconds(),
      [](std::vector<registrar::Binding>& b) -> Result<void> {
        b.clear();
        return {};
      },
      [&done](Result<void>) { done.set_value(); });
  if (r) done.get_future().wait();
}

size_t Node::Impl::registeredContacts(const std::string& username, const std::string& domain) {
  return location.lookup("sip:" + username + "@" + domain, clock.unixSeconds()).size();
}

Result<void> Node::Impl::restartService(policy::Service s) {
  std::lock_guard<std::mutex> apply(apply_mu);
  if (s == policy::Service::SipProxy) {
    transport->closeListeners();
    if (auto r = transport->reopenListeners(); !r) return r;
  }
  std::lock_guard<std::mutex> lock(policy_mu);
  service_since[s] = clock.unixSeconds();
  HLOG_INFO(Server, "service {} restarted", serviceName(s));
  return {};
}

std::vector<admin::ListenerInfo> Node::Impl::sipListeners() const {
  std::vector<admin::ListenerInfo> out;
  for (const auto& l : transport->boundListeners()) {
    std::string t(sip::transportName(l.transport));
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(admin::ListenerInfo{t, l.address.address(), l.address.port(),
                                      "sip-proxy"});
  }
  return out;
}

admin::ServiceStatus Node::Impl::serviceStatus(policy::Service s) {
  admin::ServiceStatus st;
  std::lock_guard<std::mutex> lock(policy_mu);
  st.since = service_since[s];
  const bool on = policy->services.activated(s);
  st.state = on ? admin::ServiceState::Running : admin::ServiceState::Stopped;
  if (s == policy::Service::SipProxy && on && transport->listening()) st.listeners = sipListeners();
  return st;
}

admin::NodeStatus Node::Impl::status() {
  admin::NodeStatus st;
  st.version = HERALD_VERSION_STRING;
  st.node = config.node.name;
  st.started_at = started_at;
  if (transport->listening()) st.listeners = sipListeners();
  if (http) {
    st.listeners.push_back(http->listener());
    st.counters["admin.connections_open"] = http->openConnections();
    st.counters["admin.connections_refused"] = http->refusedConnections();
  }
  auto t = transport->stats();
  st.counters["sip.received"] = t.received;
  st.counters["sip.sent"] = t.sent;
  st.counters["sip.parse_errors"] = t.parse_errors;
  st.counters["sip.connections_open"] = t.connections_open;
  st.counters["sip.connections_rejected"] = t.connections_rejected;
  st.counters["sip.message_timeouts"] = t.message_timeouts;
  st.counters["sip.connections_rejected_per_address"] = t.connections_rejected_per_address;
  st.counters["sip.write_buffer_bytes"] = t.write_buffer_bytes;
  st.counters["sip.send_failures"] = t.send_failures;
  st.counters["sip.handoffs"] = t.handoffs;
  uint64_t server = 0, client = 0, timeouts = 0;
  onEveryWorker([&](WorkerStack& w) {
    server += w.transactionStats().server_created;
    client += w.transactionStats().client_created;
    timeouts += w.transactionStats().client_timeouts;
  });
  st.counters["transactions.server_created"] = server;
  st.counters["transactions.client_created"] = client;
  st.counters["transactions.client_timeouts"] = timeouts;
  st.counters["registrar.bindings"] = location.bindingCount();
  st.counters["registrar.users"] = users.size();
  st.store_path = db_path.string();
  st.schema_version = schema_version;
  return st;
}

void Node::stop() {
  if (!impl_) return;
  // The admin plane first: it calls into everything below.
  if (impl_->http) impl_->http->stop();
  impl_->http.reset();
  if (impl_->transport) {
    auto st = impl_->transport->stats();
    HLOG_INFO(Server,
              "SIP totals: received {}, sent {}, parse errors {}, hand-offs {}, send failures {}, "
              "keep-alives {}",
              st.received, st.sent, st.parse_errors, st.handoffs, st.send_failures,
              st.keepalive_pings);
    impl_->transport->stop();
    for (size_t w = 0; w < impl_->stacks.size(); ++w) {
      HLOG_INFO(Server, "worker {}: {}", w,
                static_cast<WorkerStack*>(impl_->stacks[w].get())->describe());
    }
  }
  if (impl_->store) impl_->store->stop();
  impl_->admin.reset();
  impl_.reset();
  HLOG_INFO(Server, "node {} stopped", config_.node.name);
}

}  // namespace herald::server
