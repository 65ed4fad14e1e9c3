// Replies that outlive their caller: a shared reply queue that any instance
// of the calling service takes from, across real processes (the server and
// the first instance are ringdrop-rpc-peer; the test is the second
// instance), and the sweeping of private reply rings left by killed clients.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "drop_support.hpp"
#include "ringdrop/reply_queue.hpp"
#include "ringdrop/ring_dead_letters.hpp"
#include "ringdrop/rpc_client.hpp"
#include "rpc_support.hpp"
#include "rpc_test.capnp.h"
#include "test_support.hpp"

using namespace ringdrop;
using namespace ringdrop::test;
using namespace std::chrono_literals;

namespace {

// A reply queue named after the test, removed (ring and dead letters) at the end.
struct ScopedQueue {
  ScopedName name;
  ScopedDir dead_letters;
  ~ScopedQueue() { (void)Segment::remove(location()); }
  std::string queue() const { return name.name(); }
  Location location() const { return reply_queue_location(queue()); }
  ReplyQueueOptions options() const {
    ReplyQueueOptions o;
    o.dead_letters = dead_letters.path();
    return o;
  }
  ClientOptions client() const {
    ClientOptions o;
    o.reply_queue = queue();
    o.reply_queue_options = options();
    o.wait.liveness_interval = 10ms;
    return o;
  }
};

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

Result<uint64_t> send_echo(Client& c, uint64_t seq, RequestOptions o = {}, Deadline deadline = deadline_after(30s)) {
  return c.send_request<rdtest::Echo>(
      [&](rdtest::Echo::Builder e) {
        e.setSeq(seq);
        e.setText("order " + std::to_string(seq));
      },
      deadline, o);
}

}  // namespace

TEST(ReplyQueue, AnyInstanceTakesTheRepliesAndAKilledInstancesHeldReplyGoesToAnother) {
  ScopedName server_ring;
  ScopedQueue q;
  ServerPeer server(server_ring);
  // The test is instance B; it opens the queue first (so its options hold).
  auto b = ReplyQueue::open(q.queue(), q.options()).value();
  constexpr uint64_t kRequests = 1000, kHandledByA = 500;
  ExecPeer a(RINGDROP_RPC_PEER, {"reply-instance", server_ring.name(), q.queue(), std::to_string(kRequests),
                                 std::to_string(kHandledByA)});
  ASSERT_EQ(a.read_line(), "sent 1000");
  std::set<uint64_t> handled_by_a;
  for (uint64_t i = 0; i < kHandledByA; ++i) {
    auto w = words(a.read_line().value_or("eof"));
    ASSERT_EQ(w.size(), 3u) << "instance A: " << (w.empty() ? "" : w[0]);
    ASSERT_EQ(w[0], "handled");
    EXPECT_EQ(w[2], "1") << "a first delivery";
    EXPECT_TRUE(handled_by_a.insert(std::stoull(w[1])).second);
  }
  auto held = words(a.read_line().value_or("eof"));
  ASSERT_EQ(held.size(), 2u);
  ASSERT_EQ(held[0], "holding");
  const uint64_t held_corr = std::stoull(held[1]);
  a.kill9();  // while it holds a reply it has not acked

  std::map<uint64_t, uint32_t> taken_by_b;  // correlation id -> deliveries
  std::set<uint64_t> request_ids;
  while (handled_by_a.size() + taken_by_b.size() < kRequests) {
    auto r = b.take(deadline_after(30s));
    ASSERT_TRUE(r) << r.error().message() << " after " << taken_by_b.size() << " (" << last_error_detail() << ")";
    ASSERT_TRUE(r->ok()) << r->status().message;
    ASSERT_EQ(r->type_id(), capnp::typeId<rdtest::EchoReply>());
    const uint64_t corr = r->correlation_id();
    EXPECT_EQ(r->get<rdtest::EchoReply>().getSeq() + 1000000, corr) << "the caller's correlation id came back";
    EXPECT_NE(r->request_id(), corr) << "the request's own id travels beside it";
    EXPECT_TRUE(request_ids.insert(r->request_id()).second);
    EXPECT_FALSE(handled_by_a.count(corr)) << corr << " was handled twice";
    EXPECT_TRUE(taken_by_b.emplace(corr, r->delivery_count()).second) << corr << " taken twice";
    ASSERT_FALSE(b.ack());
  }
  for (uint64_t i = 1; i <= kRequests; ++i) {
    EXPECT_TRUE(handled_by_a.count(1000000 + i) || taken_by_b.count(1000000 + i)) << "reply " << i << " lost";
  }
  ASSERT_TRUE(taken_by_b.count(held_corr)) << "the reply A held went to B";
  EXPECT_EQ(taken_by_b[held_corr], 2u) << "and says it was delivered before";
  for (const auto& [corr, deliveries] : taken_by_b) {
    if (corr != held_corr) {
      EXPECT_EQ(deliveries, 1u) << corr;
    }
  }
  EXPECT_EQ(b.stats().redelivered, 1u);
  EXPECT_EQ(b.stats().acked, kRequests - kHandledByA);
  auto none = b.take(deadline_after(50ms));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), errc::timed_out) << "nothing more: no reply was duplicated";
}

TEST(ReplyQueue, AReplyAfterTheCallersDeadlineIsStillDelivered) {
  ScopedName server_ring;
  ScopedQueue q;
  ServerPeer server(server_ring);
  auto replies = ReplyQueue::open(q.queue(), q.options()).value();
  auto client = Client::connect(server_ring.location(), q.client()).value();
  const Deadline deadline = deadline_after(5s);  // ample for the idle server to start it, even on a loaded machine
  auto id = client.send_request<rdtest::Hold>([](rdtest::Hold::Builder h) { h.setSeq(7); }, deadline);
  ASSERT_TRUE(id) << id.error().message();
  ASSERT_EQ(server.read_line(), "holding 7");
  std::this_thread::sleep_until(deadline + 1ms);  // the behaviour under test: the deadline has passed
  server.send_line("go");
  auto r = replies.take(deadline_after(30s));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->request_id(), *id);
  EXPECT_EQ(r->correlation_id(), *id) << "no correlation id of its own: the request's id";
  EXPECT_EQ(r->message().header(rpc_header::request_id), std::to_string(*id));
  EXPECT_EQ(r->get<rdtest::EchoReply>().getSeq(), 7u);
  EXPECT_EQ(r->message().deadline(), Deadline::max()) << "no reply_ttl: it never expires";
  EXPECT_FALSE(replies.ack());
  EXPECT_EQ(client.stats().requests_sent, 1u);
}

TEST(ReplyQueue, ARequestPastItsDeadlineIsNotRunAndItsReplySaysSo) {
  ScopedName server_ring;
  ScopedQueue q;
  ServerPeer server(server_ring);
  auto replies = ReplyQueue::open(q.queue(), q.options()).value();
  auto client = Client::connect(server_ring.location(), q.client()).value();
  ASSERT_TRUE(client.send_request<rdtest::Hold>([](rdtest::Hold::Builder h) { h.setSeq(1); }, deadline_after(30s)));
  EXPECT_EQ(server.read_line(), "holding 1");  // the server is busy: the next request waits in the ring
  const Deadline soon = deadline_after(1ms);
  RequestOptions ro;
  ro.correlation_id = 77;
  auto late = send_echo(client, 2, ro, soon);
  ASSERT_TRUE(late) << late.error().message();
  std::this_thread::sleep_until(soon);  // the behaviour under test: its deadline passes while it waits
  server.send_line("go");
  auto first = replies.take(deadline_after(30s));
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(first->ok()) << "the held request ran";
  ASSERT_FALSE(replies.ack());
  auto second = replies.take(deadline_after(30s));
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->correlation_id(), 77u);
  EXPECT_EQ(second->request_id(), *late);
  EXPECT_FALSE(second->ok());
  EXPECT_EQ(second->status().code, -static_cast<int32_t>(errc::deadline_exceeded)) << second->status().message;
  ASSERT_FALSE(replies.ack());
}

TEST(ReplyQueue, AnExpiredReplyIsDeadLetteredNotTaken) {
  ScopedName server_ring;
  ScopedQueue q;
  ServerPeer server(server_ring);
  auto replies = ReplyQueue::open(q.queue(), q.options()).value();
  auto o = q.client();
  o.reply_ttl = 1ms;
  auto client = Client::connect(server_ring.location(), o).value();
  ASSERT_TRUE(send_echo(client, 1));
  // The server answers in order: once this blocking call (its private ring)
  // has its reply, the shared reply was sent before it.
  auto sync = client.call<rdtest::Echo, rdtest::EchoReply>([](rdtest::Echo::Builder e) { e.setSeq(2); },
                                                           deadline_after(30s));
  ASSERT_TRUE(sync) << sync.error().message();
  std::this_thread::sleep_for(2ms);  // the behaviour under test: the reply's 1 ms pass
  auto r = replies.take(deadline_after(50ms));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timed_out);
  EXPECT_EQ(replies.stats().expired, 1u);
  EXPECT_EQ(replies.stats().taken, 0u);
  auto store = RingDeadLetters::open(q.location(), q.options().dead_letters).value();
  auto dead = store.list().value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(dead[0].reason.find("expired"), std::string::npos) << dead[0].reason;
}

TEST(ReplyQueue, AnExpiredReplyWhoseStoreFailsStaysHeldAndIsSetAsideOnceItWorks) {
  ScopedName server_ring;
  ScopedQueue q;
  ServerPeer server(server_ring);
  auto o = q.options();
  o.dead_letters = q.dead_letters / "not-yet";  // missing until the test makes it
  auto replies = ReplyQueue::open(q.queue(), o).value();
  auto co = q.client();
  co.reply_ttl = 1ms;
  auto client = Client::connect(server_ring.location(), co).value();
  ASSERT_TRUE(send_echo(client, 1));
  auto sync = client.call<rdtest::Echo, rdtest::EchoReply>([](rdtest::Echo::Builder e) { e.setSeq(2); },
                                                           deadline_after(30s));
  ASSERT_TRUE(sync) << sync.error().message();
  std::this_thread::sleep_for(2ms);  // the behaviour under test: the reply's 1 ms pass
  for (int i = 0; i < 2; ++i) {
    auto r = replies.take(deadline_after(50ms));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::not_found) << "the store's error, each time: " << r.error().message();
  }
  EXPECT_EQ(replies.ack(), errc::invalid_argument) << "the expired reply is not the caller's to ack";
  std::filesystem::create_directory(q.dead_letters / "not-yet");
  auto r = replies.take(deadline_after(50ms));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timed_out) << "set aside at last, nothing else waits";
  EXPECT_EQ(replies.stats().expired, 1u);
  EXPECT_EQ(RingDeadLetters::open(q.location(), o.dead_letters).value().list().value().size(), 1u);
}

TEST(ReplyQueue, RepliesAreTakenOneAtATimeAndCallerMistakesAreRefused) {
  ScopedName server_ring;
  ScopedQueue q;
  ServerPeer server(server_ring);
  auto replies = ReplyQueue::open(q.queue(), q.options()).value();
  auto client = Client::connect(server_ring.location(), q.client()).value();
  EXPECT_EQ(replies.ack(), errc::invalid_argument) << "nothing held";
  EXPECT_EQ(replies.reject("x"), errc::invalid_argument);
  RequestOptions ro;
  ro.correlation_id = 42;
  ASSERT_TRUE(send_echo(client, 1, ro));
  ASSERT_TRUE(send_echo(client, 2));
  auto first = replies.take(deadline_after(30s));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->correlation_id(), 42u);
  auto second = replies.take(deadline_after(30s));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), errc::invalid_argument) << "the first is still held";
  ASSERT_FALSE(replies.reject("the order was cancelled"));
  auto third = replies.take(deadline_after(30s));
  ASSERT_TRUE(third) << third.error().message();
  EXPECT_EQ(third->get<rdtest::EchoReply>().getSeq(), 2u);
  ASSERT_FALSE(replies.ack());
  auto store = RingDeadLetters::open(q.location(), q.options().dead_letters).value();
  ASSERT_EQ(store.list().value().size(), 1u) << "the rejected reply is a dead letter";

  EXPECT_EQ(ReplyQueue::open("no/slashes").error(), errc::invalid_argument);
  auto no_queue = Client::connect(server_ring.location()).value();
  auto refused = send_echo(no_queue, 3);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::invalid_argument) << "send_request needs a reply queue";
  ClientOptions bad;
  bad.reply_queue = "../x";
  EXPECT_EQ(Client::connect(server_ring.location(), bad).error(), errc::invalid_argument);
}

TEST(ReplyQueue, AReplyWhoseTakersKeepDyingBecomesADeadLetter) {
  ScopedName server_ring;
  ScopedQueue q;
  ServerPeer server(server_ring);
  auto o = q.options();
  o.max_deliveries = 2;
  auto replies = ReplyQueue::open(q.queue(), o).value();  // made with the limit: the takers open it as it is
  auto client = Client::connect(server_ring.location(), q.client()).value();
  RequestOptions ro;
  ro.correlation_id = 5;
  ASSERT_TRUE(send_echo(client, 1, ro));
  for (int taker = 1; taker <= 2; ++taker) {
    ExecPeer p(RINGDROP_RPC_PEER, {"reply-hold", q.queue()});
    EXPECT_EQ(p.read_line(), "holding 5 " + std::to_string(taker));
    p.kill9();  // as a reply that crashes its handler would
  }
  auto r = replies.take(deadline_after(200ms));
  ASSERT_FALSE(r) << "delivered a third time, to " << r->correlation_id();
  EXPECT_EQ(r.error(), errc::timed_out);
  auto dead = RingDeadLetters::open(q.location(), o.dead_letters).value().list().value();
  ASSERT_EQ(dead.size(), 1u) << "set aside after 2 deliveries";
  EXPECT_EQ(dead[0].attempts, 2u) << dead[0].reason;
}

TEST(ReplyQueue, AReplyTheQueueCannotTakeKeepsItsRequestAsADeadLetter) {
  ScopedName server_ring;
  ScopedQueue q;
  ScopedDir request_dead_letters;
  ServerPeer server(server_ring, {"--dead-letters", request_dead_letters.path()});
  auto o = q.options();
  o.cells = 2;
  auto replies = ReplyQueue::open(q.queue(), o).value();
  auto client = Client::connect(server_ring.location(), q.client()).value();
  for (uint64_t i = 1; i <= 3; ++i) {
    RequestOptions ro;
    ro.correlation_id = i;
    ASSERT_TRUE(send_echo(client, i, ro));
  }
  // The server answers in order: once this call (its private ring) has its
  // reply, the third shared reply has found the queue full for the server's
  // reply_queue_timeout.
  auto sync = client.call<rdtest::Echo, rdtest::EchoReply>([](rdtest::Echo::Builder e) { e.setSeq(9); },
                                                           deadline_after(30s));
  ASSERT_TRUE(sync) << sync.error().message();
  auto kept = RingDeadLetters::open(server_ring.location(), request_dead_letters.path()).value();
  auto dead = kept.list().value();
  ASSERT_EQ(dead.size(), 1u) << "the request whose reply found no room";
  EXPECT_NE(dead[0].reason.find("reply queue"), std::string::npos) << dead[0].reason;
  for (uint64_t i = 1; i <= 2; ++i) {
    auto r = replies.take(deadline_after(30s));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->correlation_id(), i);
    ASSERT_FALSE(replies.ack());
  }
  // Room again: requeued, the request runs again and its reply comes.
  ASSERT_FALSE(kept.requeue(dead[0].id, 10s));
  auto third = replies.take(deadline_after(30s));
  ASSERT_TRUE(third) << third.error().message();
  EXPECT_EQ(third->correlation_id(), 3u);
  ASSERT_FALSE(replies.ack());
}

TEST(ReplyQueue, PrivateReplyRingsOfKilledClientsAreRemovedAndLiveOnesKept) {
  ScopedName server_ring;
  ServerPeer server(server_ring);
  ExecPeer killed(RINGDROP_RPC_PEER, {"private-client", server_ring.name()});
  ExecPeer live(RINGDROP_RPC_PEER, {"private-client", server_ring.name()});
  auto ring_of = [](ExecPeer& p) {
    auto w = words(p.read_line().value_or("eof"));
    EXPECT_EQ(w.size(), 2u);
    EXPECT_EQ(w.empty() ? "" : w[0], "reply-ring");
    return *Location::parse(w.size() == 2 ? w[1] : "shm:none");
  };
  const Location dead_ring = ring_of(killed), live_ring = ring_of(live);
  killed.kill9();  // its ring stays (until a client starts: any on this host), the server attached as a producer

  auto client = Client::connect(server_ring.location()).value();  // a client that starts sweeps
  EXPECT_EQ(Segment::inspect(dead_ring).error(), errc::not_found) << "the killed client's ring is removed";
  EXPECT_TRUE(Segment::inspect(live_ring)) << "a live client's ring is kept";
  auto r = client.call<rdtest::Echo, rdtest::EchoReply>([](rdtest::Echo::Builder e) { e.setSeq(9); },
                                                        deadline_after(30s));
  ASSERT_TRUE(r) << r.error().message();
  live.send_line("bye");
  EXPECT_EQ(live.wait_for(), 0);
  EXPECT_EQ(Segment::inspect(live_ring).error(), errc::not_found) << "a client removes its own ring";
}
