#include "common/timer_wheel.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

class TimerWheelTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  TimerWheel wheel_{clock_.now(), Duration(10), 64};
  std::vector<uint64_t> fired_;

  void advance(Duration d) {
    clock_.advance(d);
    wheel_.advance(clock_.now(),
                   [this](const TimerWheel::Payload& p) { fired_.push_back(p.owner); });
  }
};

TEST_F(TimerWheelTest, FiresAtTheDeadlineNotBefore) {
  wheel_.schedule(clock_.now() + Duration(500), {1, 0});
  advance(Duration(490));
  EXPECT_TRUE(fired_.empty());
  advance(Duration(10));
  EXPECT_EQ(fired_, std::vector<uint64_t>{1});
  EXPECT_EQ(wheel_.size(), 0u);
}

TEST_F(TimerWheelTest, FiresInDeadlineOrderAcrossRounds) {
  // 64 slots of 10 ms: 640 ms per round; 32 s is 50 rounds.
  wheel_.schedule(clock_.now() + Duration(32000), {3, 0});
  wheel_.schedule(clock_.now() + Duration(5000), {2, 0});
  wheel_.schedule(clock_.now() + Duration(1), {1, 0});
  advance(Duration(4999));
  EXPECT_EQ(fired_, std::vector<uint64_t>{1});
  advance(Duration(1));
  EXPECT_EQ(fired_, (std::vector<uint64_t>{1, 2}));
  advance(Duration(26990));
  EXPECT_EQ(fired_.size(), 2u);
  advance(Duration(10));
  EXPECT_EQ(fired_, (std::vector<uint64_t>{1, 2, 3}));
}

TEST_F(TimerWheelTest, CancelledTimersDoNotFire) {
  TimerId a = wheel_.schedule(clock_.now() + Duration(100), {1, 0});
  wheel_.schedule(clock_.now() + Duration(100), {2, 0});
  EXPECT_TRUE(wheel_.cancel(a));
  EXPECT_FALSE(wheel_.cancel(a));
  advance(Duration(200));
  EXPECT_EQ(fired_, std::vector<uint64_t>{2});
}

TEST_F(TimerWheelTest, CallbacksMayScheduleAndCancel) {
  TimerId victim = wheel_.schedule(clock_.now() + Duration(25), {9, 0});
  wheel_.schedule(clock_.now() + Duration(20), {1, 0});
  std::vector<uint64_t> order;
  clock_.advance(Duration(100));
  wheel_.advance(clock_.now(), [&](const TimerWheel::Payload& p) {
    order.push_back(p.owner);
    if (p.owner == 1) {
      wheel_.cancel(victim);
      wheel_.schedule(clock_.now() + Duration(50), {2, 0});
    }
  });
  EXPECT_EQ(order, std::vector<uint64_t>{1});
  clock_.advance(Duration(50));
  wheel_.advance(clock_.now(), [&](const TimerWheel::Payload& p) { order.push_back(p.owner); });
  EXPECT_EQ(order, (std::vector<uint64_t>{1, 2}));
}

TEST_F(TimerWheelTest, PastDeadlinesFireOnTheNextAdvance) {
  advance(Duration(1000));
  wheel_.schedule(clock_.now() - Duration(500), {7, 0});
  advance(Duration(0));
  EXPECT_EQ(fired_, std::vector<uint64_t>{7});
}

}  // namespace
}  // namespace herald
