// The drop channel's completion rule is the channel's (state/ingest), and a
// marker is never a message, whichever rule is in force (issue 15).
#include <gtest/gtest.h>

#include <string>

#include "drop_support.hpp"
#include "ringdrop/ringdrop.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using test::list_dir;
using test::open_channel;
using test::open_consumer;
using test::read_text;
using test::spit;
using Names = std::vector<std::string>;

namespace {

DropOptions with_rule(Completion completion, std::chrono::milliseconds settle) {
  DropOptions o = test::fast_drop();
  o.ingest.completion = completion;
  o.ingest.settle_time = settle;
  return o;
}

}  // namespace

TEST(DropIngestRule, AMarkerWriterIntoASettlingChannelMakesOneMessageAndNoEmptyOne) {
  test::ScopedDir dir;
  auto ch = open_channel(dir, with_rule(Completion::settle, 1h));  // the default rule, a long settle
  auto rx = open_consumer(ch);
  const std::string incoming = dir.sub("incoming");
  spit(incoming + "/job.dat", "order 1\norder 2\n");
  spit(incoming + "/job.dat.done", "");
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << last_error_detail();
  EXPECT_EQ(test::header(*c, "original-name"), "job.dat") << "taken at once: its marker says it is complete";
  EXPECT_EQ(read_text(*c), "order 1\norder 2\n");
  EXPECT_FALSE(c->ack());
  test::expect_nothing_ready(rx, "the marker is not a message");
  EXPECT_TRUE(list_dir(incoming).empty()) << testing::PrintToString(list_dir(incoming));
  EXPECT_EQ(rx.stats().ingested, 1u);
}

TEST(DropIngestRule, AMarkerThatComesAfterItsFileSettledIsRemovedNotDelivered) {
  test::ScopedDir dir;
  auto ch = open_channel(dir, with_rule(Completion::settle, 0ms));
  auto rx = open_consumer(ch);
  const std::string incoming = dir.sub("incoming");
  spit(incoming + "/job.dat", "rows");
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << last_error_detail();
  EXPECT_FALSE(c->ack());
  spit(incoming + "/job.dat.done", "");  // the writer's marker, after its file was taken
  test::expect_nothing_ready(rx, "a late marker is not a message");
  EXPECT_TRUE(list_dir(incoming).empty()) << "an empty marker without its file is removed";
  EXPECT_EQ(rx.stats().ingested, 1u);
}

TEST(DropIngestRule, AMarkerNameWithContentAndNoFileGoesToFailedWithAReason) {
  test::ScopedDir dir;
  auto ch = open_channel(dir, with_rule(Completion::settle, 0ms));
  auto rx = open_consumer(ch);
  spit(dir.sub("incoming") + "/totals.done", "not empty: not a mere marker");
  test::expect_nothing_ready(rx, "never delivered");
  auto dead = ch.dead_letters();
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_NE(dead->front().reason.find("completion marker"), std::string::npos) << dead->front().reason;
  EXPECT_EQ(dead->front().headers.at("original-name"), "totals.done");
  EXPECT_TRUE(list_dir(dir.sub("incoming")).empty());
}

TEST(DropIngestRule, TheCreatorsRuleIsWrittenToStateAndEveryOpenerFollowsIt) {
  test::ScopedDir dir;
  auto created = open_channel(dir, with_rule(Completion::marker, 1h));
  EXPECT_EQ(test::slurp(dir.sub("state/ingest")), "completion marker\nsettle_ms 3600000\nmarker_suffix .done\n");
  // A consumer that asks for the settle rule, with no settle time at all:
  // the channel's marker rule holds, so a file without its marker waits.
  auto ch = open_channel(dir, with_rule(Completion::settle, 0ms));
  auto rx = open_consumer(ch);
  spit(dir.sub("incoming") + "/half.csv", "half of it");
  test::expect_nothing_ready(rx, "no marker yet: the channel's rule, not this opener's");
  EXPECT_EQ(list_dir(dir.sub("incoming")), Names{"half.csv"});
  spit(dir.sub("incoming") + "/half.csv", ", and the rest", /*append=*/true);
  spit(dir.sub("incoming") + "/half.csv.done", "");
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << last_error_detail();
  EXPECT_EQ(read_text(*c), "half of it, and the rest");
  EXPECT_FALSE(c->ack());
}

TEST(DropIngestRule, AnUnreadableRuleOrABadSuffixIsRefusedAtOpen) {
  test::ScopedDir dir;
  { auto ch = open_channel(dir); }
  spit(dir.sub("state/ingest"), "completion sideways\nsettle_ms 10\nmarker_suffix .done\n");
  auto bad = DropChannel::open(dir.root(), test::fast_drop());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), errc::corrupted);
  EXPECT_NE(last_error_detail().find("state/ingest"), std::string::npos) << last_error_detail();

  test::ScopedDir other;
  DropOptions o = test::fast_drop();
  o.ingest.marker_suffix = "a/b";
  auto refused = DropChannel::open(other.root(), o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::invalid_argument);
}
