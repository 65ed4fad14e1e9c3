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

// Issue 15: value()'s exception says what last_error_detail() says, when
// that detail belongs to this error, and only then.
TEST(Result, ValueThrowsWithTheFailuresDetail) {
  Result<int> bad = detail::fail(errc::not_found, "open shm:orders: No such file or directory");
  try {
    (void)bad.value();
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::not_found);
    EXPECT_NE(std::string(e.what()).find("open shm:orders: No such file or directory"), std::string::npos) << e.what();
  }
  // A later failure with another code: its detail is not this error's.
  (void)detail::fail(errc::corrupted, "field x differs");
  try {
    (void)bad.value();
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(std::string(e.what()).find("field x differs"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(e.code().message()), std::string::npos) << e.what();
  }
}
