#include "registrar/registrar.h"

#include <algorithm>

#include "common/log.h"
#include "sip/message/chars.h"

namespace herald::registrar {

using sip::HeaderId;

namespace {

constexpr const char* kOutOfOrder = "Bad Request (out-of-order REGISTER: CSeq not higher)";

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(sip::chars::toLower(c));
  return out;
}

// Header parameters of a Contact value without expires (the registrar states its own).
std::string paramsWithoutExpires(const sip::HeaderParams& params) {
  std::string out;
  for (const sip::Param& p : params) {
    if (sip::chars::iequals(p.name, "expires")) continue;
    out += ';';
    out += p.name;
    if (p.has_value) {
      out += '=';
      out += p.value;
    }
  }
  return out;
}

}  // namespace

Registrar::Registrar(RegistrarConfig config, const Clock& clock, LocationService& location,
                     const UserDirectory& users, DigestAuthenticator& auth, Post post)
    : config_(config),
      clock_(clock),
      location_(location),
      users_(users),
      auth_(auth),
      post_(std::move(post)) {}

std::string Registrar::contactHeaders(const std::vector<Binding>& bindings, int64_t now) const {
  std::string out;
  for (const Binding& b : bindings) {
    out += "Contact: <";
    out += b.contact;
    out += '>';
    out += b.contact_params;
    out += ";expires=";
    out += std::to_string(std::max<int64_t>(0, b.expires_at - now));
    out += "\r\n";
  }
  return out;
}

void Registrar::handle(sip::Proxy& proxy, sip::RequestContext& ctx,
                       const std::set<std::string>& domains, bool trusted) {
  const sip::SipMessage& req = *ctx.request;
  auto to = req.to();
  if (!to || !(*to)->uri.isSip() || !(*to)->uri.has_user) {
    // RFC 4475 unksm2: the address-of-record must be a SIP URI.
    proxy.reply(ctx, 400, "Bad To (address-of-record must be a SIP URI)");
    return;
  }
  const sip::Uri& aor_uri = (*to)->uri;
  std::string domain = lower(aor_uri.host);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (domains.count(domain) == 0) {
    proxy.reply(ctx, 403, "Forbidden (not a domain of this registrar)");
    return;
  }
  std::string username = aor_uri.userUnescaped();
  if (!users_.contains(username, domain)) {
    proxy.reply(ctx, 404, "Not Found");
    return;
  }
  if (!trusted) {
    auto check = auth_.verify(req, HeaderId::Authorization, domain, users_);
    if (check.outcome == DigestAuthenticator::Outcome::UriMismatch) {
      proxy.reply(ctx, 400, kDigestUriMismatch);
      return;
    }
    if (check.outcome != DigestAuthenticator::Outcome::Ok) {
      bool stale = check.outcome == DigestAuthenticator::Outcome::Stale;
      proxy.reply(ctx, 401, "Unauthorized",
                  auth_.challenge(HeaderId::WwwAuthenticate, domain, stale));
      return;
    }
    if (check.username != username) {
      proxy.reply(ctx, 403, "Forbidden (credentials are not for this address-of-record)");
      return;
    }
  }
  auto contacts = req.contacts();
  if (!contacts) {
    proxy.reply(ctx, 400, contacts.error().reason);
    return;
  }
  auto header_expires = req.expires();
  if (!header_expires) {
    proxy.reply(ctx, 400, "Bad Expires");
    return;
  }
  std::string aor = "sip:" + username + "@" + domain;
  int64_t now = clock_.unixSeconds();
  auto call_id = std::string(*req.callId());
  uint32_t cseq = (*req.cseq())->number;

  // Validate everything before changing anything.
  bool star = false;
  for (const sip::Contact& c : *contacts) {
    if (c.star) star = true;
  }
  if (star && (contacts->size() != 1 || !*header_expires || **header_expires != 0)) {
    proxy.reply(ctx, 400, "Bad Request (Contact: * needs Expires: 0)");
    return;
  }
  struct Change {
    std::string uri;
    std::string params;
    int q;
    uint32_t expires;
    std::string instance;
  };
  std::vector<Change> changes;
  for (const sip::Contact& c : *contacts) {
    if (c.star) continue;
    uint32_t expires = c.expires.value_or(header_expires->value_or(config_.default_expires));
    if (expires != 0 && expires < config_.min_expires) {
      proxy.reply(ctx, 423, "Interval Too Brief",
                  "Min-Expires: " + std::to_string(config_.min_expires) + "\r\n");
      return;
    }
    expires = std::min(expires, config_.max_expires);
    std::string instance;
    if (auto inst = c.addr.params.find("+sip.instance")) instance = inst->unquotedValue();
    changes.push_back(Change{std::string(c.addr.uri.raw), paramsWithoutExpires(c.addr.params),
                             c.q ? static_cast<int>(*c.q) : -1, expires, instance});
  }

  std::string user_agent;
  if (const auto* ua = req.find(HeaderId::UserAgent)) user_agent = std::string(ua->value);
  uint64_t ctx_id = ctx.id;
  bool query_only = contacts->empty();
  const sip::Origin origin = ctx.origin;
  const RegistrarConfig cfg = config_;
  std::string failure;

  auto mutate = [&](std::vector<Binding>& bindings) -> Result<void> {
    if (query_only) return {};
    if (star) {
      // §10.3 step 6: remove all; a binding of the same Call-ID whose CSeq is not lower than
      // the request's aborts the update and the request fails.
      if (std::any_of(bindings.begin(), bindings.end(),
                      [&](const Binding& b) { return b.call_id == call_id && b.cseq >= cseq; })) {
        failure = kOutOfOrder;
        return unexpected(invalidArgument(failure));
      }
      bindings.clear();
      return {};
    }
    for (const Change& ch : changes) {
      auto uri = sip::parseUri(ch.uri);
      auto same = std::find_if(bindings.begin(), bindings.end(), [&](const Binding& b) {
        auto other = sip::parseUri(b.contact);
        return uri && other && sip::uriEquals(*uri, *other);
      });
      if (same != bindings.end()) {
        if (same->call_id == call_id && same->cseq >= cseq) {
          failure = kOutOfOrder;
          return unexpected(invalidArgument(failure));
        }
        if (ch.expires == 0) {
          bindings.erase(same);
          continue;
        }
      } else if (ch.expires == 0) {
        continue;
      } else {
        if (bindings.size() >= cfg.max_contacts) {
          failure = "Forbidden (too many contacts for this address-of-record)";
          return unexpected(Error{ErrorCode::ResourceExhausted, failure});
        }
        bindings.emplace_back();
        same = std::prev(bindings.end());
      }
      Binding& b = *same;
      b.contact = ch.uri;
      b.contact_params = ch.params;
      b.q = ch.q;
      b.expires_at = now + ch.expires;
      b.call_id = call_id;
      b.cseq = cseq;
      b.transport = origin.transport;
      b.source = origin.source;
      b.connection = origin.connection;
      b.instance = ch.instance;
      b.user_agent = user_agent;
    }
    return {};
  };

  if (query_only) {
    auto current = location_.lookup(aor, now);
    proxy.reply(ctx, 200, "OK", contactHeaders(current, now));
    return;
  }
  Post post = post_;
  sip::Proxy* proxy_ptr = &proxy;
  Registrar* self = this;
  // The 200 goes out once the change is durable; the store thread posts back here.
  auto result =
      location_.update(aor, now, mutate, [post, proxy_ptr, self, ctx_id, aor](Result<void> r) {
        post([proxy_ptr, self, ctx_id, aor, r] {
          sip::RequestContext* c = proxy_ptr->contextFor(ctx_id);
          if (c == nullptr) return;
          if (!r) {
            HLOG_ERROR(Registrar, "cannot store bindings of {}: {}", aor, r.error().toString());
            proxy_ptr->reply(*c, 500, "Server Internal Error (store unavailable)");
            return;
          }
          int64_t t = self->clock_.unixSeconds();
          auto now_bindings = self->location_.lookup(aor, t);
          proxy_ptr->reply(*c, 200, "OK", self->contactHeaders(now_bindings, t));
          if (!now_bindings.empty() && self->on_registered_) self->on_registered_(aor);
        });
      });
  if (!result) {
    uint16_t code = result.error().code == ErrorCode::ResourceExhausted ? 403 : 400;
    proxy.reply(ctx, code, failure.empty() ? "Bad Request" : failure);
  }
}

}  // namespace herald::registrar
