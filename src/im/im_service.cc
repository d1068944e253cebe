#include "im/im_service.h"

#include <ctime>
#include <random>

#include "common/log.h"

namespace herald::im {

bool DeliveryGuard::begin(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return in_flight_.insert(id).second;
}

void DeliveryGuard::end(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase(id);
}

std::string httpDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

ImService::ImService(const Clock& clock, registrar::LocationService& location,
                     store::StoreWorker& store, DeliveryGuard& guard, Post post,
                     std::string local_host)
    : clock_(clock),
      location_(location),
      store_(store),
      guard_(guard),
      post_(std::move(post)),
      local_host_(std::move(local_host)) {}

void ImService::deliver(sip::Proxy& proxy, sip::RequestContext& ctx, const std::string& aor) {
  auto targets = location_.targets(aor, clock_.unixSeconds());
  if (targets.empty()) {
    storeOffline(proxy, ctx, aor);
    return;
  }
  ++stats_.delivered;
  proxy.forward(ctx, std::move(targets),
                [this, &proxy, aor](sip::RequestContext& c, uint16_t best) {
                  // Nobody answered: keep the message for the next registration.
                  if (best == 408 || best == 480 || best >= 500) {
                    storeOffline(proxy, c, aor);
                    return false;
                  }
                  return true;
                });
}

void ImService::storeOffline(sip::Proxy& proxy, sip::RequestContext& ctx, const std::string& aor) {
  const sip::SipMessage& req = *ctx.request;
  store::OfflineMessage m;
  m.recipient = aor;
  if (const auto* from = req.find(sip::HeaderId::From)) m.sender = std::string(from->value);
  if (const auto* ct = req.find(sip::HeaderId::ContentType)) {
    m.content_type = std::string(ct->value);
  } else {
    m.content_type = "text/plain";
  }
  m.body = std::string(req.body());
  m.received_at = clock_.unixSeconds();
  uint64_t ctx_id = ctx.id;
  sip::Proxy* p = &proxy;
  Post post = post_;
  ++stats_.stored;
  // 202 once the message is durable (RFC 3428 §7: accepted for later delivery).
  store_.submit(
      [m](store::Store& s) -> Result<void> { return s.addOfflineMessage(m).map([](int64_t) {}); },
      [post, p, ctx_id, aor](Result<void> r) {
        post([p, ctx_id, aor, r] {
          sip::RequestContext* c = p->contextFor(ctx_id);
          if (c == nullptr) return;
          if (!r) {
            HLOG_ERROR(Im, "cannot store a message for {}: {}", aor, r.error().toString());
            p->reply(*c, 500, "Server Internal Error (store unavailable)");
            return;
          }
          p->reply(*c, 202, "Accepted");
        });
      });
}

void ImService::deliverStored(sip::Proxy& proxy, const std::string& aor) {
  auto messages = std::make_shared<std::vector<store::OfflineMessage>>();
  Post post = post_;
  sip::Proxy* p = &proxy;
  store_.submit(
      [aor, messages](store::Store& s) -> Result<void> {
        auto list = s.offlineMessagesFor(aor);
        if (!list) return unexpected(list.error());
        *messages = std::move(*list);
        return {};
      },
      [this, post, p, aor, messages](Result<void> r) {
        if (!r || messages->empty()) return;
        post([this, p, aor, messages] {
          auto targets = location_.targets(aor, clock_.unixSeconds());
          if (targets.empty()) return;
          static thread_local std::mt19937_64 rng(std::random_device{}());
          for (const store::OfflineMessage& m : *messages) {
            if (!guard_.begin(m.id)) continue;  // another registration is delivering it
            std::string call_id = "off-" + std::to_string(m.id) + "-" +
                                  std::to_string(rng() % 1000000) + "-" +
                                  std::to_string(++call_counter_) + "@" + local_host_;
            auto build = [&m, &aor, call_id](const sip::Proxy::Target& t, const std::string& via) {
              std::string out = "MESSAGE " + t.request_uri + " SIP/2.0\r\n";
              out += "Via: " + via + "\r\n";
              out += "Max-Forwards: 70\r\n";
              out += "From: " + m.sender + "\r\n";
              out += "To: <" + aor + ">\r\n";
              out += "Call-ID: " + call_id + "\r\n";
              out += "CSeq: 1 MESSAGE\r\n";
              out += "Date: " + httpDate(m.received_at) + "\r\n";
              out += "Content-Type: " + m.content_type + "\r\n";
              out += "Content-Length: " + std::to_string(m.body.size()) + "\r\n\r\n";
              out += m.body;
              return out;
            };
            int64_t id = m.id;
            store::StoreWorker* store = &store_;
            DeliveryGuard* guard = &guard_;
            Stats* stats = &stats_;
            p->originate(
                targets, sip::Method::Message, build, [store, guard, stats, id](uint16_t code) {
                  if (code >= 200 && code < 300) {
                    ++stats->stored_delivered;
                    // Delivered: remove it; the guard stays until the delete is durable.
                    store->submit([id](store::Store& s) { return s.deleteOfflineMessage(id); },
                                  [guard, id](Result<void>) { guard->end(id); });
                  } else {
                    guard->end(id);
                  }
                });
          }
        });
      });
}

}  // namespace herald::im
