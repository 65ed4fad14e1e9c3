// Request/response through the broker, without one: the reply book that
// remembers where each request's reply goes, the reply routes a
// configuration grows (with_reply_routes), and the dedupe id of a retry.
// The calls themselves cross two hosts in bridge_broker_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "bridge_config.hpp"
#include "envelope_mapping.hpp"
#include "reply_book.hpp"
#include "ringdrop/error.hpp"
#include "wire_message.hpp"

namespace ringdrop::bridge {
namespace {

TEST(ReplyBook, TakeGivesTheAddressOnceAndForgetsIt) {
  ReplyBook book;
  book.put(7, {"replies.a", "shm:ringdrop.reply.12.ab"});
  auto to = book.take(7);
  ASSERT_TRUE(to);
  EXPECT_EQ(to->queue, "replies.a");
  EXPECT_EQ(to->ringdrop, "shm:ringdrop.reply.12.ab");
  EXPECT_FALSE(book.take(7));
  EXPECT_FALSE(book.take(8));
}

TEST(ReplyBook, PutAgainReplacesAndForgetRemoves) {
  ReplyBook book;
  book.put(1, {"q1", ""});
  book.put(1, {"q2", ""});
  EXPECT_EQ(book.size(), 1u);
  EXPECT_EQ(book.take(1)->queue, "q2");
  book.put(2, {"q", ""});
  book.forget(2);
  EXPECT_FALSE(book.take(2));
}

TEST(ReplyBook, IsBoundedTheOldestGoFirst) {
  ReplyBook book(3);
  for (uint64_t i = 1; i <= 5; ++i) book.put(i, {"q" + std::to_string(i), ""});
  EXPECT_EQ(book.size(), 3u);
  EXPECT_EQ(book.evicted(), 2u);
  EXPECT_FALSE(book.take(1));
  EXPECT_FALSE(book.take(2));
  EXPECT_EQ(book.take(3)->queue, "q3");
}

TEST(ReplyBook, ManyTakenRequestsDoNotEvictALivingOne) {
  ReplyBook book(4);
  book.put(1, {"waits", ""});  // a slow call, still at its server
  for (uint64_t i = 2; i < 100'000; ++i) {
    book.put(i, {"q", ""});
    ASSERT_TRUE(book.take(i));
  }
  EXPECT_EQ(book.evicted(), 0u);
  EXPECT_EQ(book.take(1)->queue, "waits");
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
  ASSERT_EQ(c.out.size(), 2u);
  ASSERT_EQ(c.in.size(), 2u);
  // The caller's side: its reply queue into the callers' reply rings.
  const InRoute& back = c.in[1];
  EXPECT_EQ(back.name, "calls.replies");
  EXPECT_EQ(back.queue, "replies.host-a");
  EXPECT_EQ(back.to.kind, Endpoint::Kind::reply_to);
  EXPECT_EQ(back.to.dir, "/var/lib/ringdrop-bridge/calls.replies.undelivered");
  EXPECT_TRUE(back.bind_exchange.empty());  // the default exchange routes to it by name
  // The server's side: its reply ring to each requester's queue.
  EXPECT_EQ(c.in[0].reply_ring.describe(), "shm:ringdrop.bridge.host-a.serve");
  const OutRoute& answers = c.out[1];
  EXPECT_EQ(answers.name, "serve.replies");
  EXPECT_EQ(answers.from.ring.describe(), "shm:ringdrop.bridge.host-a.serve");
  EXPECT_TRUE(answers.answers);
  EXPECT_TRUE(answers.exchange.empty());
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

  BridgeConfig slash = two_way();
  slash.name = "a/b";
  EXPECT_EQ(slash.check(), errc::invalid_argument);  // it names rings
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
