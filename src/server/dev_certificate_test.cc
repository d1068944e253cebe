#include "server/dev_certificate.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

namespace herald::server {
namespace {

TEST(DevCertificateTest, GeneratesOnceThenReuses) {
  auto dir = std::filesystem::temp_directory_path() / ("herald-cert-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto first = ensureDevCertificate(dir, "node1.example.com");
  ASSERT_TRUE(first) << first.error().toString();
  EXPECT_TRUE(first->generated);
  EXPECT_NE(first->subject.find("CN=node1.example.com"), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat(first->private_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  FILE* f = std::fopen(first->certificate.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert, "node1.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  uint32_t xku = X509_get_extended_key_usage(cert);
  EXPECT_TRUE(xku & XKU_SSL_SERVER);
  EXPECT_TRUE(xku & XKU_SSL_CLIENT);
  X509_free(cert);

  auto second = ensureDevCertificate(dir, "other-name");
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->subject, first->subject);

  // A damaged certificate is reported, not replaced.
  std::FILE* w = std::fopen(first->certificate.c_str(), "w");
  std::fputs("garbage", w);
  std::fclose(w);
  auto broken = ensureDevCertificate(dir, "x");
  EXPECT_FALSE(broken);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace herald::server
