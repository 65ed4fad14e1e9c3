// Receipts for file droppers and the headers sidecar (issue 15): a writer
// that can only write files finds, by the name it used, what became of
// each file it dropped.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "drop_support.hpp"
#include "ringdrop/ringdrop.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using test::list_dir;
using test::open_channel;
using test::open_consumer;
using test::read_text;
using test::spit;
using test::slurp;

namespace {

/// Drops `name` with `content` into incoming/ by the marker protocol (taken
/// at once) and claims it.
DropClaim drop_and_claim(const test::ScopedDir& dir, DropConsumer& rx, const std::string& name,
                         const std::string& content) {
  spit(dir.sub("incoming") + "/" + name, content);
  spit(dir.sub("incoming") + "/" + name + ".done", "");
  auto c = rx.claim(30s);
  if (!c) throw std::runtime_error("claim: " + last_error_detail());
  return std::move(*c);
}

/// The receipts of `name`, oldest first ("<name>.<id>": ids sort by time).
std::vector<std::string> receipts_of(const test::ScopedDir& dir, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& n : list_dir(dir.sub("receipts"))) {
    if (n.rfind(name + ".", 0) == 0) out.push_back(n);
  }
  return out;
}

DropHeaders receipt(const test::ScopedDir& dir, const std::string& file) {
  DropHeaders h;
  const std::string text = slurp(dir.sub("receipts") + "/" + file);
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    const std::string line = text.substr(at, nl - at);
    const size_t sep = line.find(": ");
    if (sep != std::string::npos) h[line.substr(0, sep)] = line.substr(sep + 2);
    at = nl == std::string::npos ? text.size() : nl + 1;
  }
  return h;
}

}  // namespace

TEST(DropReceipt, AProcessedFileHasAReceiptByItsNameWithItsId) {
  test::ScopedDir dir;
  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  auto c = drop_and_claim(dir, rx, "orders.csv", "1,2,3\n");
  const std::string id = c.id();
  ASSERT_EQ(receipts_of(dir, "orders.csv").size(), 1u);
  EXPECT_EQ(receipt(dir, receipts_of(dir, "orders.csv")[0]).at("outcome"), "taken") << "taken, not yet processed";
  ASSERT_FALSE(c.ack());
  const auto files = receipts_of(dir, "orders.csv");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], "orders.csv." + id);
  const DropHeaders r = receipt(dir, files[0]);
  EXPECT_EQ(r.at("outcome"), "processed");
  EXPECT_EQ(r.at("id"), id);
  EXPECT_EQ(r.at("name"), "orders.csv");
  EXPECT_EQ(r.count("reason"), 0u);
  EXPECT_EQ(r.at("at").size(), std::string("2026-12-06T17:44:37.123Z").size()) << r.at("at");
}

TEST(DropReceipt, ARejectedFileHasADeadLetteredReceiptWithTheReason) {
  test::ScopedDir dir;
  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  auto c = drop_and_claim(dir, rx, "bad.csv", "not,a,valid,row");
  ASSERT_FALSE(c.reject("row 1: 4 fields, expected 3"));
  const auto files = receipts_of(dir, "bad.csv");
  ASSERT_EQ(files.size(), 1u);
  const DropHeaders r = receipt(dir, files[0]);
  EXPECT_EQ(r.at("outcome"), "dead-lettered");
  EXPECT_EQ(r.at("reason"), "row 1: 4 fields, expected 3");
  // Requeued and then processed: the same receipt says so.
  ASSERT_FALSE(ch.requeue(r.at("id")));
  auto again = rx.claim(30s);
  ASSERT_TRUE(again) << last_error_detail();
  ASSERT_FALSE(again->ack());
  EXPECT_EQ(receipt(dir, files[0]).at("outcome"), "processed");
}

TEST(DropReceipt, ANameDroppedTwiceHasTwoReceiptsInOrder) {
  test::ScopedDir dir;
  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  auto first = drop_and_claim(dir, rx, "daily.csv", "monday");
  ASSERT_FALSE(first.ack());
  auto second = drop_and_claim(dir, rx, "daily.csv", "tuesday");
  ASSERT_FALSE(second.reject("tuesday is a holiday"));
  const auto files = receipts_of(dir, "daily.csv");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0], "daily.csv." + first.id());
  EXPECT_EQ(files[1], "daily.csv." + second.id());
  EXPECT_EQ(receipt(dir, files[0]).at("outcome"), "processed");
  EXPECT_EQ(receipt(dir, files[1]).at("outcome"), "dead-lettered");
}

TEST(DropReceipt, ARefusedEntryHasAReceiptAndPublishedMessagesHaveNone) {
  test::ScopedDir dir;
  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  test::publish(ch, "from a cooperating program");
  auto c = rx.claim(30s);
  ASSERT_TRUE(c);
  ASSERT_FALSE(c->ack());
  EXPECT_TRUE(list_dir(dir.sub("receipts")).empty()) << "no original-name, no receipt";
  ASSERT_EQ(::mkdir((dir.sub("incoming") + "/a-directory").c_str(), 0700), 0);
  ASSERT_FALSE(rx.scan());
  const auto files = receipts_of(dir, "a-directory");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(receipt(dir, files[0]).at("outcome"), "dead-lettered");
  EXPECT_NE(receipt(dir, files[0]).at("reason").find("a directory"), std::string::npos);
}

TEST(DropReceipt, ASidecarGivesADroppedFileItsHeadersAndIsNoMessage) {
  test::ScopedDir dir;
  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  spit(dir.sub("incoming") + "/batch.dat.headers", "content-type: text/csv\ncorrelation-id: run-7\n");
  auto c = drop_and_claim(dir, rx, "batch.dat", "a,b\n");
  EXPECT_EQ(test::header(c, "content-type"), "text/csv");
  EXPECT_EQ(test::header(c, "correlation-id"), "run-7");
  EXPECT_EQ(test::header(c, "original-name"), "batch.dat");
  EXPECT_EQ(read_text(c), "a,b\n");
  ASSERT_FALSE(c.ack());
  test::expect_nothing_ready(rx, "the sidecar is not a message");
  EXPECT_TRUE(list_dir(dir.sub("incoming")).empty()) << testing::PrintToString(list_dir(dir.sub("incoming")));
}

TEST(DropReceipt, ASidecarThatBreaksTheHeaderRulesRefusesItsFileAndIsKept) {
  test::ScopedDir dir;
  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  spit(dir.sub("incoming") + "/x.dat.headers", "note: " + std::string(2000, 'x') + "\n");  // values: 1024 at most
  spit(dir.sub("incoming") + "/x.dat", "data");
  spit(dir.sub("incoming") + "/x.dat.done", "");
  test::expect_nothing_ready(rx, "refused");
  auto dead = ch.dead_letters();
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_NE(dead->front().reason.find("sidecar"), std::string::npos) << dead->front().reason;
  EXPECT_EQ(list_dir(dir.sub("incoming")), std::vector<std::string>{"x.dat.headers"}) << "kept, not lost";
}
