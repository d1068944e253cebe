#include "sip/transaction/retired_log.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <utility>

namespace herald::sip {
namespace {

TimePoint at(int64_t ms) { return TimePoint(Duration(ms)); }

std::string responseOf(const RetiredLog& log, uint64_t key, uint64_t check) {
  const RetiredLog::Record* r = log.find(key, check);
  return r == nullptr ? "<none>" : std::string(r->response());
}

TEST(RetiredLogTest, FindsWhatWasAddedUntilItExpires) {
  RetiredLog log;
  log.add(1, 11, at(100), "SIP/2.0 200 OK\r\n\r\n");
  log.add(2, 22, at(200), "");
  log.add(3, 33, at(300), "SIP/2.0 404 Not Found\r\n\r\n");
  EXPECT_EQ(log.size(), 3u);
  EXPECT_EQ(responseOf(log, 1, 11), "SIP/2.0 200 OK\r\n\r\n");
  EXPECT_EQ(responseOf(log, 2, 22), "");
  EXPECT_EQ(responseOf(log, 3, 33), "SIP/2.0 404 Not Found\r\n\r\n");
  EXPECT_EQ(log.find(4, 44), nullptr);

  log.expire(at(99));
  EXPECT_EQ(log.size(), 3u);
  log.expire(at(100));  // a deadline at `now` has passed
  EXPECT_EQ(log.size(), 2u);
  EXPECT_EQ(log.find(1, 11), nullptr);
  EXPECT_EQ(responseOf(log, 2, 22), "");
  log.expire(at(1000));
  EXPECT_EQ(log.size(), 0u);
  EXPECT_EQ(log.find(3, 33), nullptr);
}

TEST(RetiredLogTest, BothHashesMustMatch) {
  RetiredLog log;
  log.add(7, 1, at(10), "first");
  log.add(7, 2, at(10), "second");  // the same key hash, another key
  EXPECT_EQ(log.size(), 2u);
  EXPECT_EQ(responseOf(log, 7, 1), "first");
  EXPECT_EQ(responseOf(log, 7, 2), "second");
  EXPECT_EQ(log.find(7, 3), nullptr);
  EXPECT_EQ(log.find(8, 1), nullptr);
}

TEST(RetiredLogTest, TheSameKeyAgainReplacesTheRecordAndOutlivesTheOldDeadline) {
  RetiredLog log;
  log.add(5, 55, at(100), "old");
  log.add(6, 66, at(150), "other");
  log.add(5, 55, at(200), "new");
  EXPECT_EQ(log.size(), 2u);
  EXPECT_EQ(responseOf(log, 5, 55), "new");
  log.expire(at(120));  // the old record's deadline: the new one stays
  EXPECT_EQ(responseOf(log, 5, 55), "new");
  EXPECT_EQ(log.size(), 2u);
  log.expire(at(200));
  EXPECT_EQ(log.size(), 0u);
}

TEST(RetiredLogTest, RecordsAddedOutOfOrderWaitForThoseBefore) {
  RetiredLog log;
  log.add(1, 1, at(500), "late");
  log.add(2, 2, at(100), "early");  // e.g. T1 lowered at run time
  log.expire(at(200));
  EXPECT_NE(log.find(2, 2), nullptr);  // first in, first out
  log.expire(at(500));
  EXPECT_EQ(log.size(), 0u);
}

TEST(RetiredLogTest, LargeResponsesStartNewChunksAndChunksAreRecycled) {
  RetiredLog log;
  const std::string big(RetiredLog::kMaxResponse, 'x');
  for (int i = 0; i < 10; ++i) log.add(100 + i, i, at(i), big);  // one per chunk
  EXPECT_EQ(log.size(), 10u);
  EXPECT_GE(log.bytes(), 10 * RetiredLog::kChunkBytes);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(responseOf(log, 100 + i, i), big) << i;
  log.expire(at(100));
  EXPECT_EQ(log.size(), 0u);
  // One chunk in use at most, and the spares kept for reuse.
  EXPECT_LE(log.bytes(), 3 * RetiredLog::kChunkBytes + 64 * 1024);
  for (int i = 0; i < 10; ++i) log.add(200 + i, i, at(200 + i), big);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(responseOf(log, 200 + i, i), big) << i;
}

TEST(RetiredLogTest, TheIndexShrinksAfterABurst) {
  RetiredLog log;
  for (int i = 0; i < 100000; ++i) log.add(1000 + i, i, at(i), "SIP/2.0 200 OK\r\n\r\n");
  // Records of 56 bytes in the chunks, and at least two 16-byte index slots per record.
  EXPECT_GE(log.bytes(), 100000 * (56 + 2 * 16u));
  // All but the last ten expire: the index goes back to its first size (1024 slots), and one
  // chunk in use plus two spares stay.
  log.expire(at(99989));
  ASSERT_EQ(log.size(), 10u);
  EXPECT_LE(log.bytes(), 3 * RetiredLog::kChunkBytes + 1024 * 16);
  for (int i = 99990; i < 100000; ++i) {
    EXPECT_EQ(responseOf(log, 1000 + i, i), "SIP/2.0 200 OK\r\n\r\n") << i;
  }
  EXPECT_EQ(responseOf(log, 1000 + 99989, 99989), "<none>");
  // And grows again.
  for (int i = 0; i < 5000; ++i) log.add(500000 + i, i, at(200000 + i), "x");
  EXPECT_EQ(log.size(), 5010u);
  for (int i = 0; i < 5000; i += 499) EXPECT_EQ(responseOf(log, 500000 + i, i), "x") << i;
}

TEST(RetiredLogTest, EmptyingAtAChunkBoundaryKeepsWorking) {
  RetiredLog log;
  // Fill one chunk exactly: records of header + 224 bytes = 256 bytes.
  const size_t record = 256;
  const std::string body(record - sizeof(RetiredLog::Record), 'b');
  const int per_chunk = static_cast<int>(RetiredLog::kChunkBytes / record);
  for (int i = 0; i < per_chunk; ++i) log.add(1000 + i, i, at(1), body);
  log.expire(at(1));
  EXPECT_EQ(log.size(), 0u);
  log.add(1, 1, at(2), "after");
  EXPECT_EQ(responseOf(log, 1, 1), "after");
  log.expire(at(2));
  EXPECT_EQ(log.size(), 0u);
}

// Against a model, with random sizes (crossing chunk ends often), hash collisions, repeated
// keys and a growing then shrinking population: exercises probing, backward-shift deletion
// and growth of the index.
TEST(RetiredLogTest, AgreesWithAModelUnderChurn) {
  RetiredLog log;
  std::mt19937_64 rng(42);
  std::map<std::pair<uint64_t, uint64_t>, std::pair<int64_t, std::string>> model;
  int64_t now = 0;
  for (int round = 0; round < 60000; ++round) {
    now += 1;
    const int adds = round < 40000 ? 3 : 1;  // grow, then let expiry win
    for (int a = 0; a < adds; ++a) {
      // Few distinct key hashes (collisions in the index), checks tell keys apart.
      uint64_t key = rng() % 50000;
      uint64_t check = rng() % 3;
      size_t len = rng() % 32 == 0 ? rng() % 100000 : rng() % 600;
      std::string response(len, static_cast<char>('a' + round % 26));
      int64_t until = now + 2000;
      log.add(key, check, at(until), response);
      model[{key, check}] = {until, std::move(response)};
    }
    if (round % 7 == 0) {
      log.expire(at(now));
      std::erase_if(model, [&](const auto& kv) { return kv.second.first <= now; });
      ASSERT_EQ(log.size(), model.size()) << "round " << round;
    }
    if (round == 30000) {
      // Empty the log mid-run; it must go on from there.
      log.expire(at(now + 2000));
      model.clear();
      ASSERT_EQ(log.size(), 0u);
      now += 2000;
    }
    if (round % 997 == 0) {
      for (const auto& [k, v] : model) {
        const RetiredLog::Record* r = log.find(k.first, k.second);
        ASSERT_NE(r, nullptr) << k.first << "/" << k.second;
        ASSERT_EQ(r->response(), v.second);
      }
      for (int probe = 0; probe < 200; ++probe) {
        uint64_t key = 50000 + rng() % 1000;  // never added
        ASSERT_EQ(log.find(key, 0), nullptr);
      }
    }
  }
  log.expire(at(now + 5000));
  EXPECT_EQ(log.size(), 0u);
}

}  // namespace
}  // namespace herald::sip
