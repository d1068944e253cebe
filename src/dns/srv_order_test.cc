#include "dns/srv_order.h"

#include <gtest/gtest.h>

#include <map>

namespace herald::dns {
namespace {

SrvRecord srv(uint16_t priority, uint16_t weight, std::string target) {
  return SrvRecord{priority, weight, 5061, std::move(target), 300};
}

std::vector<std::string> targets(const std::vector<SrvRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.target);
  return out;
}

TEST(SrvOrderTest, PriorityAscendingFirst) {
  Rng rng(1);
  auto out = orderSrv({srv(20, 5, "c"), srv(10, 0, "a"), srv(30, 100, "d"), srv(20, 5, "b")}, rng);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].target, "a");
  EXPECT_EQ(out[3].target, "d");
  EXPECT_EQ(out[1].priority, 20);
  EXPECT_EQ(out[2].priority, 20);
}

TEST(SrvOrderTest, SameSeedSameOrder) {
  std::vector<SrvRecord> in;
  for (int i = 0; i < 8; ++i) in.push_back(srv(10, static_cast<uint16_t>(i * 7), std::to_string(i)));
  Rng a(42);
  Rng b(42);
  for (int round = 0; round < 50; ++round) {
    EXPECT_EQ(targets(orderSrv(in, a)), targets(orderSrv(in, b)));
  }
}

TEST(SrvOrderTest, WeightsThreeToOnePickTheFirstThreeTimesInFour) {
  Rng rng(2782);
  int first = 0;
  constexpr int kRounds = 10000;
  for (int i = 0; i < kRounds; ++i) {
    auto out = orderSrv({srv(10, 3, "heavy"), srv(10, 1, "light")}, rng);
    ASSERT_EQ(out.size(), 2u);
    if (out[0].target == "heavy") ++first;
  }
  double share = static_cast<double>(first) / kRounds;
  EXPECT_NEAR(share, 0.75, 0.05) << first << " of " << kRounds;
}

TEST(SrvOrderTest, WeightsAreProportionalAmongThree) {
  Rng rng(7);
  std::map<std::string, int> firsts;
  for (int i = 0; i < 20000; ++i) {
    ++firsts[orderSrv({srv(1, 10, "a"), srv(1, 30, "b"), srv(1, 60, "c")}, rng)[0].target];
  }
  EXPECT_NEAR(firsts["a"] / 20000.0, 0.10, 0.02);
  EXPECT_NEAR(firsts["b"] / 20000.0, 0.30, 0.02);
  EXPECT_NEAR(firsts["c"] / 20000.0, 0.60, 0.02);
}

TEST(SrvOrderTest, WeightZeroHasASmallChanceAndKeepsEveryRecord) {
  Rng rng(3);
  int zero_first = 0;
  constexpr int kRounds = 10000;
  for (int i = 0; i < kRounds; ++i) {
    auto out = orderSrv({srv(10, 0, "zero"), srv(10, 99, "big")}, rng);
    ASSERT_EQ(out.size(), 2u);
    if (out[0].target == "zero") ++zero_first;
  }
  // 1 / (99 + 1): small, but not never (RFC 2782).
  EXPECT_GT(zero_first, 40);
  EXPECT_LT(zero_first, 200);
}

TEST(SrvOrderTest, AllWeightsZeroAreShuffled) {
  Rng rng(5);
  std::map<std::string, int> firsts;
  for (int i = 0; i < 3000; ++i) {
    auto out = orderSrv({srv(10, 0, "a"), srv(10, 0, "b"), srv(10, 0, "c")}, rng);
    ASSERT_EQ(out.size(), 3u);
    ++firsts[out[0].target];
  }
  for (const char* t : {"a", "b", "c"}) EXPECT_NEAR(firsts[t] / 3000.0, 1.0 / 3, 0.05) << t;
}

TEST(SrvOrderTest, EmptyAndSingle) {
  Rng rng(1);
  EXPECT_TRUE(orderSrv({}, rng).empty());
  auto one = orderSrv({srv(0, 0, ".")}, rng);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].target, ".");
}

}  // namespace
}  // namespace herald::dns
