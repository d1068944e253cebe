#include "common/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

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

TEST_F(TimerWheelTest, AnEmptyWheelSkipsTheTicksItSleptThrough) {
  advance(Duration(3600 * 1000));  // an idle hour: 360,000 ticks of 10 ms
  EXPECT_LE(wheel_.slotVisits(), 2u);
  wheel_.schedule(clock_.now() + Duration(25), {1, 0});
  wheel_.schedule(clock_.now() + Duration(700), {2, 0});  // past one round of 64 slots
  advance(Duration(24));
  EXPECT_TRUE(fired_.empty());
  advance(Duration(1));
  EXPECT_EQ(fired_, std::vector<uint64_t>{1});
  advance(Duration(674));
  EXPECT_EQ(fired_.size(), 1u);
  advance(Duration(1));
  EXPECT_EQ(fired_, (std::vector<uint64_t>{1, 2}));
}

TEST_F(TimerWheelTest, TimersScheduledAfterALongSleepDoNotMakeTheWheelWalkIt) {
  // An idle worker's wheel is not advanced; the first message schedules timers before the
  // first advance() after the sleep.
  wheel_.schedule(clock_.now() + Duration(5), {9, 0});
  advance(Duration(10));
  ASSERT_EQ(fired_, std::vector<uint64_t>{9});
  const uint64_t before = wheel_.slotVisits();
  clock_.advance(Duration(24 * 3600 * 1000));  // a day, 8.6 million ticks
  wheel_.schedule(clock_.now() + Duration(25), {1, 0});
  wheel_.schedule(clock_.now() + Duration(500), {2, 0});
  advance(Duration(0));
  EXPECT_TRUE(fired_.size() == 1);
  EXPECT_LE(wheel_.slotVisits() - before, 64u + 2u);  // one pass over the slots
  advance(Duration(25));
  EXPECT_EQ(fired_, (std::vector<uint64_t>{9, 1}));
  advance(Duration(475));
  EXPECT_EQ(fired_, (std::vector<uint64_t>{9, 1, 2}));
}

TEST_F(TimerWheelTest, TimersDueDuringALongSleepFireTogetherInDeadlineOrder) {
  wheel_.schedule(clock_.now() + Duration(5000), {3, 0});
  wheel_.schedule(clock_.now() + Duration(50), {1, 0});
  wheel_.schedule(clock_.now() + Duration(700), {2, 0});
  wheel_.schedule(clock_.now() + Duration(3600 * 1000 + 30), {4, 0});
  advance(Duration(3600 * 1000));
  EXPECT_EQ(fired_, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_LE(wheel_.slotVisits(), 64u + 2u);
  advance(Duration(29));
  EXPECT_EQ(fired_.size(), 3u);
  advance(Duration(1));
  EXPECT_EQ(fired_, (std::vector<uint64_t>{1, 2, 3, 4}));
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

// Cancelling unlinks a timer from its slot by swapping in the slot's last one; a wrong index
// would lose or double-fire timers. A random mix against a plain model of what must fire.
TEST_F(TimerWheelTest, RandomSchedulesAndCancelsFireExactlyTheLiveTimers) {
  std::mt19937 rng(7);
  std::map<uint64_t, std::pair<TimePoint, TimerId>> live;  // owner -> deadline, id
  std::vector<uint64_t> expected;
  uint64_t next = 1;
  for (int step = 0; step < 3000; ++step) {
    for (int i = 0; i < 5; ++i) {
      // Up to 1.5 rounds of the 64-slot wheel ahead; many share a slot.
      TimePoint deadline = clock_.now() + Duration(1 + static_cast<int64_t>(rng() % 960));
      live[next] = {deadline, wheel_.schedule(deadline, {next, 0})};
      ++next;
    }
    for (int i = 0; i < 3 && !live.empty(); ++i) {
      auto it = live.lower_bound(rng() % next);
      if (it == live.end()) continue;
      EXPECT_TRUE(wheel_.cancel(it->second.second));
      EXPECT_FALSE(wheel_.cancel(it->second.second));
      live.erase(it);
    }
    clock_.advance(Duration(3));
    for (auto it = live.begin(); it != live.end();) {
      if (it->second.first <= clock_.now()) {
        expected.push_back(it->first);
        it = live.erase(it);
      } else {
        ++it;
      }
    }
    wheel_.advance(clock_.now(),
                   [this](const TimerWheel::Payload& p) { fired_.push_back(p.owner); });
    ASSERT_EQ(wheel_.size(), live.size()) << "step " << step;
  }
  std::sort(expected.begin(), expected.end());
  std::sort(fired_.begin(), fired_.end());
  EXPECT_EQ(fired_, expected);
}

TEST_F(TimerWheelTest, PastDeadlinesFireOnTheNextAdvance) {
  advance(Duration(1000));
  wheel_.schedule(clock_.now() - Duration(500), {7, 0});
  advance(Duration(0));
  EXPECT_EQ(fired_, std::vector<uint64_t>{7});
}

}  // namespace
}  // namespace herald

namespace herald {
namespace {

// Regression: a deadline later in the current tick than `now` was skipped for a whole turn of
// the wheel when advance() was called at unaligned times (found by an integration test: UDP
// retransmissions stopped).
TEST(TimerWheelUnalignedTest, DeadlinesLaterInTheCurrentTickStillFire) {
  FakeClock clock;
  TimerWheel wheel(clock.now(), Duration(10), 64);
  std::vector<int> fired;
  auto advance = [&](int ms) {
    clock.advance(Duration(ms));
    wheel.advance(clock.now(), [&](const TimerWheel::Payload& p) {
      fired.push_back(static_cast<int>(p.owner));
    });
  };
  advance(3);
  wheel.schedule(clock.now() + Duration(502), {1, 0});  // deadline 505, inside tick [500, 510)
  advance(500);                                         // now 503: not yet
  EXPECT_TRUE(fired.empty());
  advance(2);  // now 505
  EXPECT_EQ(fired, std::vector<int>{1});
  // Irregular calls, as a real event loop makes them.
  wheel.schedule(clock.now() + Duration(1000), {2, 0});
  for (int i = 0; i < 150; ++i) advance(7);
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
}

}  // namespace
}  // namespace herald
