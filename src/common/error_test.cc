#include "common/error.h"

#include <gtest/gtest.h>

#include "common/result.h"

namespace herald {
namespace {

Result<int> half(int v) {
  if (v % 2 != 0) {
    return unexpected(invalidArgument("odd"));
  }
  return v / 2;
}

Result<int> quarter(int v) {
  auto h = half(v);
  HERALD_TRY(h);
  return half(*h);
}

TEST(ErrorTest, ToStringNamesCodeAndDetail) {
  EXPECT_EQ(invalidArgument("bad port").toString(), "invalid argument: bad port");
  EXPECT_EQ((Error{ErrorCode::Unavailable, ""}.toString()), "unavailable");
}

TEST(ErrorTest, TryPropagatesFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  ASSERT_FALSE(quarter(6));
  EXPECT_EQ(quarter(6).error().detail, "odd");
  EXPECT_EQ(quarter(3).error().code, ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace herald
