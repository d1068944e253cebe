#include "registrar/location_service.h"

#include <algorithm>
#include <optional>

namespace herald::registrar {

store::BindingRecord toRecord(const std::string& aor, const Binding& b) {
  store::BindingRecord r;
  r.aor = aor;
  r.contact = b.contact;
  r.contact_params = b.contact_params;
  r.q = b.q;
  r.expires_at = b.expires_at;
  r.call_id = b.call_id;
  r.cseq = b.cseq;
  r.transport = std::string(sip::transportName(b.transport));
  r.source = b.source.toString();
  r.instance = b.instance;
  r.user_agent = b.user_agent;
  return r;
}

namespace {

std::optional<sip::Proxy::Target> targetFor(const Binding& b) {
  sip::Proxy::Target t;
  t.request_uri = b.contact;
  t.next_hop.transport = b.transport;
  t.next_hop.connection = b.connection;
  t.next_hop.endpoint = b.source;
  auto uri = sip::parseUri(b.contact);
  if (uri && uri->isSip()) {
    // Without a flow (registered over UDP), the Contact's transport parameter decides.
    if (b.connection == 0 && b.transport == sip::Transport::Udp) {
      if (auto tp = sip::transportFromName(uri->transportParam())) t.next_hop.transport = *tp;
      if (uri->scheme == sip::UriScheme::Sips) t.next_hop.transport = sip::Transport::Tls;
    }
    auto ep = Endpoint::fromAddress(uri->host,
                                    uri->port.value_or(sip::defaultPort(t.next_hop.transport)));
    if (ep) t.next_hop.endpoint = *ep;
  }
  if (!t.next_hop.endpoint.valid()) return std::nullopt;
  return t;
}

// Highest q first; bindings without q count as 1.0; equal q keep their order.
bool higherQ(const Binding& a, const Binding& b) {
  return (a.q < 0 ? 1000 : a.q) > (b.q < 0 ? 1000 : b.q);
}

}  // namespace

std::vector<sip::Proxy::Target> targetsFor(const std::vector<Binding>& bindings) {
  std::vector<sip::Proxy::Target> out;
  for (const Binding& b : bindings) {
    if (auto t = targetFor(b)) out.push_back(std::move(*t));
  }
  return out;
}

Binding fromRecord(const store::BindingRecord& r) {
  Binding b;
  b.contact = r.contact;
  b.contact_params = r.contact_params;
  b.q = r.q;
  b.expires_at = r.expires_at;
  b.call_id = r.call_id;
  b.cseq = static_cast<uint32_t>(r.cseq);
  b.transport = sip::transportFromName(r.transport).value_or(sip::Transport::Udp);
  if (auto ep = Endpoint::parse(r.source)) b.source = *ep;
  // A stream connection does not survive a restart: the client reconnects and re-registers.
  b.connection = 0;
  b.instance = r.instance;
  b.user_agent = r.user_agent;
  return b;
}

LocationService::Shard& LocationService::shard(const std::string& aor) const {
  return shards_[std::hash<std::string>{}(aor) % kShards];
}

Result<std::vector<Binding>> LocationService::update(const std::string& aor, int64_t now,
                                                     const Mutation& mutate, Persisted done) {
  Shard& s = shard(aor);
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<Binding> bindings;
  if (auto it = s.map.find(aor); it != s.map.end()) bindings = it->second;
  std::erase_if(bindings, [now](const Binding& b) { return b.expires_at <= now; });
  HERALD_TRY(mutate(bindings));
  if (bindings.empty()) {
    s.map.erase(aor);
  } else {
    s.map[aor] = bindings;
  }
  if (persist_) {
    persist_(aor, bindings, std::move(done));
  } else if (done) {
    done({});
  }
  return bindings;
}

template <class F>
void LocationService::visitByQ(const std::string& aor, int64_t now, F&& visit) const {
  Shard& s = shard(aor);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(aor);
  if (it == s.map.end()) return;
  const std::vector<Binding>& all = it->second;
  if (all.size() == 1) {
    if (all.front().expires_at > now) visit(all.front());
    return;
  }
  std::vector<const Binding*> order;
  order.reserve(all.size());
  for (const Binding& b : all) {
    if (b.expires_at > now) order.push_back(&b);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Binding* a, const Binding* b) { return higherQ(*a, *b); });
  for (const Binding* b : order) visit(*b);
}

std::vector<Binding> LocationService::lookup(const std::string& aor, int64_t now) const {
  std::vector<Binding> out;
  visitByQ(aor, now, [&](const Binding& b) { out.push_back(b); });
  return out;
}

std::vector<sip::Proxy::Target> LocationService::targets(const std::string& aor,
                                                         int64_t now) const {
  std::vector<sip::Proxy::Target> out;
  visitByQ(aor, now, [&](const Binding& b) {
    if (auto t = targetFor(b)) out.push_back(std::move(*t));
  });
  return out;
}

void LocationService::load(const std::vector<store::BindingRecord>& records) {
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    s.map.clear();
  }
  for (const auto& r : records) {
    Shard& s = shard(r.aor);
    std::lock_guard<std::mutex> lock(s.mu);
    s.map[r.aor].push_back(fromRecord(r));
  }
}

size_t LocationService::bindingCount() const {
  size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    for (const auto& [aor, v] : s.map) n += v.size();
  }
  return n;
}

size_t LocationService::purge(int64_t now) {
  size_t removed = 0;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto it = s.map.begin(); it != s.map.end();) {
      removed += static_cast<size_t>(
          std::erase_if(it->second, [now](const Binding& b) { return b.expires_at <= now; }));
      it = it->second.empty() ? s.map.erase(it) : std::next(it);
    }
  }
  return removed;
}

}  // namespace herald::registrar
