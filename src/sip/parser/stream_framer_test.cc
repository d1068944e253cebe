#include "sip/parser/stream_framer.h"

#include <gtest/gtest.h>

#include "sip/parser/message_parser.h"

namespace herald::sip {
namespace {

const std::string kMsg1 =
    "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
    "From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1\r\n"
    "CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nl: 5\r\n\r\nhello";
const std::string kMsg2 =
    "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK2\r\n"
    "From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c2\r\n"
    "CSeq: 2 MESSAGE\r\nContent-Length:\r\n 0\r\n\r\n";

std::vector<std::string> drain(StreamFramer& f, int* pings = nullptr) {
  std::vector<std::string> out;
  while (true) {
    auto item = f.next();
    if (item.kind == StreamFramer::Kind::NeedMore) break;
    if (item.kind == StreamFramer::Kind::Error) {
      out.push_back("error " + std::to_string(item.error.status) + " " +
                    std::string(item.error.reason));
      break;
    }
    if (item.kind == StreamFramer::Kind::Ping) {
      if (pings) ++*pings;
      continue;
    }
    out.emplace_back(item.message.view());
  }
  return out;
}

TEST(StreamFramerTest, CutsPipelinedMessages) {
  StreamFramer f;
  f.append(kMsg1 + kMsg2 + kMsg1);
  auto msgs = drain(f);
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[0], kMsg1);
  EXPECT_EQ(msgs[1], kMsg2);
  EXPECT_EQ(f.buffered(), 0u);
  auto parsed = MessageParser::parseStream(Buffer::copyOf(msgs[1]));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed->callId(), "c2");
}

TEST(StreamFramerTest, ReassemblesByteByByte) {
  const std::string stream = kMsg1 + "\r\n\r\n" + kMsg2;
  StreamFramer f;
  std::vector<std::string> msgs;
  int pings = 0;
  for (char c : stream) {
    f.append(std::string_view(&c, 1));
    for (auto& m : drain(f, &pings)) msgs.push_back(m);
  }
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0], kMsg1);
  EXPECT_EQ(msgs[1], kMsg2);
  EXPECT_EQ(pings, 1);
}

TEST(StreamFramerTest, ReportsKeepAlivePingsAndSkipsPongs) {
  StreamFramer f;
  int pings = 0;
  f.append("\r\n\r\n\r\n\r\n");
  EXPECT_TRUE(drain(f, &pings).empty());
  EXPECT_EQ(pings, 2);
  f.append("\r\n");  // a pong: nothing yet
  EXPECT_TRUE(drain(f, &pings).empty());
  f.append(kMsg1);
  auto msgs = drain(f, &pings);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0], kMsg1);
  EXPECT_EQ(pings, 2);
}

TEST(StreamFramerTest, WritesIntoPreparedSpace) {
  StreamFramer f;
  auto space = f.prepare(kMsg1.size());
  std::copy(kMsg1.begin(), kMsg1.end(), space.begin());
  f.commit(kMsg1.size());
  auto msgs = drain(f);
  ASSERT_EQ(msgs.size(), 1u);
}

TEST(StreamFramerTest, FramingErrorsAreFinal) {
  struct Case {
    std::string bytes;
    std::string expected;
  };
  const Case cases[] = {
      {"OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n", "error 400 Missing Content-Length"},
      {"OPTIONS sip:a SIP/2.0\r\nContent-Length: -999\r\n\r\n", "error 400 Bad Content-Length"},
      {"OPTIONS sip:a SIP/2.0\r\nl: 5\r\nContent-Length: 13\r\n\r\nxx",
       "error 400 Bad Content-Length"},
  };
  for (const auto& c : cases) {
    StreamFramer f;
    f.append(c.bytes);
    auto out = drain(f);
    ASSERT_EQ(out.size(), 1u) << c.bytes;
    EXPECT_EQ(out[0], c.expected);
    EXPECT_TRUE(f.failed());
    f.append(kMsg1);
    EXPECT_EQ(drain(f)[0], c.expected);  // no resynchronisation
  }
}

TEST(StreamFramerTest, EnforcesSizeLimits) {
  ParserLimits limits;
  limits.max_message_bytes = 2048;
  StreamFramer headers(limits);
  headers.append("OPTIONS sip:a SIP/2.0\r\n" + std::string(3000, 'x'));
  EXPECT_EQ(drain(headers)[0], "error 513 Message Too Large");
  StreamFramer body(limits);
  body.append("OPTIONS sip:a SIP/2.0\r\nContent-Length: 100000\r\n\r\n");
  EXPECT_EQ(drain(body)[0], "error 513 Message Too Large");
}

TEST(StreamFramerTest, WaitsForAShortBody) {
  StreamFramer f;
  f.append(kMsg1.substr(0, kMsg1.size() - 2));
  EXPECT_TRUE(drain(f).empty());
  EXPECT_FALSE(f.failed());
  f.append(kMsg1.substr(kMsg1.size() - 2));
  EXPECT_EQ(drain(f).size(), 1u);
}

}  // namespace
}  // namespace herald::sip
