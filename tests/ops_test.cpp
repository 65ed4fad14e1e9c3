// ops_test.cpp — the model tools show (tools/ops): rings of each kind with
// their live peers, then stale; the inventory; a channel's dead letters; and
// typed messages to and from JSON with a schema read at run time. The
// `ringdrop` command over it is tested across processes by tests/cli/.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "dead_letter_store.hpp"
#include "inventory.hpp"
#include "ringdrop/ringdrop.hpp"
#include "rpc_test.capnp.h"
#include "test_support.hpp"
#include "typed_json.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
using ringdrop::test::ScopedName;
using ringdrop::test::TempDir;

namespace {

const std::string kSchema = std::string(RINGDROP_SOURCE_DIR) + "/tests/schemas/rpc_test.capnp";

const ops::RingView* find_ring(const ops::Inventory& inv, const Location& where) {
  for (const auto& r : inv.rings) {
    if (r.where.describe() == where.describe()) return &r;
  }
  return nullptr;
}

}  // namespace

TEST(Ops, ARingOfEachKindShowsItsLivePeerThenIsStale) {
  const auto pid = static_cast<uint32_t>(::getpid());
  {
    ScopedName n;
    auto p = SpscProducer::open(n.location(), OpenMode::create).value();
    auto v = ops::inspect_ring(n.location());
    ASSERT_TRUE(v) << last_error_detail();
    EXPECT_EQ(v->kind, RingKind::spsc);
    ASSERT_EQ(v->peers.size(), 1u);
    EXPECT_EQ(v->peers[0].pid, pid);
    EXPECT_EQ(v->peers[0].role, "producer");
    EXPECT_FALSE(v->stale());
    ASSERT_FALSE(p.send(bytes_of("hello"), 1s));
    p = SpscProducer::open(Location::shm(n.name() + "-other"), OpenMode::create).value();  // detaches from n
    (void)Segment::remove(Location::shm(n.name() + "-other"));
    v = ops::inspect_ring(n.location());
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->stale());
    EXPECT_EQ(v->committed, 1u);
    EXPECT_TRUE(v->holds_messages());
  }
  {
    ScopedName n;
    auto c = MpmcConsumer::open(n.location(), OpenMode::create).value();
    auto v = ops::inspect_ring(n.location());
    ASSERT_TRUE(v) << last_error_detail();
    EXPECT_EQ(v->kind, RingKind::mpmc);
    ASSERT_EQ(v->peers.size(), 1u);
    EXPECT_EQ(v->peers[0].role, "consumer");
    EXPECT_GT(v->cells, 0u);
    EXPECT_FALSE(v->holds_messages());
    // Read and held (not released): behind head, so fill is 0, but a
    // consumer's death would hand it on: it is still the ring's.
    auto p = MpmcProducer::open(n.location(), OpenMode::open).value();
    ASSERT_FALSE(p.send(bytes_of("precious"), 1s));
    ASSERT_TRUE(c.read(1s));
    v = ops::inspect_ring(n.location());
    ASSERT_TRUE(v);
    EXPECT_EQ(v->fill, 0u);
    EXPECT_TRUE(v->holds_messages());
    ASSERT_FALSE(c.release());
    EXPECT_FALSE(ops::inspect_ring(n.location())->holds_messages());
  }
  {
    ScopedName n;
    auto p = BroadcastPublisher::open(n.location(), OpenMode::create).value();
    auto v = ops::inspect_ring(n.location());
    ASSERT_TRUE(v) << last_error_detail();
    EXPECT_EQ(v->kind, RingKind::broadcast);
    ASSERT_EQ(v->peers.size(), 1u);
    EXPECT_EQ(v->peers[0].role, "publisher");
    const auto j = ops::to_json(*v);
    EXPECT_EQ(j["kind"], "broadcast");
    EXPECT_EQ(j["peers"][0]["pid"], pid);
    EXPECT_EQ(j["stale"], false);
  }
}

TEST(Ops, TheInventoryHasTheRingsTheChannelsAndWhatItCouldNotRead) {
  ScopedName ring, foreign;
  auto p = MpmcProducer::open(ring.location(), OpenMode::create).value();
  {
    std::ofstream f("/dev/shm/" + foreign.name());
    f << std::string(8192, 'x');  // no ringdrop magic
  }
  TempDir dir;
  auto ch = DropChannel::open(dir.path + "/ch").value();
  ASSERT_TRUE(ch.publish(bytes_of("x")));
  ops::InventoryOptions o;
  o.channels = {dir.path + "/ch", dir.path + "/missing"};
  o.registry = dir.path + "/no-registry";
  const ops::Inventory inv = ops::take_inventory(o);
  const ops::RingView* r = find_ring(inv, ring.location());
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->stale());
  EXPECT_EQ(find_ring(inv, foreign.location()), nullptr) << "another program's segment is not listed";
  ASSERT_EQ(inv.channels.size(), 1u);
  EXPECT_EQ(inv.channels[0].counts.ready, 1u);
  const auto missing = std::find_if(inv.unreadable.begin(), inv.unreadable.end(),
                                    [&](const ops::Unreadable& u) { return u.name == dir.path + "/missing"; });
  ASSERT_NE(missing, inv.unreadable.end()) << "the missing channel is named, with why";
  EXPECT_NE(missing->why.find("not found"), std::string::npos) << missing->why;
  EXPECT_TRUE(inv.services.empty());
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/missing")) << "nothing created";
}

TEST(Ops, AChannelsDeadLettersAreListedReadRequeuedAndPurged) {
  TempDir dir;
  auto ch = DropChannel::open(dir.path).value();
  auto rx = DropConsumer::open(ch).value();
  const std::string id = ch.publish(bytes_of("poison"), {{"content-type", "text/plain"}}).value();
  ASSERT_FALSE(rx.claim(5s)->reject("quantity is zero"));
  auto store = ops::DeadLetterStore::of_channel(dir.path);
  ASSERT_TRUE(store) << last_error_detail();
  auto list = store->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().id, id);
  EXPECT_NE(list->front().reason.find("quantity is zero"), std::string::npos);
  auto body = store->body(id);
  ASSERT_TRUE(body);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(body->data()), body->size()), "poison");
  EXPECT_EQ(store->requeue("1700000000000000000-nohost-1-1-deadbeef", 1s), errc::not_found);
  ASSERT_FALSE(store->requeue(id, 1s));
  auto again = rx.claim(5s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id(), id);
  ASSERT_FALSE(again->reject("still zero"));
  ASSERT_FALSE(store->purge(id));
  EXPECT_TRUE(store->list()->empty());
}

TEST(Ops, ARingThatNeverHadADeadLetterHasAnEmptyStore) {
  ScopedName n, missing;
  EXPECT_EQ(ops::DeadLetterStore::of_ring(missing.location()).error(), errc::not_found) << "no ring, no store";
  auto c = MpmcConsumer::open(n.location(), OpenMode::create).value();
  auto store = ops::DeadLetterStore::of_ring(n.location());
  ASSERT_TRUE(store) << last_error_detail();
  EXPECT_TRUE(store->is_ring());
  EXPECT_TRUE(store->list()->empty());
  EXPECT_EQ(store->purge("x"), errc::not_found);
  EXPECT_EQ(store->purge("../x"), errc::invalid_argument);
}

TEST(Ops, ATypedMessageGoesFromJsonToTheRingAndBack) {
  auto t = ops::SchemaType::load(kSchema, "Echo");
  ASSERT_TRUE(t) << last_error_detail();
  EXPECT_EQ(t->type_id(), capnp::typeId<rdtest::Echo>());
  const std::pair<std::string_view, std::string_view> headers[] = {{"origin", "shell"}};
  MessageOptions o;
  o.headers = headers;
  auto bytes = t->encode_message(R"({"seq": "7", "text": "hello"})", o);
  ASSERT_TRUE(bytes) << last_error_detail();
  std::vector<capnp::word> aligned(bytes->size() / sizeof(capnp::word));
  std::memcpy(aligned.data(), bytes->data(), bytes->size());
  auto m = IncomingMessage::open(std::as_bytes(std::span(aligned)));
  ASSERT_TRUE(m) << last_error_detail();
  auto echo = m->payload<rdtest::Echo>();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->getSeq(), 7u);
  EXPECT_EQ(std::string(echo->getText().cStr()), "hello");
  EXPECT_EQ(m->header("origin"), "shell");
  const ops::Json j = ops::describe_message(*m, &*t);
  EXPECT_EQ(j["payload"]["text"], "hello");
  EXPECT_EQ(j["headers"]["origin"], "shell");
  EXPECT_EQ(j["kind"], "notification");
  // Without a schema: the envelope and the payload's size.
  const ops::Json bare = ops::describe_message(*m, nullptr);
  EXPECT_FALSE(bare.contains("payload"));
  EXPECT_GT(bare["payload_words"].get<uint64_t>(), 0u);
}

TEST(Ops, BadSchemasTypesAndJsonAreRefusedByName) {
  TempDir dir;
  EXPECT_EQ(ops::SchemaType::load(dir.path + "/none.capnp", "Echo").error(), errc::not_found);
  EXPECT_EQ(ops::SchemaType::load(kSchema, "NoSuchType").error(), errc::invalid_argument);
  EXPECT_NE(last_error_detail().find("NoSuchType"), std::string::npos) << last_error_detail();
  const std::string broken = dir.path + "/broken.capnp";
  std::ofstream(broken) << "@0xb1a5c0ffee000001;\nstruct Order { id @0 :UInt64 \n";  // no closing brace
  EXPECT_EQ(ops::SchemaType::load(broken, "Order").error(), errc::bad_message);
  auto t = ops::SchemaType::load(kSchema, "Echo");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->encode_message("{not json", {}).error(), errc::bad_message);
  EXPECT_EQ(t->encode_message(R"({"seq": "seven"})", {}).error(), errc::bad_message);
}
