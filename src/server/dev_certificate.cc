#include "server/dev_certificate.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <memory>

#include "store/file_modes.h"

namespace herald::server {
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string asn1Time(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string subjectOf(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

X509Ptr readCertificate(const std::filesystem::path& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "r"), &std::fclose);
  if (!f) return nullptr;
  return X509Ptr(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
}

bool addExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Result<void> writeFile(const std::filesystem::path& path, mode_t mode,
                       const std::function<bool(FILE*)>& write) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  // Created with its final mode (fchmod for a leftover .tmp), so that the key is never readable
  // by others, not even empty between fopen() and chmod().
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0 || ::fchmod(fd, mode) != 0) {
    if (fd >= 0) ::close(fd);
    return unexpected(unavailable("cannot write " + tmp.string()));
  }
  std::unique_ptr<FILE, int (*)(FILE*)> f(::fdopen(fd, "w"), &std::fclose);
  if (!f) {
    ::close(fd);
    return unexpected(unavailable("cannot write " + tmp.string()));
  }
  if (!write(f.get()) || std::fflush(f.get()) != 0) {
    return unexpected(internalError("cannot write " + tmp.string()));
  }
  f.reset();
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return unexpected(unavailable("cannot rename " + tmp.string() + ": " + ec.message()));
  return {};
}

}  // namespace

Result<CertificatePaths> ensureDevCertificate(const std::filesystem::path& dir,
                                              const std::string& host) {
  CertificatePaths paths{dir / "dev-cert.pem", dir / "dev-key.pem", false, {}, {}};
  std::error_code ec;
  if (std::filesystem::exists(paths.certificate, ec)) {
    X509Ptr cert = readCertificate(paths.certificate);
    if (!cert) {
      return unexpected(invalidArgument("cannot load " + paths.certificate.string() +
                                        "; delete it to generate a new one"));
    }
    if (!std::filesystem::exists(paths.private_key, ec)) {
      return unexpected(notFound("missing " + paths.private_key.string()));
    }
    paths.subject = subjectOf(cert.get());
    paths.not_after = asn1Time(X509_get0_notAfter(cert.get()));
    return paths;
  }
  HERALD_TRY(store::ensurePrivateDirectory(dir));

  PkeyPtr key(EVP_RSA_gen(2048));
  if (!key) return unexpected(internalError("RSA key generation failed"));
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Herald development"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san = "DNS:" + host + ",DNS:localhost,IP:127.0.0.1,IP:::1";
  if (!addExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !addExtension(cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
      !addExtension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth") ||
      !addExtension(cert.get(), NID_subject_alt_name, san.c_str()) ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return unexpected(internalError("cannot build the development certificate"));
  }
  auto key_written = writeFile(paths.private_key, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
  if (!key_written) return unexpected(key_written.error());
  auto cert_written = writeFile(paths.certificate, 0644,
                                [&](FILE* f) { return PEM_write_X509(f, cert.get()) == 1; });
  if (!cert_written) return unexpected(cert_written.error());
  paths.generated = true;
  paths.subject = subjectOf(cert.get());
  paths.not_after = asn1Time(X509_get0_notAfter(cert.get()));
  return paths;
}

}  // namespace herald::server
