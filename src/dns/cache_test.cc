#include "dns/cache.h"

#include <gtest/gtest.h>

namespace herald::dns {
namespace {

using std::chrono::seconds;

Answer okSrv(uint32_t ttl) {
  Answer a;
  a.status = Status::Ok;
  a.srv = {SrvRecord{10, 30, 5061, "sip1.b.test", ttl}, SrvRecord{20, 0, 5061, "sip2.b.test", ttl + 100}};
  a.ttl = cacheTtl(a, std::nullopt, CachePolicy{});
  return a;
}

Answer withStatus(Status s) {
  Answer a;
  a.status = s;
  return a;
}

TEST(CacheTtlTest, PositiveIsTheLowestRecordTtlCappedByMaxTtl) {
  CachePolicy policy;
  policy.max_ttl_s = 1000;
  EXPECT_EQ(cacheTtl(okSrv(300), std::nullopt, policy), 300u);
  EXPECT_EQ(cacheTtl(okSrv(5000), std::nullopt, policy), 1000u);
  EXPECT_EQ(cacheTtl(okSrv(0), std::nullopt, policy), 0u);
}

TEST(CacheTtlTest, NegativeUsesTheSoaOrTheDefaultCappedByMaxNegativeTtl) {
  CachePolicy policy;
  policy.max_negative_ttl_s = 120;
  EXPECT_EQ(cacheTtl(withStatus(Status::NxDomain), 30u, policy), 30u);
  EXPECT_EQ(cacheTtl(withStatus(Status::NoRecords), 3600u, policy), 120u);
  EXPECT_EQ(cacheTtl(withStatus(Status::NxDomain), std::nullopt, policy), kDefaultNegativeTtl);
}

TEST(CacheTtlTest, FailuresAreNotCached) {
  for (Status s : {Status::Timeout, Status::ServFail, Status::Refused, Status::Error}) {
    EXPECT_EQ(cacheTtl(withStatus(s), 300u, CachePolicy{}), 0u) << statusName(s);
  }
}

TEST(CacheTest, HitUntilTheTtlEndsWithTheRemainingTtl) {
  FakeClock clock;
  Cache cache(CachePolicy{}, clock);
  Query q{"_sipfederationtls._tcp.b.test", RecordType::SRV};
  EXPECT_FALSE(cache.lookup(q));
  cache.insert(q, okSrv(300));
  auto hit = cache.lookup(q);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->from_cache);
  EXPECT_EQ(hit->ttl, 300u);
  ASSERT_EQ(hit->srv.size(), 2u);
  EXPECT_EQ(hit->srv[0].target, "sip1.b.test");

  clock.advance(seconds(100));
  hit = cache.lookup(q);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->ttl, 200u);
  EXPECT_EQ(hit->srv[0].ttl, 200u);
  EXPECT_EQ(hit->srv[1].ttl, 200u);

  clock.advance(std::chrono::milliseconds(199'500));
  hit = cache.lookup(q);
  ASSERT_TRUE(hit) << "half a second is left";
  EXPECT_EQ(hit->ttl, 1u);
  clock.advance(std::chrono::milliseconds(500));
  EXPECT_FALSE(cache.lookup(q));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CacheTest, KeyIgnoresCaseAndTheFinalDotButNotTheType) {
  FakeClock clock;
  Cache cache(CachePolicy{}, clock);
  cache.insert({"_SipFederationTLS._tcp.B.test.", RecordType::SRV}, okSrv(60));
  EXPECT_TRUE(cache.lookup({"_sipfederationtls._tcp.b.test", RecordType::SRV}));
  EXPECT_FALSE(cache.lookup({"_sipfederationtls._tcp.b.test", RecordType::NAPTR}));
}

TEST(CacheTest, NegativeAnswersAreCachedAndFailuresAreNot) {
  FakeClock clock;
  Cache cache(CachePolicy{}, clock);
  Answer nx = withStatus(Status::NxDomain);
  nx.ttl = cacheTtl(nx, 30u, CachePolicy{});
  cache.insert({"nope.test", RecordType::A}, nx);
  Answer timeout = withStatus(Status::Timeout);
  timeout.ttl = cacheTtl(timeout, std::nullopt, CachePolicy{});
  cache.insert({"slow.test", RecordType::A}, timeout);

  auto hit = cache.lookup({"nope.test", RecordType::A});
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->status, Status::NxDomain);
  EXPECT_FALSE(cache.lookup({"slow.test", RecordType::A}));
  clock.advance(seconds(30));
  EXPECT_FALSE(cache.lookup({"nope.test", RecordType::A}));
}

TEST(CacheTest, FullCacheDropsTheOldestEntry) {
  FakeClock clock;
  CachePolicy policy;
  policy.max_entries = 3;
  Cache cache(policy, clock);
  for (int i = 0; i < 3; ++i) {
    cache.insert({"n" + std::to_string(i) + ".test", RecordType::SRV}, okSrv(300));
  }
  cache.insert({"n0.test", RecordType::SRV}, okSrv(300));  // refreshed: now the newest
  cache.insert({"n3.test", RecordType::SRV}, okSrv(300));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.lookup({"n1.test", RecordType::SRV}));
  EXPECT_TRUE(cache.lookup({"n0.test", RecordType::SRV}));
  EXPECT_TRUE(cache.lookup({"n2.test", RecordType::SRV}));
  EXPECT_TRUE(cache.lookup({"n3.test", RecordType::SRV}));
}

TEST(CacheTest, ZeroEntriesDisablesTheCache) {
  FakeClock clock;
  CachePolicy policy;
  policy.max_entries = 0;
  Cache cache(policy, clock);
  cache.insert({"b.test", RecordType::SRV}, okSrv(300));
  EXPECT_FALSE(cache.lookup({"b.test", RecordType::SRV}));
}

}  // namespace
}  // namespace herald::dns
