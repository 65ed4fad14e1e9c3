// Request/response through the broker, without one: the reply book that
// remembers where each request's reply goes, the reply routes a
// configuration grows (with_reply_routes), and the dedupe id of a retry.
// The calls themselves cross two hosts in bridge_broker_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "bridge_config.hpp"
#include "envelope_mapping.hpp"
#include "reply_book.hpp"
#include "ringdrop/reply_queue.hpp"
#include "ringdrop/error.hpp"
#include "wire_message.hpp"

namespace ringdrop::bridge {
namespace {

TEST(ReplyBook, TakeGivesTheAddressOnceAndForgetsIt) {
  ReplyBook book;
  book.put(7, {"replies.a", "shm:ringdrop.reply.12.ab", "99"});
  auto to = book.take(7);
  ASSERT_TRUE(to);
  EXPECT_EQ(to->queue, "replies.a");
  EXPECT_EQ(to->ringdrop, "shm:ringdrop.reply.12.ab");
  EXPECT_EQ(to->request_id, "99");
  EXPECT_FALSE(book.take(7));
  EXPECT_FALSE(book.take(8));
}

// A retried request (the same local id) is put twice: both replies go
// back (the caller takes one, and drops the other as late), and a retry
// that was not delivered takes away only its own put.
TEST(ReplyBook, EachPutIsOneReplyToCarry) {
  ReplyBook book;
  book.put(1, {"q", "", "5"});
  book.put(1, {"q", "", "5"});
  book.put(1, {"q", "", "5"});
  book.forget(1);
  EXPECT_EQ(book.size(), 1u);
  EXPECT_TRUE(book.take(1));
  EXPECT_TRUE(book.take(1));
  EXPECT_FALSE(book.take(1));
  EXPECT_EQ(book.size(), 0u);
}

TEST(ReplyBook, IsBoundedTheOldestGoFirst) {
  ReplyBook book(3);
  for (uint64_t i = 1; i <= 5; ++i) book.put(i, {"q" + std::to_string(i), "", std::to_string(i)});
  EXPECT_EQ(book.size(), 3u);
  EXPECT_EQ(book.evicted(), 2u);
  EXPECT_FALSE(book.take(1));
  EXPECT_FALSE(book.take(2));
  EXPECT_EQ(book.take(3)->queue, "q3");
}

TEST(ReplyBook, ManyTakenRequestsDoNotEvictALivingOne) {
  ReplyBook book(4);
  book.put(1, {"waits", "", "1"});  // a slow call, still at its server
  for (uint64_t i = 2; i < 100'000; ++i) {
    book.put(i, {"q", "", "x"});
    ASSERT_TRUE(book.take(i));
  }
  EXPECT_EQ(book.evicted(), 0u);
  EXPECT_EQ(book.take(1)->queue, "waits");
}

// Two callers that chose the same message id get two local ids; one
// caller's retry gets its first try's.
TEST(ReplyBook, LocalIdsKeepCallersApartAndRetriesTogether) {
  const uint64_t a = ReplyBook::local_id("replies.a", "shm:ringdrop.reply.1.x", "1");
  EXPECT_EQ(a, ReplyBook::local_id("replies.a", "shm:ringdrop.reply.1.x", "1"));
  EXPECT_NE(a, ReplyBook::local_id("replies.b", "shm:ringdrop.reply.1.x", "1"));
  EXPECT_NE(a, ReplyBook::local_id("replies.a", "shm:ringdrop.reply.2.x", "1"));
  EXPECT_NE(a, ReplyBook::local_id("replies.a", "shm:ringdrop.reply.1.x", "2"));
  EXPECT_NE(ReplyBook::local_id("ab", "c", "1"), ReplyBook::local_id("a", "bc", "1"));
  EXPECT_NE(ReplyBook::local_id("", "", ""), 0u);
}

BridgeConfig two_way() {
  BridgeConfig c;
  c.name = "host-a";
  c.state_dir = "/var/lib/ringdrop-bridge";
  EXPECT_FALSE(add_route(c, "name=calls,from=shm:pricing,exchange=svc,routing_key=pricing,reply_queue=replies.host-a"));
  EXPECT_FALSE(add_route(c, "name=serve,queue=pricing,to=shm:pricing,replies=true"));
  return c;
}

TEST(ReplyRoutes, EachSideGetsTheRouteThatCarriesRepliesBack) {
  const BridgeConfig given = two_way();
  ASSERT_FALSE(given.check()) << last_error_detail();
  const BridgeConfig c = with_reply_routes(given);
  ASSERT_EQ(c.in.size(), 2u);
  // The caller's side: its reply queue into the callers' reply rings.
  const InRoute& back = c.in[1];
  EXPECT_EQ(back.name, "calls.replies");
  EXPECT_EQ(back.queue, "replies.host-a");
  EXPECT_EQ(back.to.kind, Endpoint::Kind::reply_to);
  EXPECT_EQ(back.to.dir, "/var/lib/ringdrop-bridge/calls.replies.undelivered");
  // The server's side: its reply rings (private callers', shared queues')
  // to each requester's queue, through the default exchange.
  EXPECT_EQ(c.in[0].reply_ring.describe(), "shm:ringdrop.bridge.host-a.serve");
  EXPECT_EQ(c.in[0].shared_reply_ring.describe(), "shm:ringdrop.replies.bridge.host-a.serve");
  EXPECT_TRUE(is_reply_queue(c.in[0].shared_reply_ring.describe()));  // so the server answers as to a shared queue
  ASSERT_EQ(c.out.size(), 3u);
  EXPECT_EQ(c.out[1].name, "serve.replies");
  EXPECT_EQ(c.out[1].from.ring.describe(), "shm:ringdrop.bridge.host-a.serve");
  EXPECT_EQ(c.out[2].name, "serve.shared-replies");
  EXPECT_EQ(c.out[2].from.ring.describe(), "shm:ringdrop.replies.bridge.host-a.serve");
  for (const OutRoute* answers : {&c.out[1], &c.out[2]}) {
    EXPECT_EQ(answers->answers, "serve");  // the book of route "serve"
    EXPECT_TRUE(answers->exchange.empty());
  }
  EXPECT_TRUE(c.out[0].answers.empty());
}

TEST(ReplyRoutes, AConfigWithoutRepliesIsUnchanged) {
  BridgeConfig c;
  c.name = "b";
  c.state_dir = "/tmp/x";
  ASSERT_FALSE(add_route(c, "from=shm:o,exchange=x"));
  const BridgeConfig same = with_reply_routes(c);
  EXPECT_EQ(same.out.size(), 1u);
  EXPECT_TRUE(same.in.empty());
}

TEST(ReplyRoutes, WrongUsesAreRefusedWithTheReason) {
  BridgeConfig c = two_way();
  EXPECT_EQ(add_route(c, "name=calls.replies,queue=q,to=shm:r"), std::error_code{});
  EXPECT_EQ(c.check(), errc::invalid_argument);  // that name is the replies route's
  EXPECT_NE(last_error_detail().find("calls.replies"), std::string::npos) << last_error_detail();

  BridgeConfig raw;
  raw.name = "b";
  raw.state_dir = "/tmp/x";
  EXPECT_EQ(add_route(raw, "queue=q,to=shm:r,format=raw,replies=true"), errc::invalid_argument);
  EXPECT_NE(last_error_detail().find("replies"), std::string::npos) << last_error_detail();
  EXPECT_EQ(add_route(raw, "queue=q,to=drop:/tmp/d,replies=true"), errc::invalid_argument);
  EXPECT_EQ(add_route(raw, "queue=q,to=shm:r,replies=maybe"), errc::invalid_argument);
  ASSERT_FALSE(add_route(raw, "from=shm:o,exchange=x,format=raw,reply_queue=q"));
  EXPECT_EQ(raw.check(), errc::invalid_argument);  // raw bytes carry no reply-to
  EXPECT_NE(last_error_detail().find("typed"), std::string::npos) << last_error_detail();

  BridgeConfig taken = two_way();
  ASSERT_FALSE(add_route(taken, "name=serve.shared-replies,queue=q2,to=shm:r2"));
  EXPECT_EQ(taken.check(), errc::invalid_argument);
  EXPECT_NE(last_error_detail().find("serve.shared-replies"), std::string::npos) << last_error_detail();
}

// Names that hold '.', '/' or '%' make reply rings of their own: a bridge
// "a.b" with route "c" is not bridge "a" with route "b.c", and '/' (not
// allowed in a ring's name) is escaped, not refused.
TEST(ReplyRoutes, ReplyRingNamesAreUnambiguous) {
  auto ring_of = [](const char* bridge, const char* route) {
    BridgeConfig c;
    c.name = bridge;
    c.state_dir = "/tmp/x";
    EXPECT_FALSE(add_route(c, std::string("name=") + route + ",queue=q,to=shm:r,replies=true"));
    EXPECT_FALSE(c.check()) << last_error_detail();
    return with_reply_routes(c).in[0].reply_ring.describe();
  };
  EXPECT_NE(ring_of("a.b", "c"), ring_of("a", "b.c"));
  EXPECT_EQ(ring_of("a.b", "c"), "shm:ringdrop.bridge.a%2Eb.c");
  EXPECT_EQ(ring_of("host/1", "x%"), "shm:ringdrop.bridge.host%2F1.x%25");
}

WireMessage request(std::string attempt) {
  WireMessage m;
  m.message_id = "99";
  m.headers = {{std::string(wire_header::kind), "request"}, {std::string(wire_header::attempt), std::move(attempt)}};
  return m;
}

TEST(ReplyRoutes, ARetriedRequestIsNotADuplicateOfItsFirstTry) {
  EXPECT_EQ(dedupe_id(request("1")), "99");
  EXPECT_EQ(dedupe_id(request("2")), "99#2");
  EXPECT_EQ(dedupe_id(request("2")), dedupe_id(request("2")));  // the retry's redelivery still is
  WireMessage note = request("2");
  note.headers[0].second = "notification";
  EXPECT_EQ(dedupe_id(note), "99");
  WireMessage foreign;
  EXPECT_EQ(dedupe_id(foreign), "");
}

}  // namespace
}  // namespace ringdrop::bridge
