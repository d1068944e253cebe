// Golden messages of our own (tests/data/sip): valid ones parse, validate and survive a round
// trip through the editor and the stream framer; invalid ones are rejected.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sip/parser/message_editor.h"
#include "sip/parser/message_parser.h"
#include "sip/parser/stream_framer.h"

namespace herald::sip {
namespace {

std::vector<std::filesystem::path> files(const std::string& kind) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(HERALD_SOURCE_DIR) +
                                                           "/tests/data/sip/" + kind)) {
    out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(GoldenTest, ValidMessagesRoundTrip) {
  auto valid = files("valid");
  ASSERT_GE(valid.size(), 4u);
  for (const auto& path : valid) {
    SCOPED_TRACE(path.filename().string());
    std::string bytes = read(path);
    auto msg = MessageParser::parseDatagram(Buffer::copyOf(bytes));
    ASSERT_TRUE(msg) << msg.error().toString();
    ASSERT_TRUE(validate(*msg, Validation::Full));
    EXPECT_EQ(msg->bytes(), bytes) << "no trailing octets in golden files";
    StreamFramer framer;
    framer.append(MessageEditor(*msg).build());
    auto item = framer.next();
    ASSERT_EQ(item.kind, StreamFramer::Kind::Message);
    auto again = MessageParser::parseStream(std::move(item.message));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->bytes(), bytes);
  }
}

TEST(GoldenTest, InvalidMessagesAreRejected) {
  for (const auto& path : files("invalid")) {
    SCOPED_TRACE(path.filename().string());
    auto msg = MessageParser::parseDatagram(Buffer::copyOf(read(path)));
    EXPECT_TRUE(!msg || !validate(*msg, Validation::Full));
  }
}

}  // namespace
}  // namespace herald::sip
