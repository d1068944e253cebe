#pragma once

// A self-signed development certificate, so that a fresh node can serve TLS before an
// administrator installs a real one. Generated once under <data_dir>/tls/ and reused.
// RSA 2048 (Microsoft peers refuse EC-only cipher lists), SHA-256, one year, subjectAltName
// DNS:<host>, DNS:localhost, IP:127.0.0.1, IP:::1, extendedKeyUsage serverAuth + clientAuth
// (federation peers require both, spec §5.1).

#include <filesystem>
#include <string>

#include "common/result.h"

namespace herald::server {

struct CertificatePaths {
  std::filesystem::path certificate;
  std::filesystem::path private_key;
  bool generated = false;  // created by this call
  std::string subject;     // "CN=..."
  std::string not_after;   // "Nov 25 16:00:00 2027 GMT"
};

// Returns the certificate in `dir`, generating it when absent. An existing pair that does not
// load is an error (never silently replaced).
[[nodiscard]] Result<CertificatePaths> ensureDevCertificate(const std::filesystem::path& dir,
                                                            const std::string& host);

}  // namespace herald::server
