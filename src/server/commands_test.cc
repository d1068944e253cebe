#include "server/commands.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace herald::server {
namespace {

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("herald-commands-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, std::string_view content) {
    auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }

  std::filesystem::path dir_;
};

TEST_F(CommandsTest, SipLintReportsEachFile) {
  std::string req =
      write("req.sip",
            "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
            "From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n"
            "Call-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n");
  std::string resp = write("resp.sip",
                           "SIP/2.0 202 Accepted\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                           "From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>;tag=2\r\n"
                           "Call-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n");
  std::string bad = write("bad.sip", "OPTIONS sip:a@b SIP/7.0\r\n\r\n");
  std::ostringstream out, err;
  EXPECT_EQ(runSipLint({req, resp}, out, err), 0);
  EXPECT_EQ(out.str(),
            req + ": ok REQUEST MESSAGE sip:bob@example.com\n" + resp + ": ok RESPONSE 202\n");
  std::ostringstream out2, err2;
  EXPECT_EQ(runSipLint({req, bad}, out2, err2), 1);
  EXPECT_NE(out2.str().find(bad + ": invalid 505 Version Not Supported"), std::string::npos);
}

TEST_F(CommandsTest, SipLintUsageErrors) {
  std::ostringstream out, err;
  EXPECT_EQ(runSipLint({}, out, err), 2);
  EXPECT_EQ(runSipLint({(dir_ / "missing.sip").string()}, out, err), 2);
  EXPECT_NE(err.str().find("cannot read"), std::string::npos);
}

TEST_F(CommandsTest, CheckConfig) {
  std::string good = write("good.toml", "[node]\nname = \"n1\"\n");
  std::string bad = write("bad.toml", "[node]\nname = 1\nextra = 2\n");
  std::ostringstream out, err;
  EXPECT_EQ(runCheckConfig(good, out, err), 0);
  EXPECT_EQ(out.str(), good + ": ok\n");
  std::ostringstream out2, err2;
  EXPECT_EQ(runCheckConfig(bad, out2, err2), 1);
  EXPECT_EQ(err2.str(),
            bad + ":3: node.extra: unknown key\n" + bad + ":2: node.name: must be a string\n");
}

}  // namespace
}  // namespace herald::server
