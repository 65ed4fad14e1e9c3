// The file-drop channel between real processes (fork + exec of
// ringdrop-drop-peer): competing producer and consumer processes, a consumer
// killed with -9 while it holds a claim, and a slow writer that does not
// cooperate (it writes into incoming/ and drops a marker when done).
//
// Consumer peers print "GOT P SEQ" for each message after acking it; the
// test reads the lines of all consumers at once (poll) and checks every
// message arrived exactly once.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <utility>

#include "drop_support.hpp"
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/drop_consumer.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using test::DropPeer;
using test::fast_drop;
using test::list_dir;
using test::ScopedDir;

namespace {

std::string str(uint64_t v) { return std::to_string(v); }

}  // namespace

TEST(DropCrossProcess, ThreeProducersThreeConsumersProcessEveryMessageExactlyOnce) {
  ScopedDir dir;
  auto o = fast_drop();
  o.archive = true;
  auto ch = DropChannel::open(dir.root(), o);  // the peers open it with create off
  ASSERT_TRUE(ch) << ch.error().message();
  const uint64_t per = test::scaled(2000);
  constexpr uint64_t kProducers = 3;

  std::vector<std::unique_ptr<DropPeer>> consumers;
  consumers.push_back(std::make_unique<DropPeer>(std::vector<std::string>{"consume", dir.root(), "--archive"}));
  consumers.push_back(std::make_unique<DropPeer>(std::vector<std::string>{"consume", dir.root(), "--archive"}));
  consumers.push_back(
      std::make_unique<DropPeer>(std::vector<std::string>{"consume", dir.root(), "--archive", "--polling"}));
  for (auto& c : consumers) ASSERT_EQ(c->read_line(), "READY");

  std::vector<std::unique_ptr<DropPeer>> producers;
  for (uint64_t p = 1; p <= kProducers; ++p) {
    producers.push_back(std::make_unique<DropPeer>(
        std::vector<std::string>{"produce", dir.root(), "--producer", str(p), "--count", str(per)}));
  }

  std::map<std::pair<uint64_t, uint64_t>, int> seen;  // (producer, seq) -> times
  std::vector<uint64_t> per_consumer(consumers.size());
  auto take = [&](size_t i, const std::string& line) {
    std::istringstream in(line);
    std::string word;
    uint64_t p = 0, s = 0;
    in >> word >> p >> s;
    if (word != "GOT" || in.fail() || p < 1 || p > kProducers || s >= per) {
      ADD_FAILURE() << "consumer " << i << " printed '" << line << "'";
      return;
    }
    ++seen[{p, s}];
    ++per_consumer[i];
  };

  const auto deadline = std::chrono::steady_clock::now() + 120s;
  bool broken = false;
  while (seen.size() < kProducers * per && !broken) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "only " << seen.size() << " of " << kProducers * per << " messages processed";
    std::vector<pollfd> fds;
    for (auto& c : consumers) fds.push_back({c->out_fd(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
    for (size_t i = 0; i < consumers.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
      if (!consumers[i]->read_some()) {
        ADD_FAILURE() << "consumer " << i << " exited early";
        broken = true;
      }
      while (auto line = consumers[i]->take_line()) take(i, *line);
    }
  }
  ASSERT_FALSE(broken);
  for (auto& p : producers) {
    EXPECT_EQ(p->read_line(), "DONE");
    EXPECT_EQ(p->wait_for(30s), 0);
  }
  // Stop the consumers; whatever they print now is a second delivery.
  for (auto& c : consumers) c->signal(SIGTERM);
  for (size_t i = 0; i < consumers.size(); ++i) {
    while (auto line = consumers[i]->read_line(30s)) take(i, *line);
    EXPECT_EQ(consumers[i]->wait_for(30s), 0) << "consumer " << i;
  }

  EXPECT_EQ(seen.size(), kProducers * per) << "every message processed";
  uint64_t twice = 0;
  for (const auto& [key, times] : seen) twice += times > 1;
  EXPECT_EQ(twice, 0u) << "messages processed more than once";
  uint64_t total = 0;
  for (uint64_t n : per_consumer) total += n;
  EXPECT_EQ(total, kProducers * per);

  auto n = ch->counts();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->done, kProducers * per) << test::describe(*n);
  EXPECT_EQ(n->incoming + n->ready + n->claimed + n->retrying + n->failed, 0u) << test::describe(*n);
  EXPECT_TRUE(list_dir(dir.sub("tmp")).empty());
}

TEST(DropCrossProcess, ConsumerKilledWhileHoldingAClaimIsRedeliveredAndProcessedOnce) {
  ScopedDir dir;
  auto o = fast_drop();
  o.lease = 200ms;
  auto ch = DropChannel::open(dir.root(), o);
  ASSERT_TRUE(ch) << ch.error().message();
  auto id = ch->publish(test::to_bytes("the only copy"), {{"correlation-id", "k9"}});
  ASSERT_TRUE(id);

  DropPeer holder({"hold", dir.root(), "--lease-ms", "200"});
  EXPECT_EQ(holder.read_line(), "CLAIMED " + *id + " 1");
  auto n = ch->counts();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->claimed, 1u) << test::describe(*n);
  holder.kill9();

  auto rx = DropConsumer::open(*ch);
  ASSERT_TRUE(rx);
  auto c = rx->claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id(), *id);
  EXPECT_EQ(c->attempt(), 2u);
  EXPECT_EQ(test::read_text(*c), "the only copy");
  EXPECT_GE(rx->stats().leases_reclaimed, 1u);
  EXPECT_FALSE(c->ack());
  n = ch->counts();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->incoming + n->ready + n->claimed + n->retrying + n->failed + n->done, 0u) << test::describe(*n);
  EXPECT_TRUE(list_dir(dir.sub("work")).empty()) << "no other copy remains";
  EXPECT_FALSE(rx->scan());
  EXPECT_EQ(rx->try_claim().error(), errc::would_block);
}

TEST(DropCrossProcess, SlowWriterInMarkerModeIsTakenOnlyAfterItsMarker) {
  ScopedDir dir;
  auto o = fast_drop();
  o.ingest.completion = Completion::marker;
  o.ingest.settle_time = 1h;
  auto ch = DropChannel::open(dir.root(), o);
  ASSERT_TRUE(ch) << ch.error().message();
  auto rx = DropConsumer::open(*ch);
  ASSERT_TRUE(rx);
  const std::string file = dir.sub("incoming") + "/upload.bin";
  constexpr int kPieces = 5;
  DropPeer writer({"slow-write", file, "--pieces", str(kPieces), "--marker-suffix", ".done"});
  std::string content;
  for (int i = 0; i < kPieces; ++i) {
    ASSERT_EQ(writer.read_line(), "WROTE " + str(i));
    content += std::string(1000, static_cast<char>('a' + i % 26));
    ASSERT_FALSE(rx->scan());
    auto c = rx->try_claim();
    EXPECT_FALSE(c) << "piece " << i << ": taken before the marker";
    if (!c) {
      EXPECT_EQ(c.error(), errc::would_block);
    }
    EXPECT_EQ(list_dir(dir.sub("incoming")), std::vector<std::string>{"upload.bin"});
    writer.send_line("next");
  }
  ASSERT_EQ(writer.read_line(), "MARKED");
  EXPECT_EQ(writer.wait_for(30s), 0);

  auto c = rx->claim(30s);
  ASSERT_TRUE(c) << c.error().message();
  auto it = c->headers().find("original-name");
  ASSERT_NE(it, c->headers().end());
  EXPECT_EQ(it->second, "upload.bin");
  EXPECT_EQ(c->size(), content.size());
  EXPECT_TRUE(test::read_text(*c) == content) << "the whole upload";
  EXPECT_FALSE(c->ack());
  EXPECT_TRUE(list_dir(dir.sub("incoming")).empty()) << "data and marker are gone";
  EXPECT_EQ(rx->stats().ingested, 1u);
}
