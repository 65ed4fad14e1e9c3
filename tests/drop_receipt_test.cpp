// Receipts for file droppers and the headers sidecar (issue 15): a writer
// that can only write files finds, by the name it used, what became of
// each file it dropped.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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

TEST(DropReceipt, ARefusedEntryHasAReceiptAndPublishedMessagesWithoutANameHaveNone) {
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

TEST(DropReceipt, ReceiptReadsOneByNameAndIdAsItIsNow) {
  test::ScopedDir dir;
  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  auto c = drop_and_claim(dir, rx, "orders.csv", "1,2,3\n");
  auto r = ch.receipt("orders.csv", c.id());
  ASSERT_TRUE(r) << last_error_detail();
  EXPECT_EQ(r->outcome, DropReceipt::Outcome::taken);
  EXPECT_FALSE(r->settled());
  EXPECT_EQ(r->id, c.id());
  EXPECT_EQ(r->name, "orders.csv");
  ASSERT_FALSE(c.reject("row 1: 3 fields, expected 4"));
  r = ch.receipt("orders.csv", c.id());
  ASSERT_TRUE(r) << last_error_detail();
  EXPECT_EQ(r->outcome, DropReceipt::Outcome::dead_lettered);
  EXPECT_EQ(r->reason, "row 1: 3 fields, expected 4");
  EXPECT_FALSE(r->at.empty());
  // Another name, another id: none.
  EXPECT_EQ(ch.receipt("other.csv", c.id()).error(), errc::not_found);
  EXPECT_EQ(ch.receipt("orders.csv", "1-host-1-1-1").error(), errc::not_found);
  EXPECT_EQ(ch.receipt("orders.csv", "../x").error(), errc::invalid_argument);
}

TEST(DropReceipt, APublisherThatNamesItsMessageGetsAReceipt) {
  test::ScopedDir dir;
  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  const std::string id = test::publish(ch, "an order", {{"original-name", "ORDER-0001"}});
  EXPECT_EQ(ch.receipt("ORDER-0001", id).error(), errc::not_found) << "no receipt before it is settled";
  auto c = rx.claim(30s);
  ASSERT_TRUE(c) << last_error_detail();
  ASSERT_FALSE(c->ack());
  auto r = ch.receipt("ORDER-0001", id, 30s);
  ASSERT_TRUE(r) << last_error_detail();
  EXPECT_EQ(r->outcome, DropReceipt::Outcome::processed);
  EXPECT_EQ(r->id, id);
}

TEST(DropReceipt, WaitingTimesOutSayingWhetherThereIsAReceipt) {
  test::ScopedDir dir;
  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  auto c = drop_and_claim(dir, rx, "slow.csv", "x");
  auto r = ch.receipt("slow.csv", c.id(), 1ms);
  EXPECT_EQ(r.error(), errc::timed_out);
  EXPECT_NE(last_error_detail().find("still says taken"), std::string::npos) << last_error_detail();
  r = ch.receipt("never.csv", c.id(), 1ms);
  EXPECT_EQ(r.error(), errc::timed_out);
  EXPECT_NE(last_error_detail().find("no receipts/never.csv."), std::string::npos) << last_error_detail();
}

TEST(DropReceipt, AFileInReceiptsThatIsNoReceiptIsBadMessage) {
  test::ScopedDir dir;
  auto ch = open_channel(dir);
  spit(dir.sub("receipts") + "/forged.csv.1-host-1-1-1", "outcome: maybe\n");
  EXPECT_EQ(ch.receipt("forged.csv", "1-host-1-1-1").error(), errc::bad_message);
  EXPECT_EQ(ch.receipt("forged.csv", "1-host-1-1-1", 30s).error(), errc::bad_message) << "no waiting on it";
}

// The batch job's wait: one process waits for the receipt while another
// settles the message. The waiter says it is about to wait (the receipt
// then says taken), and only then is the message acknowledged: the wait
// ends on the receipt's rename, or on the first look if it came that fast.
class DropReceiptWait : public testing::TestWithParam<Discovery> {};

INSTANTIATE_TEST_SUITE_P(Discovery, DropReceiptWait, testing::Values(Discovery::inotify, Discovery::polling),
                         [](const auto& p) { return p.param == Discovery::inotify ? "Inotify" : "Polling"; });

TEST_P(DropReceiptWait, AWaiterInAnotherProcessLearnsWhenTheMessageIsSettled) {
  test::ScopedDir dir;
  auto ch = open_channel(dir);
  auto rx = open_consumer(ch);
  auto c = drop_and_claim(dir, rx, "nightly.dat", "rows");
  const std::string id = c.id();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(60);
    ::close(ready[0]);
    auto waiter = DropChannel::open(dir.root(), test::fast_drop(GetParam()));
    if (!waiter) ::_exit(2);
    auto before = waiter->receipt("nightly.dat", id);
    if (!before || before->settled()) ::_exit(3);
    if (::write(ready[1], "w", 1) != 1) ::_exit(4);
    auto after = waiter->receipt("nightly.dat", id, 60s);
    if (!after) ::_exit(5);
    ::_exit(after->outcome == DropReceipt::Outcome::processed ? 0 : 6);
  }
  ::close(ready[1]);
  char b = 0;
  ASSERT_EQ(::read(ready[0], &b, 1), 1);
  ::close(ready[0]);
  ASSERT_FALSE(c.ack());
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}
