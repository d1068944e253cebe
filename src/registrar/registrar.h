#pragma once

// Registrar: REGISTER for the local domains (RFC 3261 §10.3). Checks that the To URI is a SIP
// address-of-record of a local user, authenticates with digest (401) unless the source is
// trusted, applies the Contact changes (add, refresh, remove, `*`, q, expires bounds with
// 423 + Min-Expires, Call-ID/CSeq ordering) to the LocationService, and answers 200 with every
// current binding once the change is in the store. One per worker.

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "common/clock.h"
#include "registrar/digest.h"
#include "registrar/location_service.h"
#include "registrar/user_directory.h"
#include "sip/proxy/proxy.h"

namespace herald::registrar {

struct RegistrarConfig {
  uint32_t min_expires = 60;        // Default: 60 s. Shorter non-zero requests get 423.
  uint32_t max_expires = 3600;      // Default: 3600 s. Longer requests are shortened.
  uint32_t default_expires = 3600;  // Default: 3600 s. When the request names none.
  uint32_t max_contacts = 32;       // Default: 32. Bindings per address-of-record.
};

class Registrar {
 public:
  // post(f): runs f on this registrar's worker (from the store thread).
  using Post = std::function<void(std::function<void()>)>;
  // Called on the worker after a successful REGISTER that leaves bindings.
  using OnRegistered = std::function<void(const std::string& aor)>;

  Registrar(RegistrarConfig config, const Clock& clock, LocationService& location,
            const UserDirectory& users, DigestAuthenticator& auth, Post post);

  void setOnRegistered(OnRegistered f) { on_registered_ = std::move(f); }
  // Expires bounds and limits for REGISTERs handled from now on (live configuration).
  void setConfig(const RegistrarConfig& config) { config_ = config; }

  // REQUIRES: ctx.request is a REGISTER whose Request-URI names a local domain or this node.
  // trusted: the source is in the trusted ACL (no challenge).
  void handle(sip::Proxy& proxy, sip::RequestContext& ctx, const std::set<std::string>& domains,
              bool trusted);

 private:
  std::string contactHeaders(const std::vector<Binding>& bindings, int64_t now) const;

  RegistrarConfig config_;
  const Clock& clock_;
  LocationService& location_;
  const UserDirectory& users_;
  DigestAuthenticator& auth_;
  Post post_;
  OnRegistered on_registered_;
};

}  // namespace herald::registrar
