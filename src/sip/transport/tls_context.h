#pragma once

// TLS settings and the OpenSSL contexts built from them (server side for listeners, client
// side for connections Herald opens). OpenSSL only; no asio.

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/result.h"

namespace herald::sip {

struct TlsSettings {
  std::filesystem::path certificate;  // PEM chain; required for a TLS listener
  std::filesystem::path private_key;
  std::filesystem::path ca_file;  // trust store; empty: the system default paths
  // Default: "HIGH:!aNULL:!MD5:!RC4". OpenSSL cipher list for TLS 1.2.
  std::string ciphers = "HIGH:!aNULL:!MD5:!RC4";
  // Default: "1.2". Lowest protocol version accepted ("1.2" or "1.3").
  std::string min_version = "1.2";
  // Default: true. Verify the certificate of servers Herald connects to (chain and name).
  bool verify_server = true;
  // Default: false. Ask clients for a certificate and verify it (federation uses true).
  bool verify_client = false;
};

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

[[nodiscard]] Result<SslCtxPtr> makeServerContext(const TlsSettings& s);
[[nodiscard]] Result<SslCtxPtr> makeClientContext(const TlsSettings& s);

// The last OpenSSL errors as text, and the queue cleared.
std::string takeOpenSslErrors();

}  // namespace herald::sip
