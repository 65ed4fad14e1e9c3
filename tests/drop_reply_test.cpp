// Request/response over the file-drop channel: a request names its reply
// channel in `reply-to`, the service drops its reply there (drop_reply.hpp).
#include <gtest/gtest.h>

#include "drop_support.hpp"
#include "ringdrop/drop_reply.hpp"

using namespace ringdrop;
using namespace ringdrop::test;
using namespace std::chrono_literals;

TEST(DropReply, TheReplyGoesToTheRequestsReplyChannelWithItsIds) {
  ScopedDir service_dir, reply_dir;
  auto requests = open_channel(service_dir);
  auto replies = open_channel(reply_dir);
  const std::string with_corr = publish(requests, "order 1", {{"reply-to", reply_dir.root()}, {"correlation-id", "A-1"}});
  const std::string without = publish(requests, "order 2", {{"reply-to", reply_dir.root()}});
  auto service = open_consumer(requests);
  for (int i = 0; i < 2; ++i) {
    auto c = service.claim(30s);
    ASSERT_TRUE(c) << c.error().message();
    auto id = drop_reply(*c, to_bytes("done: " + read_text(*c)), {{"status", "0"}});
    ASSERT_TRUE(id) << id.error().message() << " " << last_error_detail();
    ASSERT_FALSE(c->ack());
  }
  auto caller = open_consumer(replies);
  for (const auto& [request, corr, text] : {std::tuple{with_corr, std::string("A-1"), std::string("done: order 1")},
                                            std::tuple{without, without, std::string("done: order 2")}}) {
    auto r = caller.claim(30s);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(read_text(*r), text);
    EXPECT_EQ(header(*r, "correlation-id"), corr) << "the request's own, else its id";
    EXPECT_EQ(header(*r, "request-id"), request);
    EXPECT_EQ(header(*r, "status"), "0") << "the service's own headers travel too";
    ASSERT_FALSE(r->ack());
  }
}

TEST(DropReply, AReplySentTwiceForARedeliveredRequestIsProcessedOnce) {
  ScopedDir service_dir, reply_dir;
  auto requests = open_channel(service_dir);
  auto replies = open_channel(reply_dir);
  publish(requests, "order", {{"reply-to", reply_dir.root()}});
  auto service = open_consumer(requests);
  auto c = service.claim(30s).value();
  // The service replied, then died before its ack: the request comes back
  // and is answered again.
  ASSERT_TRUE(drop_reply(c, to_bytes("first")));
  ASSERT_TRUE(drop_reply(c, to_bytes("again")));
  ASSERT_FALSE(c.ack());
  auto caller = open_consumer(replies);
  auto r = caller.claim(30s);
  ASSERT_TRUE(r);
  EXPECT_EQ(read_text(*r), "first");
  ASSERT_FALSE(r->ack());
  ASSERT_FALSE(caller.scan());
  expect_nothing_ready(caller, "the second reply has the same idempotency key");
  EXPECT_EQ(caller.stats().duplicates_skipped, 1u);
}

TEST(DropReply, ARequestWithoutAUsableReplyToIsRefusedAndNothingIsCreated) {
  ScopedDir service_dir, elsewhere;
  auto requests = open_channel(service_dir);
  publish(requests, "none");
  publish(requests, "relative", {{"reply-to", "replies"}});
  publish(requests, "missing", {{"reply-to", elsewhere / "no-such-channel"}});
  auto service = open_consumer(requests);
  for (errc want : {errc::invalid_argument, errc::invalid_argument, errc::not_found}) {
    auto c = service.claim(30s);
    ASSERT_TRUE(c);
    auto r = drop_reply(*c, to_bytes("x"));
    ASSERT_FALSE(r) << read_text(*c);
    EXPECT_EQ(r.error(), want) << read_text(*c) << ": " << last_error_detail();
    ASSERT_FALSE(c->ack());
  }
  EXPECT_FALSE(exists(elsewhere / "no-such-channel")) << "a request never makes a directory appear";
}
