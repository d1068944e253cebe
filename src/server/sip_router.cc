#include "server/sip_router.h"

#include "sip/message/chars.h"

namespace herald::server {

using sip::HeaderId;
using sip::Method;

namespace {

std::string lowerHost(std::string_view host) {
  std::string out;
  for (char c : host) out.push_back(sip::chars::toLower(c));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace

std::string capabilityHeaders() {
  return "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, REGISTER, SUBSCRIBE, NOTIFY, INFO, "
         "PRACK, UPDATE, REFER\r\n"
         "Accept: text/plain, message/cpim, application/pidf+xml, application/sdp\r\n"
         "Accept-Language: en\r\n"
         "Supported: \r\n";
}

SipRouter::SipRouter(const RoutingPolicy& policy, registrar::Registrar& registrar,
                     im::ImService& im, registrar::LocationService& location,
                     const registrar::UserDirectory& users, registrar::DigestAuthenticator& auth,
                     const Clock& clock)
    : policy_(policy),
      registrar_(registrar),
      im_(im),
      location_(location),
      users_(users),
      auth_(auth),
      clock_(clock) {}

bool SipRouter::trusted(const Endpoint& source) const {
  for (const Cidr& c : policy_.trusted) {
    if (c.contains(source)) return true;
  }
  return false;
}

void SipRouter::route(sip::Proxy& proxy, sip::RequestContext& ctx) {
  const sip::SipMessage& req = *ctx.request;
  const Method method = req.method();
  auto uri = sip::parseUri(ctx.requestUri());
  if (!uri || !uri->isSip()) {
    proxy.reply(ctx, 416, "Unsupported URI Scheme");
    return;
  }
  const bool is_trusted = trusted(ctx.origin.source);
  const bool to_me = proxy.local().isMe(*uri) && !uri->has_user;
  const std::string domain = lowerHost(uri->host);
  const policy::Policy& policy = *policy_.policy;
  const bool local_domain = policy.local_domains.count(domain) != 0;

  // A deactivated presence service (Tools > Control Center) refuses its requests outright.
  if ((method == Method::Publish || method == Method::Subscribe) && !policy.services.presence) {
    proxy.reply(ctx, 503, "Service Unavailable (presence is deactivated)", "Retry-After: 60\r\n");
    return;
  }

  if (method == Method::Register) {
    if (local_domain || proxy.local().isMe(*uri)) {
      registrar_.handle(proxy, ctx, policy.local_domains, is_trusted);
    } else {
      proxy.reply(ctx, 403, "Forbidden (not a domain of this registrar)");
    }
    return;
  }

  // A request inside a dialog we record-routed: on to the next hop it names.
  if (ctx.own_routes > 0 && ctx.hasToTag()) {
    proxy.forwardToNamedHop(ctx);
    return;
  }

  if (to_me) {
    if (method == Method::Options) {
      proxy.reply(ctx, 200, "OK", capabilityHeaders());
    } else if (ctx.hasToTag()) {
      proxy.reply(ctx, 481, "Call/Transaction Does Not Exist");
    } else {
      proxy.reply(ctx, 404, "Not Found");
    }
    return;
  }

  // Who is asking: local users prove it with digest (RFC 3261 §22.3, 407).
  auto from = req.from();
  std::string from_domain = from && (*from)->uri.isSip() ? lowerHost((*from)->uri.host) : "";
  const bool sender_local = policy.local_domains.count(from_domain) != 0;
  if (sender_local && !is_trusted) {
    auto check = auth_.verify(req, HeaderId::ProxyAuthorization, from_domain, users_);
    if (check.outcome == registrar::DigestAuthenticator::Outcome::UriMismatch) {
      proxy.reply(ctx, 400, registrar::kDigestUriMismatch);
      return;
    }
    if (check.outcome != registrar::DigestAuthenticator::Outcome::Ok) {
      bool stale = check.outcome == registrar::DigestAuthenticator::Outcome::Stale;
      proxy.reply(ctx, 407, "Proxy Authentication Required",
                  auth_.challenge(HeaderId::ProxyAuthenticate, from_domain, stale));
      return;
    }
    if (check.username != (*from)->uri.userUnescaped()) {
      proxy.reply(ctx, 403, "Forbidden (From does not match the authenticated user)");
      return;
    }
    ctx.authenticated_user = check.username + "@" + from_domain;
    ctx.strip_proxy_authorization = true;
  }
  const bool allowed = sender_local || is_trusted;

  if (!ctx.remainingRoutes().empty()) {
    // The sender names its own next hops: only for users we know.
    if (!allowed) {
      proxy.reply(ctx, 403, "Forbidden (relaying denied)");
      return;
    }
    proxy.forwardToNamedHop(ctx);
    return;
  }

  if (local_domain) {
    if (!allowed) {
      // Inbound from another domain: federation (its own issue) decides; until then only
      // trusted sources may deliver to local users.
      proxy.reply(ctx, 403, "Forbidden (domain not federated)");
      return;
    }
    std::string user = uri->userUnescaped();
    if (!uri->has_user || !users_.contains(user, domain)) {
      proxy.reply(ctx, 404, "Not Found");
      return;
    }
    std::string aor = "sip:" + user + "@" + domain;
    if (ctx.hasToTag()) {
      proxy.forwardToNamedHop(ctx);
      return;
    }
    if (method == Method::Message) {
      im_.deliver(proxy, ctx, aor);
      return;
    }
    auto targets = location_.targets(aor, clock_.unixSeconds());
    if (targets.empty()) {
      proxy.reply(ctx, 480, "Temporarily Unavailable");
      return;
    }
    proxy.forward(ctx, std::move(targets));
    return;
  }

  if (ctx.hasToTag() && allowed) {
    proxy.forwardToNamedHop(ctx);
    return;
  }
  if (sender_local) {
    proxy.reply(ctx, 403, "Forbidden (domain not federated)");
  } else {
    proxy.reply(ctx, 403, "Forbidden (relaying denied)");
  }
}

}  // namespace herald::server
