#include "sip/transport/tls_context.h"

#include <openssl/err.h>

namespace herald::sip {

std::string takeOpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

namespace {

Result<void> common(SSL_CTX* ctx, const TlsSettings& s, bool need_cert) {
  int min = s.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, min);
  // Partial writes keep the write queue simple: SSL_write may report a prefix as written.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(ctx, s.ciphers.c_str()) != 1) {
    return unexpected(invalidArgument("tls.ciphers: no usable cipher in '" + s.ciphers + "'"));
  }
  if (!s.certificate.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, s.certificate.c_str()) != 1) {
      return unexpected(invalidArgument("cannot load certificate " + s.certificate.string() + ": " +
                                        takeOpenSslErrors()));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, s.private_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return unexpected(invalidArgument("cannot load private key " + s.private_key.string() + ": " +
                                        takeOpenSslErrors()));
    }
  } else if (need_cert) {
    return unexpected(invalidArgument("a TLS listener needs a certificate"));
  }
  if (!s.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, s.ca_file.c_str(), nullptr) != 1) {
      return unexpected(invalidArgument("cannot load CA file " + s.ca_file.string() + ": " +
                                        takeOpenSslErrors()));
    }
  } else {
    SSL_CTX_set_default_verify_paths(ctx);
  }
  return {};
}

}  // namespace

Result<SslCtxPtr> makeServerContext(const TlsSettings& s) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return unexpected(internalError(takeOpenSslErrors()));
  HERALD_TRY(common(ctx.get(), s, true));
  SSL_CTX_set_verify(
      ctx.get(),
      s.verify_client ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE,
      nullptr);
  return ctx;
}

Result<SslCtxPtr> makeClientContext(const TlsSettings& s) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return unexpected(internalError(takeOpenSslErrors()));
  HERALD_TRY(common(ctx.get(), s, false));
  SSL_CTX_set_verify(ctx.get(), s.verify_server ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return ctx;
}

}  // namespace herald::sip
