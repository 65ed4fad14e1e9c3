// The settle rule of incoming/, with the clock in the test's hands: a file is
// complete once it has looked the same for settle_time, and any change to its
// inode, size, mtime or ctime starts the wait again.
#include <gtest/gtest.h>

#include "drop/drop_ingest.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using detail::SettleTracker;

namespace {

constexpr auto kSettle = 2s;
const Clock::time_point t0{};

SettleTracker::Look look(off_t size, long mtime = 100, long ctime = 100, ino_t ino = 7) {
  SettleTracker::Look l;
  l.ino = ino;
  l.size = size;
  l.mtime = {mtime, 0};
  l.ctime = {ctime, 0};
  return l;
}

struct Watch {
  SettleTracker tracker;
  Clock::time_point due = Clock::time_point::max();
  bool at(Clock::duration when, const SettleTracker::Look& l, const std::string& name = "f") {
    due = Clock::time_point::max();
    return tracker.settled(name, l, t0 + when, kSettle, due);
  }
};

}  // namespace

TEST(DropSettle, AFileIsCompleteOnlyAfterLookingTheSameForTheSettleTime) {
  Watch w;
  EXPECT_FALSE(w.at(0s, look(10)));
  EXPECT_EQ(w.due, t0 + 2s) << "the caller is told when to look again";
  EXPECT_FALSE(w.at(1999ms, look(10)));
  EXPECT_TRUE(w.at(2s, look(10)));
}

TEST(DropSettle, EveryKindOfChangeStartsTheWaitAgain) {
  const SettleTracker::Look changes[] = {look(11), look(10, 101), look(10, 100, 101),
                                         look(10, 100, 100, 8)};
  for (const auto& changed : changes) {
    Watch w;
    EXPECT_FALSE(w.at(0s, look(10)));
    EXPECT_FALSE(w.at(1s, changed));
    EXPECT_FALSE(w.at(2500ms, changed)) << "settled only 1.5 s after the change";
    EXPECT_EQ(w.due, t0 + 3s);
    EXPECT_TRUE(w.at(3s, changed));
  }
}

TEST(DropSettle, AnUploadThatKeepsTheSourceMtimeIsStillSeenGrowing) {
  // Same size for a moment (a stalled transfer) but the ctime moved: the
  // writer cannot forge that.
  Watch w;
  EXPECT_FALSE(w.at(0s, look(4096, 50, 100)));
  EXPECT_FALSE(w.at(1500ms, look(4096, 50, 101)));
  EXPECT_FALSE(w.at(3s, look(4096, 50, 101)));
  EXPECT_TRUE(w.at(3500ms, look(4096, 50, 101)));
}

TEST(DropSettle, FilesAreTrackedApartAndForgottenWhenGone) {
  Watch w;
  EXPECT_FALSE(w.at(0s, look(1), "a"));
  EXPECT_FALSE(w.at(1s, look(1), "b"));
  EXPECT_TRUE(w.at(2s, look(1), "a"));
  EXPECT_FALSE(w.at(2s, look(1), "b"));
  w.tracker.keep_only({"b"});
  EXPECT_FALSE(w.at(3s, look(1), "a")) << "a reappearing file is watched from scratch";
  EXPECT_TRUE(w.at(3s, look(1), "b"));
}
