#include <gtest/gtest.h>

#include <set>

#include "ringdrop/error.hpp"
#include "ringdrop/result.hpp"

using namespace ringdrop;

TEST(Error, EveryCodeHasItsOwnMessage) {
  std::set<std::string> seen;
  for (int code = 1; code <= static_cast<int>(errc::unknown_type); ++code) {
    const std::string msg = make_error_code(static_cast<errc>(code)).message();
    EXPECT_EQ(msg.find("unknown"), std::string::npos) << code;
    EXPECT_TRUE(seen.insert(msg).second) << "duplicate message for " << code;
  }
}

TEST(Error, CategoryNameAndPortableConditions) {
  const std::error_code ec = errc::permission_denied;
  EXPECT_STREQ(ec.category().name(), "ringdrop");
  EXPECT_EQ(ec, std::errc::permission_denied);
  EXPECT_EQ(std::error_code(errc::timed_out), std::errc::timed_out);
  EXPECT_NE(std::error_code(errc::peer_gone), std::errc::timed_out);
}

TEST(Error, ErrnoMapsToRingdropCodes) {
  EXPECT_EQ(detail::from_errno(EACCES), errc::permission_denied);
  EXPECT_EQ(detail::from_errno(ENOENT), errc::not_found);
  EXPECT_EQ(detail::from_errno(EEXIST), errc::already_exists);
  EXPECT_EQ(detail::from_errno(ENOSPC), errc::no_space);
  EXPECT_EQ(detail::from_errno(EDQUOT), errc::no_space);
  EXPECT_EQ(detail::from_errno(ENOSPC), std::errc::no_space_on_device);
  EXPECT_EQ(detail::from_errno(ELOOP), errc::unsafe_file);
}

TEST(Error, FailRecordsDetailForThisThread) {
  const auto ec = detail::fail(errc::corrupted, "field x differs");
  EXPECT_EQ(ec, errc::corrupted);
  EXPECT_EQ(last_error_detail(), "field x differs");
}

TEST(Result, HoldsValueOrError) {
  Result<int> good = 42;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  EXPECT_FALSE(good.error());
  Result<int> bad = errc::not_found;
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), errc::not_found);
  EXPECT_THROW((void)bad.value(), std::system_error);
}
