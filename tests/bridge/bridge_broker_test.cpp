// The bridge against a real RabbitMQ (the `broker` fixture): ringdrop-bridge
// processes carry messages ring -> broker -> ring, and each fault the issue
// names is made to happen: unroutable keys, oversize headers and bodies, a
// bridge killed with -9 at random moments, a broker restarted, a memory
// alarm, a queue deleted under the bridge, a broker that is not there.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "bridge_support.hpp"
#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/message.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/ring_dead_letters.hpp"
#include "rpc_test.capnp.h"

namespace ringdrop::test {
namespace {

using namespace std::chrono_literals;

class BridgeBroker : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = Broker::from_env();
    if (!b) GTEST_SKIP() << "no broker: run with the `broker` fixture (ctest -L broker)";
    broker_ = *b;
    out_ring_ = unique_name("out");
    in_ring_ = unique_name("in");
    exchange_ = unique_name("x");
    queue_ = unique_name("q");
  }
  void TearDown() override {
    for (const auto& n : {out_ring_, in_ring_}) {
      (void)Segment::remove(Location::shm(n));
      std::error_code ec;
      std::filesystem::remove_all(dead_letter_dir(Location::shm(n)), ec);
    }
  }

  MpmcProducer make_out(uint32_t cell = 1024, uint32_t max_deliveries = 1000) {
    MpmcOptions o;
    o.cell_size = cell;
    o.capacity = 4u << 20;
    o.max_deliveries = max_deliveries;  // a bridge killed holding a message counts as a delivery
    return MpmcProducer::open(Location::shm(out_ring_), OpenMode::create, o).value();
  }
  MpmcConsumer make_in(uint32_t cell = 1024) {
    MpmcOptions o;
    o.cell_size = cell;
    o.capacity = 4u << 20;
    return MpmcConsumer::open(Location::shm(in_ring_), OpenMode::create, o).value();
  }
  std::vector<std::string> out_args(const std::string& name, const std::string& extra = "") {
    return {"--broker", broker_.url(), "--name", name, "--route",
            "from=shm:" + out_ring_ + ",exchange=" + exchange_ + ",routing_key=k" + extra};
  }
  std::vector<std::string> in_args(const std::string& name, const std::string& extra = "") {
    return {"--broker", broker_.url(), "--name", name, "--route",
            "queue=" + queue_ + ",bind_exchange=" + exchange_ + ",binding_key=k,to=shm:" + in_ring_ + extra};
  }
  static bool running(const nlohmann::json& r) { return r.value("state", "") == "running"; }

  // Host B's inbound bridge, then host A's outbound one: the queue is
  // declared and bound before anything is published (or it would come
  // back unroutable).
  void start_pair() {
    in_.emplace(dir_ / "in", in_args("host-b"));
    ASSERT_TRUE(in_->wait_route(running));
    out_.emplace(dir_ / "out", out_args("host-a"));
  }

  Broker broker_;
  ScopedDir dir_;
  std::string out_ring_, in_ring_, exchange_, queue_;
  std::optional<BridgeProcess> in_, out_;
};

// An Echo with `seq` and the text "echo <seq>", into an MPMC or broadcast ring.
template <class Ring>
std::error_code send_echo(Ring& tx, uint64_t seq, MessageOptions o = {}) {
  return send_message<rdtest::Echo>(
      tx, deadline_after(60s), [&](rdtest::Echo::Builder e) {
        e.setSeq(seq);
        e.setText("echo " + std::to_string(seq));
      },
      o);
}

/// Reads `count` Echoes from `rx` (sent by send_echo with the message ids
/// `ids` and correlation ids i + 1), checks, in order, what every bridged
/// Echo keeps (payload, ids, origin and hop), and gives each to `more` for
/// the rest of its envelope.
void expect_echoes(MpmcConsumer& rx, uint64_t count, const std::vector<uint64_t>& ids,
                   const std::function<void(const IncomingMessage&)>& more) {
  for (uint64_t i = 0; i < count; ++i) {
    auto view = rx.read(60s);
    ASSERT_TRUE(view) << "message " << i << ": " << last_error_detail();
    auto msg = IncomingMessage::open(*view);
    ASSERT_TRUE(msg) << last_error_detail();
    auto e = msg->payload<rdtest::Echo>();
    ASSERT_TRUE(e);
    ASSERT_EQ(e->getSeq(), i) << "out of order";
    EXPECT_EQ(std::string_view(e->getText().cStr()), "echo " + std::to_string(i));
    EXPECT_EQ(msg->envelope().getMessageId(), ids[i]);
    EXPECT_EQ(msg->envelope().getCorrelationId(), i + 1);
    EXPECT_EQ(msg->header("x-ringdrop-origin"), "host-a");
    EXPECT_EQ(msg->header("x-ringdrop-hops"), "1");
    more(*msg);
    rx.release();
    if (::testing::Test::HasFailure()) return;
  }
}

/// The seq of a typed Echo, or nothing (failing the test) if it is not one.
std::optional<uint64_t> seq_of(std::span<const std::byte> bytes) {
  auto in = IncomingMessage::open(bytes);
  if (!in) {
    ADD_FAILURE() << "not a typed message: " << last_error_detail();
    return std::nullopt;
  }
  auto e = in->payload<rdtest::Echo>();
  if (!e) {
    ADD_FAILURE() << "not an Echo";
    return std::nullopt;
  }
  return e->getSeq();
}

TEST_F(BridgeBroker, TypedMessagesArriveInOrderWithTheirEnvelope) {
  auto tx = make_out();
  auto rx = make_in();
  ASSERT_NO_FATAL_FAILURE(start_pair());
  BridgeProcess& in = *in_;
  BridgeProcess& out = *out_;

  constexpr uint64_t kCount = 5000;
  const std::pair<std::string_view, std::string_view> headers[] = {{"tenant", "acme"}, {"trace", "t-1"}};
  std::vector<uint64_t> ids;
  for (uint64_t i = 0; i < kCount; ++i) {
    MessageOptions o;
    o.kind = MessageKind::REQUEST;
    o.message_id = next_message_id();
    o.correlation_id = i + 1;
    o.reply_to = "shm:replies";
    o.headers = headers;
    o.schema_version = 3;
    o.attempt = 2;
    o.idempotent = true;
    o.deadline = deadline_after(600s);
    ids.push_back(o.message_id);
    ASSERT_FALSE(send_echo(tx, i, o)) << last_error_detail();
  }
  ASSERT_NO_FATAL_FAILURE(expect_echoes(rx, kCount, ids, [](const IncomingMessage& msg) {
    auto env = msg.envelope();
    EXPECT_EQ(std::string_view(env.getReplyTo().cStr()), "shm:replies");
    EXPECT_EQ(env.getKind(), MessageKind::REQUEST);
    EXPECT_EQ(env.getSchemaVersion(), 3);
    EXPECT_EQ(env.getAttempt(), 2);
    EXPECT_TRUE(env.getIdempotent());
    EXPECT_GT(env.getDeadlineNs(), 0);
    EXPECT_EQ(msg.header("tenant"), "acme");
    EXPECT_EQ(msg.header("trace"), "t-1");
  }));
  EXPECT_EQ(rx.try_read().error(), errc::would_block) << "more than was sent";
  EXPECT_EQ(out.stop(), 0);
  EXPECT_EQ(in.stop(), 0);
  EXPECT_EQ(counter(out.route(), "bridged"), kCount);
  EXPECT_EQ(counter(in.route(), "bridged"), kCount);
  EXPECT_EQ(out.status().value("verdict", ""), "stopped");
}

TEST_F(BridgeBroker, AnUnroutableMessageBecomesADeadLetterWithTheReason) {
  auto tx = make_out();
  // No queue is bound to the exchange: the broker returns the message.
  BridgeProcess out(dir_ / "out", out_args("host-a"));
  ASSERT_TRUE(out.wait_route(running));
  ASSERT_FALSE(send_echo(tx, 7));
  ASSERT_TRUE(out.wait_route([](const nlohmann::json& r) { return counter(r, "dead_lettered") == 1; }));
  EXPECT_EQ(counter(out.route(), "returned"), 1u);
  EXPECT_EQ(counter(out.route(), "bridged"), 0u);
  auto dl = RingDeadLetters::open(Location::shm(out_ring_)).value();
  auto list = dl.list().value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_NE(list[0].reason.find("unroutable"), std::string::npos) << list[0].reason;
  EXPECT_NE(list[0].reason.find("312 NO_ROUTE"), std::string::npos) << list[0].reason;
  EXPECT_EQ(seq_of(dl.payload(list[0].id).value()), 7u) << "the dead letter is the message, unchanged";
  EXPECT_EQ(out.stop(), 0);
}

TEST_F(BridgeBroker, AMessageTheBrokerRefusesBecomesADeadLetterWithTheReason) {
  auto tx = make_out();
  ASSERT_NO_FATAL_FAILURE(start_pair());
  ASSERT_EQ(in_->stop(), 0);  // the queue stays, bound, with no consumer
  // A full queue that rejects what comes on: the broker nacks it.
  const std::string policy = unique_name("policy");
  ASSERT_EQ(broker_.script("ctl", "set_policy --apply-to queues " + policy + " '^" + queue_ +
                                      "$' '{\"max-length\":1,\"overflow\":\"reject-publish\"}'"),
            0);
  struct Clear {
    const Broker& b;
    std::string name;
    ~Clear() { b.script("ctl", "clear_policy " + name); }
  } clear{broker_, policy};
  for (uint64_t i = 0; i < 3; ++i) ASSERT_FALSE(send_echo(tx, i));
  ASSERT_TRUE(out_->wait_route([](const nlohmann::json& r) {
    return counter(r, "bridged") + counter(r, "dead_lettered") == 3;
  }));
  EXPECT_EQ(counter(out_->route(), "bridged"), 1u) << "the first fills the queue";
  EXPECT_EQ(counter(out_->route(), "nacked"), 2u);
  auto list = RingDeadLetters::open(Location::shm(out_ring_)).value().list().value();
  ASSERT_EQ(list.size(), 2u);
  for (const auto& d : list) EXPECT_NE(d.reason.find("basic.nack"), std::string::npos) << d.reason;
}

TEST_F(BridgeBroker, HeadersTooLargeForAFrameAreRefusedLocallyAndABodyLargerThanAFrameArrives) {
  auto tx = make_out(1u << 20);
  auto rx = make_in(1u << 20);
  ASSERT_NO_FATAL_FAILURE(start_pair());
  BridgeProcess& out = *out_;

  const std::string big(200'000, 'h');  // frame_max is 131072
  const std::pair<std::string_view, std::string_view> huge[] = {{"big", big}};
  MessageOptions o;
  o.headers = huge;
  ASSERT_FALSE(send_echo(tx, 1, o));
  ASSERT_FALSE(send_message<rdtest::Echo>(tx, deadline_after(10s), [](rdtest::Echo::Builder e) {
    e.setSeq(2);
    auto data = e.initData(300'000);  // split over three body frames
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  }));
  auto view = rx.read(60s);
  ASSERT_TRUE(view) << last_error_detail();
  auto msg = IncomingMessage::open(*view).value();
  auto e = msg.payload<rdtest::Echo>().value();
  EXPECT_EQ(e.getSeq(), 2u);
  const auto data = e.getData();  // read once: each getData() spends the reader's traversal budget
  ASSERT_EQ(data.size(), 300'000u);
  for (size_t i = 0; i < data.size(); ++i) ASSERT_EQ(data[i], static_cast<uint8_t>(i * 7));
  rx.release();
  ASSERT_TRUE(out.wait_route([](const nlohmann::json& r) { return counter(r, "dead_lettered") == 1; }));
  auto list = RingDeadLetters::open(Location::shm(out_ring_)).value().list().value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_NE(list[0].reason.find("frame_max"), std::string::npos) << list[0].reason;
}

TEST_F(BridgeBroker, AMessageNeverComesBackIntoTheBridgeThatCarriedItOut) {
  // One bridge, both ways on one exchange: what it publishes, its own
  // inbound route receives — and drops as a loop.
  auto tx = make_out();
  auto rx = make_in();
  std::vector<std::string> args = out_args("host-a");
  args.push_back("--route");
  args.push_back("queue=" + queue_ + ",bind_exchange=" + exchange_ + ",binding_key=k,to=shm:" + in_ring_);
  BridgeProcess both(dir_ / "both", args);
  ASSERT_TRUE(both.wait_route(running, 1));
  ASSERT_FALSE(send_echo(tx, 1));
  ASSERT_TRUE(both.wait_route([](const nlohmann::json& r) { return counter(r, "looped") == 1; }, 1));
  EXPECT_EQ(counter(both.route(1), "bridged"), 0u);
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
}

TEST_F(BridgeBroker, NothingIsLostWhenEitherBridgeIsKilledFiftyTimes) {
  auto tx = make_out();
  auto rx = make_in();
  ASSERT_NO_FATAL_FAILURE(start_pair());
  BridgeProcess& in = *in_;
  BridgeProcess& out = *out_;

  constexpr uint64_t kCount = 20000;
  std::atomic<bool> failed{false};
  std::thread producer([&] {
    for (uint64_t i = 0; i < kCount && !failed.load(); ++i) {
      std::error_code ec;
      // peer_gone: the ring was full and its consumer, the outbound
      // bridge, was just killed; its next run attaches again.
      do {
        ec = send_echo(tx, i);
      } while (ec == errc::peer_gone && !failed.load());
      if (ec) {
        ADD_FAILURE() << "send " << i << ": " << ec.message() << ": " << last_error_detail();
        failed.store(true);
      }
    }
  });
  std::atomic<uint64_t> received{0};
  std::vector<uint32_t> seen(kCount, 0);
  std::vector<uint64_t> ids(kCount, 0);
  std::thread consumer([&] {
    while (received.load() < kCount && !failed.load()) {
      auto view = rx.read(1s);
      // peer_gone: the inbound bridge (the ring's producer) was just
      // killed; its next run attaches again.
      if (!view && (view.error() == errc::timed_out || view.error() == errc::peer_gone)) continue;
      if (!view) {
        ADD_FAILURE() << "after " << received.load() << " messages: " << last_error_detail();
        failed.store(true);
        return;
      }
      if (auto seq = seq_of(*view); seq && *seq < kCount) {
        const uint64_t id = IncomingMessage::open(*view)->id();
        if (seen[*seq]++ == 0) {
          received.fetch_add(1);
          ids[*seq] = id;
        } else if (id != ids[*seq]) {
          ADD_FAILURE() << "message " << *seq << " came again with another id";
        }
      }
      rx.release();
    }
  });
  // Kill at random moments: after a random amount of progress, so every
  // kill lands mid-stream (publishing, confirming, committing, acking).
  std::mt19937 rng(std::random_device{}());
  int kills = 0;
  for (; kills < 50 && received.load() < kCount - 1000 && !failed.load(); ++kills) {
    const uint64_t at = received.load() + std::uniform_int_distribution<uint64_t>(1, 300)(rng);
    const auto stalled = std::chrono::steady_clock::now() + 120s;
    while (received.load() < at && !failed.load() && std::chrono::steady_clock::now() < stalled) {
      std::this_thread::yield();
    }
    if (failed.load()) break;
    if (received.load() < at) {
      ADD_FAILURE() << "no progress for 120 s after " << kills << " kills";
      failed.store(true);
      break;
    }
    (kills % 2 ? in : out).restart();
  }
  // The rest arrives, or nothing has for two minutes: a loss.
  for (uint64_t last = 0; !failed.load() && received.load() < kCount;) {
    const auto stalled = std::chrono::steady_clock::now() + 120s;
    while (received.load() == last && std::chrono::steady_clock::now() < stalled) std::this_thread::yield();
    if (received.load() == last) {
      ADD_FAILURE() << "stuck at " << last << " of " << kCount << " messages";
      failed.store(true);
    }
    last = received.load();
  }
  producer.join();
  consumer.join();
  EXPECT_GE(kills, 50) << "the stream ended before fifty kills";
  uint64_t duplicates = 0;
  for (uint64_t i = 0; i < kCount; ++i) {
    ASSERT_GE(seen[i], 1u) << "message " << i << " was lost";
    duplicates += seen[i] - 1;
  }
  RecordProperty("kills", kills);
  RecordProperty("duplicates", static_cast<int>(duplicates));
  std::fprintf(stderr, "%d kills, %llu messages, %llu duplicates reached the consumer\n", kills,
               static_cast<unsigned long long>(kCount), static_cast<unsigned long long>(duplicates));
  // The one window dedupe leaves is the inbound bridge killed between
  // committing a message to the ring and recording its id, and this test
  // kills right after the consumer got a message, which is that moment. The
  // record comes before the ring's wake, on pages made writable before the
  // commit, so the window holds no kernel entry, where a kill -9 lands
  // (measured: 12-16 duplicates per 25 inbound kills with the record after
  // the wake, 4-8 before it with a page fault in the way, then 0 in 400
  // alone). A timer interrupt inside those few stores, then a kill while
  // the bridge waits for the CPU, still lets one through now and then (1
  // in 25 once, in a CI run with the whole suite beside it). What holds
  // whatever the timing: at most one message per inbound kill.
  const uint64_t inbound_kills = static_cast<uint64_t>(kills / 2);
  EXPECT_LE(duplicates, inbound_kills) << "more duplicates than the kills of the inbound bridge can explain";
  EXPECT_EQ(rx.try_read().error(), errc::would_block);
}


/// Receives Echo messages 0..count-1 from `rx` (any order, duplicates
/// counted) until all came or nothing did for `quiet`.
struct Received {
  std::vector<uint32_t> seen;
  uint64_t distinct = 0;
  uint64_t duplicates = 0;
};
Received receive_all(MpmcConsumer& rx, uint64_t count, std::chrono::seconds quiet = 60s) {
  Received r;
  r.seen.assign(count, 0);
  while (r.distinct < count) {
    auto view = rx.read(quiet);
    if (!view) {
      ADD_FAILURE() << "after " << r.distinct << " of " << count << ": " << last_error_detail();
      break;
    }
    if (auto seq = seq_of(*view); seq && *seq < count) {
      (r.seen[*seq]++ == 0 ? r.distinct : r.duplicates) += 1;
    }
    rx.release();
  }
  return r;
}

TEST_F(BridgeBroker, ABrokerRestartInTheMiddleLosesNothing) {
  auto tx = make_out();
  auto rx = make_in();
  ASSERT_NO_FATAL_FAILURE(start_pair());
  BridgeProcess& in = *in_;
  BridgeProcess& out = *out_;
  constexpr uint64_t kCount = 6000;
  for (uint64_t i = 0; i < kCount / 2; ++i) ASSERT_FALSE(send_echo(tx, i));
  ASSERT_TRUE(in.wait_route([](const nlohmann::json& r) { return counter(r, "bridged") >= 1000; }));
  ASSERT_EQ(broker_.script("restart"), 0);  // every connection drops; durable queue, persistent messages
  for (uint64_t i = kCount / 2; i < kCount; ++i) ASSERT_FALSE(send_echo(tx, i));
  Received r = receive_all(rx, kCount);
  EXPECT_EQ(r.distinct, kCount) << "lost across the restart";
  EXPECT_EQ(r.duplicates, 0u);
  // The status file lags by up to half a second.
  EXPECT_TRUE(out.wait_route([](const nlohmann::json& route) { return counter(route, "reconnects") >= 1; }));
  EXPECT_TRUE(in.wait_route([](const nlohmann::json& route) { return counter(route, "reconnects") >= 1; }));
}

TEST_F(BridgeBroker, AMemoryAlarmPausesPublishingAndLosesNothing) {
  auto tx = make_out();
  auto rx = make_in();
  ASSERT_NO_FATAL_FAILURE(start_pair());
  BridgeProcess& out = *out_;
  ASSERT_TRUE(out.wait_route(running));
  ASSERT_EQ(broker_.script("ctl", "set_vm_memory_high_watermark 0"), 0);
  struct Lift {  // whatever happens, the broker is not left in alarm for the next test
    const Broker& b;
    ~Lift() { b.script("ctl", "set_vm_memory_high_watermark 0.4"); }
  } lift{broker_};
  ASSERT_FALSE(send_echo(tx, 0));  // the first publish meets the alarm
  ASSERT_TRUE(out.wait_route([](const nlohmann::json& r) { return r.value("state", "") == "blocked"; }));
  EXPECT_NE(out.route().value("last_error", "").find("connection.blocked"), std::string::npos);
  EXPECT_EQ(out.status().value("verdict", ""), "running") << "blocked is a state of a live bridge";
  for (uint64_t i = 1; i < 100; ++i) ASSERT_FALSE(send_echo(tx, i));
  EXPECT_EQ(rx.try_read().error(), errc::would_block) << "published through an alarm";
  ASSERT_EQ(broker_.script("ctl", "set_vm_memory_high_watermark 0.4"), 0);
  Received r = receive_all(rx, 100);
  EXPECT_EQ(r.distinct, 100u);
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_TRUE(out.wait_route(running));
}

TEST_F(BridgeBroker, AQueueDeletedUnderTheBridgeIsDeclaredAgain) {
  auto tx = make_out();
  auto rx = make_in();
  ASSERT_NO_FATAL_FAILURE(start_pair());
  BridgeProcess& in = *in_;
  BridgeProcess& out = *out_;
  ASSERT_EQ(broker_.script("ctl", "delete_queue " + queue_), 0);
  ASSERT_TRUE(in.wait_route([](const nlohmann::json& r) {
    return r.value("last_error", "").find("cancelled") != std::string::npos;
  }));
  // Declared and bound again: what is published now arrives.
  for (uint64_t i = 0; i < 100; ++i) ASSERT_FALSE(send_echo(tx, i));
  Received r = receive_all(rx, 100);
  EXPECT_EQ(r.distinct, 100u);
  EXPECT_EQ(counter(out.route(), "dead_lettered"), 0u);
}

TEST_F(BridgeBroker, ABrokerThatCannotBeReachedIsRetriedAndSaidSo) {
  auto tx = make_out();
  // A port nobody listens on: the broker's own, while it is down.
  ASSERT_EQ(broker_.script("down"), 0);
  struct Up {
    const Broker& b;
    ~Up() { b.script("up"); }
  } up{broker_};
  BridgeProcess out(dir_ / "out", out_args("host-a"));
  ASSERT_TRUE(out.wait_route([](const nlohmann::json& r) {
    return r.value("state", "") == "connecting" && r.value("last_error", "").find("connecting to") != std::string::npos;
  }));
  EXPECT_EQ(out.status().value("verdict", ""), "running");
  ASSERT_FALSE(send_echo(tx, 1));  // waits in the ring
  ASSERT_EQ(broker_.script("up"), 0);
  ASSERT_TRUE(out.wait_route([](const nlohmann::json& r) { return counter(r, "dead_lettered") == 1; }))
      << "connected (no queue is bound, so the message comes back unroutable)";
  EXPECT_EQ(out.stop(), 0);
}

TEST_F(BridgeBroker, AStoppedOrDeadBridgeIsNeverShownRunning) {
  auto tx = make_out();
  BridgeProcess out(dir_ / "out", out_args("host-a"));
  ASSERT_TRUE(out.wait_route(running));
  ::kill(out.pid(), SIGSTOP);  // alive, and not moving
  const auto end = std::chrono::steady_clock::now() + 30s;
  std::string verdict;
  while (std::chrono::steady_clock::now() < end && verdict != "stuck") {
    auto s = bridge::read_status(out.state_dir(), 1000ms);
    verdict = s ? s->value("verdict", "") : "";
    std::this_thread::sleep_for(20ms);  // polling a file rewritten every 500 ms
  }
  EXPECT_EQ(verdict, "stuck");
  ::kill(out.pid(), SIGCONT);
  out.kill9();
  EXPECT_EQ(out.status().value("verdict", ""), "dead");
}

// Two hosts on one machine: each a mount namespace with a private /dev/shm
// (ringdrop-bridge-host-peer), so the rings of one are invisible to the
// other and messages can only pass through the broker.
// Request/response across the hosts: a client on host A calls a server on
// host B, the request out through A's bridge (its reply-to: A's reply
// queue), in through B's (its reply-to: B's reply ring), the reply back the
// same way; the distinct endings of a call on one host arrive as they are.
TEST_F(BridgeBroker, CallsBetweenTwoHostsEndAsOnOneHost) {
  const std::string ring = unique_name("svc");
  const std::string reply_queue = unique_name("replies");
  ExecPeer b(RINGDROP_BRIDGE_HOST_PEER,
             {"serve", ring, "255", "typed", RINGDROP_BRIDGE, "--state-dir", dir_ / "b", "--broker", broker_.url(),
              "--name", "host-b", "--route",
              "name=serve,queue=" + queue_ + ",bind_exchange=" + exchange_ + ",binding_key=k,to=shm:" + ring +
                  ",replies=true"});
  auto ready = b.read_line(90s);
  if (ready && ready->find("fail unshare") == 0) GTEST_SKIP() << "no mount namespaces here: " << *ready;
  ASSERT_EQ(ready, "ready");
  ExecPeer a(RINGDROP_BRIDGE_HOST_PEER,
             {"call", ring, "200", "typed", RINGDROP_BRIDGE, "--state-dir", dir_ / "a", "--broker", broker_.url(),
              "--name", "host-a", "--route",
              "name=calls,from=shm:" + ring + ",exchange=" + exchange_ + ",routing_key=k,reply_queue=" + reply_queue});
  ASSERT_EQ(a.read_line(90s), "ready");
  EXPECT_EQ(a.read_line(300s), "called 252");
  // Handlers ran for 252 Echo, a Fail and a Hold; a Stranger has none (its
  // answer, unknown_type, comes from the server's library): 255 replies.
  EXPECT_EQ(b.read_line(300s), "served 254");
  EXPECT_EQ(a.wait_for(60s), 0);
  EXPECT_EQ(b.wait_for(60s), 0);
  // The Hold's reply, past its call's deadline, was dropped as late by
  // host B's reply route, as a client on one host drops it: not a dead letter.
  auto status = bridge::read_status(dir_ / "b");
  ASSERT_TRUE(status);
  nlohmann::json replies, shared;
  for (const auto& r : (*status)["routes"]) {
    if (r.value("name", "") == "serve.replies") replies = r;
    if (r.value("name", "") == "serve.shared-replies") shared = r;
  }
  EXPECT_EQ(counter(replies, "late_replies"), 1u) << status->dump(2);
  EXPECT_EQ(counter(replies, "dead_lettered"), 0u);
  EXPECT_EQ(counter(replies, "bridged"), 250u + 2);  // the Echo, Fail and Stranger replies
  EXPECT_EQ(counter(shared, "bridged"), 2u);
}

class TwoHosts : public BridgeBroker, public ::testing::WithParamInterface<const char*> {};

TEST_P(TwoHosts, EveryMessageArrivesInOrderThroughTheBrokerAlone) {
#if defined(RINGDROP_ASAN) || defined(RINGDROP_TSAN)
  const uint64_t count = 10'000;  // the same path, at sanitizer speed
#else
  const uint64_t count = 100'000;
#endif
  const std::string format = GetParam();
  const std::string ring = unique_name("ring");  // the same name on both hosts: they do not share it
  ExecPeer b(RINGDROP_BRIDGE_HOST_PEER,
             {"consume", ring, std::to_string(count), format, RINGDROP_BRIDGE, "--state-dir", dir_ / "b", "--broker",
              broker_.url(), "--name", "host-b", "--route",
              "queue=" + queue_ + ",bind_exchange=" + exchange_ + ",binding_key=k,to=shm:" + ring + ",format=" + format});
  auto ready = b.read_line(90s);
  if (ready && ready->find("fail unshare") == 0) GTEST_SKIP() << "no mount namespaces here: " << *ready;
  ASSERT_EQ(ready, "ready");
  ExecPeer a(RINGDROP_BRIDGE_HOST_PEER,
             {"produce", ring, std::to_string(count), format, RINGDROP_BRIDGE, "--state-dir", dir_ / "a", "--broker",
              broker_.url(), "--name", "host-a", "--route",
              "from=shm:" + ring + ",exchange=" + exchange_ + ",routing_key=k,format=" + format});
  ASSERT_EQ(a.read_line(90s), "ready");
  EXPECT_FALSE(std::filesystem::exists("/dev/shm/" + ring)) << "the hosts' rings leaked into this one's /dev/shm";
  EXPECT_EQ(a.read_line(600s), "sent " + std::to_string(count));
  auto done = b.read_line(600s);
  ASSERT_TRUE(done && done->starts_with("done ")) << done.value_or("(nothing)");
  EXPECT_EQ(*done, "done " + std::to_string(count) + " 0") << "(done DISTINCT DUPLICATES)";
  EXPECT_EQ(a.wait_for(60s), 0);
  EXPECT_EQ(b.wait_for(60s), 0);
}

INSTANTIATE_TEST_SUITE_P(Formats, TwoHosts, ::testing::Values("typed", "raw"));

// A broadcast ring as an outbound source: the route subscribes
// ("subscribe"), it does not compete for messages.
class BroadcastBridge : public BridgeBroker {
 protected:
  BroadcastPublisher make_publisher(SlowSubscriber policy, uint64_t cells) {
    BroadcastOptions o;
    o.cell_size = 1024;
    o.capacity = cells * o.cell_size;
    o.policy = policy;
    return BroadcastPublisher::open(Location::shm(out_ring_), OpenMode::create, o).value();
  }
  // The inbound bridge first (the queue is bound before anything is
  // published), then the outbound one, subscribed once its route runs: it
  // opens its source before it connects.
  void start_subscribed(const std::string& at) {
    in_.emplace(dir_ / "in", in_args("host-b"));
    ASSERT_TRUE(in_->wait_route(running));
    out_.emplace(dir_ / "out", out_args("host-a", ",subscribe=" + at));
    ASSERT_TRUE(out_->wait_route(running));
  }
  // The ring's subscribers, as the ring counts them.
  static std::vector<uint32_t> subscribers(const BroadcastPublisher& pub) {
    std::vector<uint32_t> pids;
    for (const PeerInfo& p : pub.stats().peers) {
      if (!p.producer) pids.push_back(p.pid);
    }
    return pids;
  }
};


TEST_F(BroadcastBridge, EveryMessageArrivesInOrderWithItsEnvelope) {
  // The block policy: once the bridge is subscribed, the publisher waits
  // for it. Before, nobody is waited for; what is retained is bridged
  // because the route joins at "oldest".
  constexpr uint64_t kCells = 1024;
  constexpr uint64_t kCount = 2000;
  constexpr uint64_t kBefore = 1000;  // published before the bridge joins: fewer than the cells, all retained
  auto pub = make_publisher(SlowSubscriber::block, kCells);
  auto rx = make_in();
  const std::pair<std::string_view, std::string_view> headers[] = {{"tenant", "acme"}};
  std::vector<uint64_t> ids;
  auto publish = [&](uint64_t from, uint64_t to) {
    for (uint64_t i = from; i < to; ++i) {
      MessageOptions o;
      o.kind = MessageKind::EVENT;
      o.message_id = next_message_id();
      o.correlation_id = i + 1;
      o.headers = headers;
      o.schema_version = 2;
      ids.push_back(o.message_id);
      ASSERT_FALSE(send_echo(pub, i, o)) << "message " << i << ": " << last_error_detail();
    }
  };
  ASSERT_NO_FATAL_FAILURE(publish(0, kBefore));
  ASSERT_NO_FATAL_FAILURE(start_subscribed("oldest"));
  EXPECT_EQ(subscribers(pub), std::vector<uint32_t>{static_cast<uint32_t>(out_->pid())});
  ASSERT_NO_FATAL_FAILURE(publish(kBefore, kCount));  // more than the cells: waits for the bridge

  ASSERT_NO_FATAL_FAILURE(expect_echoes(rx, kCount, ids, [](const IncomingMessage& msg) {
    EXPECT_EQ(msg.envelope().getKind(), MessageKind::EVENT);
    EXPECT_EQ(msg.envelope().getSchemaVersion(), 2);
    EXPECT_EQ(msg.header("tenant"), "acme");
  }));
  EXPECT_EQ(rx.try_read().error(), errc::would_block) << "more than was published";
  EXPECT_EQ(out_->stop(), 0);
  EXPECT_EQ(in_->stop(), 0);
  EXPECT_EQ(counter(out_->route(), "bridged"), kCount);
  EXPECT_EQ(counter(in_->route(), "bridged"), kCount);
  EXPECT_EQ(pub.stats().missed, 0u);
}

TEST_F(BroadcastBridge, ALappedSubscriberSaysWhatItMissedAndGoesOn) {
  // The overwrite policy: the publisher never waits. The bridge is stopped
  // (SIGSTOP, and waited for) while four rings' worth is published, so it
  // is lapped for certain.
  constexpr uint64_t kCells = 256;
  constexpr uint64_t kCount = 4 * kCells;
  auto pub = make_publisher(SlowSubscriber::overwrite, kCells);
  auto rx = make_in();
  ASSERT_NO_FATAL_FAILURE(start_subscribed("newest"));
  ASSERT_EQ(::kill(out_->pid(), SIGSTOP), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(out_->pid(), &status, WUNTRACED), out_->pid());  // every thread has stopped
  ASSERT_TRUE(WIFSTOPPED(status));
  for (uint64_t i = 0; i < kCount; ++i) ASSERT_FALSE(send_echo(pub, i));
  ASSERT_EQ(::kill(out_->pid(), SIGCONT), 0);

  // What was not overwritten arrives, in order, up to the last.
  uint64_t received = 0;
  std::optional<uint64_t> last;
  while (!last || *last < kCount - 1) {
    auto view = rx.read(60s);
    ASSERT_TRUE(view) << "after " << received << " messages: " << last_error_detail();
    auto seq = seq_of(*view);
    rx.release();
    ASSERT_TRUE(seq);
    if (last) {
      ASSERT_GT(*seq, *last) << "out of order";
    }
    last = seq;
    ++received;
  }
  const uint64_t missed = pub.stats().missed;
  EXPECT_GT(missed, 0u);
  EXPECT_EQ(received + missed, kCount) << "each message arrived or is counted missed";
  ASSERT_TRUE(out_->wait_route([&](const nlohmann::json& r) { return counter(r, "bridged") == received; }));
  const std::string error = out_->route().value("last_error", "");
  EXPECT_NE(error.find("lapped"), std::string::npos) << error;
  EXPECT_NE(error.find(std::to_string(missed) + " lost since it subscribed"), std::string::npos) << error;

  // It goes on: the loss was its last word (the source did not fail, or
  // "taking from" would follow), it is still subscribed, and what comes
  // next is carried.
  EXPECT_EQ(subscribers(pub), std::vector<uint32_t>{static_cast<uint32_t>(out_->pid())});
  ASSERT_FALSE(send_echo(pub, kCount));
  auto view = rx.read(60s);
  ASSERT_TRUE(view) << last_error_detail();
  EXPECT_EQ(seq_of(*view), kCount);
  rx.release();
  EXPECT_EQ(out_->stop(), 0);
}

TEST_F(BroadcastBridge, AnUnroutableMessageBecomesADeadLetterOfTheBroadcastRing) {
  // A broadcast ring keeps no dead letters of its own: the bridge stores
  // them in the ring's default place, as for an MPMC ring.
  auto pub = make_publisher(SlowSubscriber::block, 256);
  // No queue is bound to the exchange: the broker returns the message.
  BridgeProcess out(dir_ / "out", out_args("host-a", ",subscribe=newest"));
  ASSERT_TRUE(out.wait_route(running));  // subscribed: the route opens its source before it connects
  ASSERT_FALSE(send_echo(pub, 7));
  ASSERT_TRUE(out.wait_route([](const nlohmann::json& r) { return counter(r, "dead_lettered") == 1; }));
  EXPECT_EQ(counter(out.route(), "returned"), 1u);
  auto dl = RingDeadLetters::open(Location::shm(out_ring_)).value();
  auto list = dl.list().value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_NE(list[0].reason.find("unroutable"), std::string::npos) << list[0].reason;
  EXPECT_EQ(list[0].headers[std::string(drop_header::source_kind)], "broadcast");
  EXPECT_EQ(list[0].headers[std::string(drop_header::source)], "shm:" + out_ring_);
  EXPECT_EQ(seq_of(dl.payload(list[0].id).value()), 7u) << "the dead letter is the message, unchanged";
  EXPECT_EQ(out.stop(), 0);
}
}  // namespace
}  // namespace ringdrop::test
