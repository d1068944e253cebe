#include "server/node.h"

#include <unistd.h>

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

 private:
  sip::TransportSender sender_;
  sip::TransactionManager tm_;
  registrar::Registrar registrar_;
  im::ImService im_;
  SipRouter router_;
  sip::Proxy proxy_;
};

}  // namespace

struct Node::Impl {
  const Clock& clock = SystemClock::instance();
  std::unique_ptr<store::StoreWorker> store;
  registrar::UserDirectory users;
  registrar::LocationService location;
  std::unique_ptr<registrar::DigestAuthenticator> auth;
  im::DeliveryGuard delivery_guard;
  RoutingPolicy policy;
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
      router_(node.policy, registrar_, im_, node.location, node.users, *node.auth, node.clock),
      proxy_(tm_, node.local, node.proxy_config, router_, node.clock, node.resolver) {
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
  impl_ = std::make_unique<Impl>();
  Impl& n = *impl_;
  std::error_code ec;
  std::filesystem::create_directories(config_.node.data_dir, ec);
  if (ec) {
    return unexpected(unavailable("cannot create data directory " + config_.node.data_dir.string() +
                                  ": " + ec.message()));
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
  auto opened = store::openSqliteStore(db_path);
  if (!opened) return unexpected(opened.error());
  auto users = (*opened)->listUsers();
  if (!users) return unexpected(users.error());
  n.users.replace(*users);
  auto bindings = (*opened)->loadBindings(n.clock.unixSeconds());
  if (!bindings) return unexpected(bindings.error());
  n.location.load(*bindings);
  HLOG_INFO(Server, "store {}: {} users, {} bindings", db_path.string(), users->size(),
            bindings->size());
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
      if (auto list = s.listUsers()) directory->replace(*list);
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

  for (const auto& d : config_.sip.domains) n.policy.domains.insert(d);
  for (const auto& t : config_.sip.trusted_sources) n.policy.trusted.push_back(*Cidr::parse(t));
  if (n.policy.domains.empty()) HLOG_WARN(Server, "no local domains configured (sip.domains)");
  for (const auto& d : n.policy.domains) HLOG_INFO(Server, "local domain {}", d);
  for (const auto& t : config_.sip.trusted_sources) HLOG_INFO(Server, "trusted source {}", t);

  registrar::DigestConfig digest;
  digest.nonce_ttl = Duration(config_.registrar.nonce_ttl_s * 1000LL);
  digest.algorithms.clear();
  for (const auto& a : config_.registrar.digest_algorithms) {
    digest.algorithms.push_back(a == "MD5" ? registrar::DigestAlgorithm::Md5
                                           : registrar::DigestAlgorithm::Sha256);
  }
  n.auth = std::make_unique<registrar::DigestAuthenticator>(n.clock, digest);
  n.registrar_config =
      registrar::RegistrarConfig{config_.registrar.min_expires, config_.registrar.max_expires,
                                 config_.registrar.default_expires, config_.registrar.max_contacts};
  n.timers = sip::TimerConfig{Duration(config_.sip.t1_ms), Duration(config_.sip.t2_ms),
                              Duration(config_.sip.t4_ms)};
  n.proxy_config.server_name = "Herald/" + std::string(HERALD_VERSION_STRING);

  sip::TransportConfig tc;
  tc.workers = config_.sip.workers;
  tc.limits = config_.sip.limits;
  tc.idle_timeout = Duration(int64_t{config_.sip.tcp_idle_timeout_s} * 1000);
  tc.max_connections = config_.sip.max_connections;
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
  for (const auto& l : listenerDescriptions()) HLOG_INFO(Server, "SIP listening on {}", l);
  HLOG_INFO(Server, "{} SIP workers, advertised host {}", n.transport->workers(), n.hostname);
  return {};
}

void Node::stop() {
  if (!impl_) return;
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
  impl_.reset();
  HLOG_INFO(Server, "node {} stopped", config_.node.name);
}

}  // namespace herald::server
