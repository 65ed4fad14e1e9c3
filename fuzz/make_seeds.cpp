// make_seeds — writes the fuzzers' seed corpora: a handful of small valid
// inputs each, made with the library itself so they follow its formats.
//
//   ringdrop-fuzz-seeds <dir>     writes <dir>/<fuzzer>/<name> for every fuzzer
//
// fuzz/corpus/ in the repository is what this wrote (scripts/fuzz.sh
// --seeds regenerates it). Everything is deterministic except where a
// segment records its creation time and pid, and message ids drawn by the
// library.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "drop/drop_headers.hpp"
#include "drop/drop_name.hpp"
#include "ringdrop.h"
#include "ringdrop/ringdrop.hpp"
#include "segment/segment_layout.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

fs::path out_dir;
fs::path scratch;

using Bytes = std::vector<uint8_t>;

void put(const std::string& fuzzer, const std::string& name, const Bytes& b) {
  const fs::path d = out_dir / fuzzer;
  fs::create_directories(d);
  std::ofstream(d / name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                  static_cast<std::streamsize>(b.size()));
}
void put(const std::string& fuzzer, const std::string& name, std::string_view s) {
  put(fuzzer, name, Bytes(s.begin(), s.end()));
}

template <class T>
void le(Bytes& b, T v) {
  for (size_t i = 0; i < sizeof v; ++i) b.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i)));
}

Bytes read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

size_t trimmed(const Bytes& b, size_t from, size_t to) {
  while (to > from && b[to - 1] == 0) --to;
  return to - from;
}

// ------------------------------------------------------------ segment_open

/// The segment at `path` in segment_open's structured form (its flags byte
/// given): control block up to 2 KiB, both trimmed of trailing zeros.
Bytes structured(const fs::path& path, uint8_t flags) {
  const Bytes seg = read_file(path);
  detail::SegmentHeader h{};
  std::memcpy(static_cast<void*>(&h), seg.data(), sizeof h);
  const size_t control = trimmed(seg, 128, std::min<size_t>(128 + 2048, h.data_offset));
  const size_t data = trimmed(seg, h.data_offset, std::min<size_t>(h.data_offset + 2048, seg.size()));
  Bytes b{flags};
  le<uint16_t>(b, static_cast<uint16_t>(control));
  le<uint16_t>(b, static_cast<uint16_t>(data));
  b.insert(b.end(), seg.begin(), seg.begin() + 128);
  b.insert(b.end(), seg.begin() + 128, seg.begin() + 128 + static_cast<long>(control));
  b.insert(b.end(), seg.begin() + static_cast<long>(h.data_offset),
           seg.begin() + static_cast<long>(h.data_offset + data));
  for (uint8_t s : {8, 40, 200, 0, 17}) b.push_back(s);  // message sizes
  return b;
}

void segment_seeds() {
  const auto msg = [](int i) { return "message " + std::to_string(i); };
  // kStructured | kFixChecksum | kBothSides, plus kind, side and backing.
  constexpr uint8_t kBase = 0x10 | 0x20 | 0x40;
  {
    const fs::path p = scratch / "spsc";
    RingOptions o;
    o.capacity = 4096;
    auto tx = SpscProducer::open(Location::file(p), OpenMode::create, o).value();
    auto rx = SpscConsumer::open(Location::file(p), OpenMode::open, o).value();
    for (int i = 0; i < 30; ++i) (void)tx.send(bytes_of(msg(i)), 0ns);
    for (int i = 0; i < 25; ++i) (void)rx.receive(0ns);  // a wrap, and some in flight
    put("segment_open", "spsc-producer", structured(p, kBase | 0));
    put("segment_open", "spsc-consumer-file", structured(p, kBase | 0x4 | 0x8));
    Bytes raw{0x20 | 0x8};  // the file as it is, checksum fixed
    const Bytes seg = read_file(p);
    raw.insert(raw.end(), seg.begin(), seg.begin() + 1024);  // truncated: corrupted
    put("segment_open", "spsc-raw-truncated", raw);
  }
  {
    const fs::path p = scratch / "mpmc";
    MpmcOptions o;
    o.capacity = 4096;
    o.cell_size = 64;
    auto tx = MpmcProducer::open(Location::file(p), OpenMode::create, o).value();
    auto rx = MpmcConsumer::open(Location::file(p), OpenMode::open, o).value();
    for (int i = 0; i < 70; ++i) (void)tx.send(bytes_of(msg(i)), 0ns);
    for (int i = 0; i < 40; ++i) (void)rx.receive(0ns);
    (void)rx.read(0ns);  // one held
    put("segment_open", "mpmc-consumer", structured(p, kBase | 1 | 0x4));
    put("segment_open", "mpmc-producer-shm", structured(p, kBase | 1));
  }
  {
    const fs::path p = scratch / "broadcast";
    BroadcastOptions o;
    o.capacity = 4096;
    o.cell_size = 128;
    o.policy = SlowSubscriber::overwrite;
    auto tx = BroadcastPublisher::open(Location::file(p), OpenMode::create, o).value();
    auto rx = BroadcastSubscriber::open(Location::file(p), OpenMode::open, o, StartAt::oldest).value();
    for (int i = 0; i < 40; ++i) (void)tx.send(bytes_of(msg(i)), 0ns);
    for (int i = 0; i < 10; ++i) (void)rx.receive(0ns);
    put("segment_open", "broadcast-subscriber-oldest", structured(p, kBase | 2 | 0x4 | 0x80));
    put("segment_open", "broadcast-publisher-file", structured(p, kBase | 2 | 0x8));
    put("segment_open", "header-kind", structured(p, kBase | 3));
  }
  put("segment_open", "empty", Bytes{0});
  put("segment_open", "foreign", Bytes{0x01, 'N', 'O', 'T', 'R', 'I', 'N', 'G', 'S'});
}

// ------------------------------------------------------------ ring_ops

/// ring_ops programs; operation numbers as in ring_ops_fuzzer.cpp.
enum Op : uint8_t {
  kPoke64, kPokeSmall, kPoke32, kPokeRecord, kTrySend, kReserve, kPublish, kTryRead,
  kRelease, kTryReceive, kReadNow, kSendNow, kReopenConsumer, kReopenProducer, kClose, kStats,
};

struct Program {
  Bytes b;
  explicit Program(uint8_t config) : b{config} {}
  Program& op(uint8_t o, uint8_t variant = 0, uint8_t consumer = 0) {
    b.push_back(static_cast<uint8_t>(o | consumer << 4 | variant << 5));
    return *this;
  }
  Program& send(uint8_t size) { op(kTrySend); b.push_back(size); return *this; }
  Program& reserve(uint8_t size, uint8_t used, uint8_t variant = 0) {
    op(kReserve, variant);
    b.push_back(size);
    b.push_back(used);
    return *this;
  }
  Program& poke(uint16_t word, uint64_t value) {
    op(kPoke64);
    le(b, word);
    le(b, value);
    return *this;
  }
  Program& poke_small(uint16_t word, int8_t value) {
    op(kPokeSmall);
    le(b, word);
    b.push_back(static_cast<uint8_t>(value));
    return *this;
  }
  Program& poke_record(uint8_t which, uint8_t variant, uint64_t value) {
    op(kPokeRecord, variant);
    b.push_back(which);
    le(b, value);
    return *this;
  }
};

void ring_ops_seeds() {
  // Word indices (8-byte words from the segment's start): the control block
  // starts at word 16; tail is its first word on every kind, SPSC's head is
  // at +128 bytes (word 32).
  constexpr uint16_t kTail = 16, kSpscHead = 32, kData = 0x8000;
  for (uint8_t kind = 0; kind < 3; ++kind) {
    Program p(kind);
    for (int i = 0; i < 6; ++i) p.send(static_cast<uint8_t>(10 * i + 1));
    p.op(kTryRead).op(kTryRead).op(kRelease).op(kTryReceive);
    p.reserve(30, 20).reserve(12, 12, 1).op(kPublish);
    p.op(kTryReceive).op(kReadNow).op(kRelease).op(kStats);
    put("ring_ops", "basic-" + std::to_string(kind), p.b);

    Program q(static_cast<uint8_t>(kind | 0x8));
    for (int i = 0; i < 4; ++i) q.send(40);
    q.poke(kTail, 0x1000).send(8).op(kReopenProducer).send(8);
    q.poke_record(1, 1, ~uint64_t{0}).op(kTryRead).op(kTryRead, 0, 1).op(kRelease);
    q.poke_small(kData | 1, -1).op(kTryReceive).op(kReopenConsumer).op(kTryReceive);
    q.op(kReadNow, 1).op(kStats);
    put("ring_ops", "damage-" + std::to_string(kind), q.b);
  }
  // SPSC: a record header made impossible, a head moved ahead, a wrap.
  Program s(0);
  for (int i = 0; i < 3; ++i) s.reserve(100, 100);
  s.poke_record(1, 0, 0x4154414400000fffULL).op(kTryRead).op(kTryRead).op(kRelease);
  s.poke(kSpscHead, 4096 * 3).send(5).op(kReopenConsumer).op(kTryReceive);
  for (int i = 0; i < 40; ++i) s.send(200).op(kTryReceive);
  put("ring_ops", "spsc-wrap", s.b);
  // MPMC, drop policy, two consumers: a consumer closed holding a message.
  Program m(static_cast<uint8_t>(1 | 0x4 | 0x8 | 0x20));
  for (int i = 0; i < 5; ++i) m.send(50);
  m.op(kTryRead).op(kClose).op(kTryRead, 0, 1).op(kRelease, 0, 1).op(kReopenConsumer).op(kTryReceive);
  m.poke_record(3, 0, 0xffffffff).op(kTryReceive, 0, 1).op(kStats);
  put("ring_ops", "mpmc-drop", m.b);
  // Broadcast, overwrite: a lapped subscriber.
  Program b(static_cast<uint8_t>(2 | 0x4 | 0x10));
  for (int i = 0; i < 80; ++i) b.send(20);
  b.op(kTryRead).op(kTryRead).op(kRelease).op(kTryReceive).poke(kTail, 1u << 20).op(kReopenConsumer);
  b.op(kTryReceive).op(kStats);
  put("ring_ops", "broadcast-lapped", b.b);
}

// ------------------------------------------------------------ drop

void drop_names_seeds() {
  const std::string id = "1700000000123456789-host-4242-7-0badcafe";
  put("drop_names", "ready", id + ".0");
  put("drop_names", "work", id + ".3.host-4242-beef.1700000030123");
  put("drop_names", "retry", id + ".2.1700000031000");
  put("drop_names", "reason", detail::reason_name(id));
  put("drop_names", "legacy", std::string_view("orders.1"));
  put("drop_names", "key", std::string_view("Order-42/../x"));
  put("drop_names", "headers", std::string_view("content-type: text/plain\r\nidempotency-key: order-42\n"
                                                "original-name: IN.DAT\nbad key: x\nnocolon\n"));
  put("drop_names", "reason-file", std::string_view("attempts: 5\nconsumer: host-1-abcd\nfailed-at: "
                                                    "2026-11-22T04:15:37.123Z\nreason: refused\n"));
}

struct Scene {
  Bytes b;
  Scene(uint8_t options, uint8_t entries) : b{options, entries} {}
  Scene& entry(uint8_t dir, uint8_t kind, std::string_view name, std::string_view content) {
    b.push_back(static_cast<uint8_t>(dir | kind << 4));
    b.insert(b.end(), name.begin(), name.end());
    b.push_back(0);
    b.push_back(static_cast<uint8_t>(content.size()));
    b.insert(b.end(), content.begin(), content.end());
    return *this;
  }
  Scene& acts(std::initializer_list<uint8_t> a) {
    b.insert(b.end(), a);
    return *this;
  }
};

void drop_tree_seeds() {
  // Directories as in drop_tree_fuzzer.cpp's kDirs, kinds as its Kind.
  enum : uint8_t { incoming, tmp, ready, work, retry, done, failed, state, meta, keys, root };
  enum : uint8_t { file, file2, id_file, symlink_victim, symlink_dir, dangling, fifo, socket, device,
                   directory, hard_link, marker, headers, reason, empty, long_name };
  const std::string id = "1700000000123456789-host-4242-7-0badcafe";
  // Claim, read, ack; nack; reject; extend; abandon.
  const std::initializer_list<uint8_t> settle_all = {0, 4, 6, 0, 5, 7, 0, 8, 0, 0x39, 10, 11, 0x1b, 12, 13, 14, 15};
  put("drop_tree", "incoming",
      Scene(0x20, 3).entry(incoming, file, "IN.DAT", "records\n").entry(incoming, file, ".hidden", "x")
          .entry(incoming, long_name, "x", "long").acts(settle_all).b);
  put("drop_tree", "marker",
      Scene(0x01, 3).entry(incoming, file, "A.CSV", "a,b\n").entry(incoming, marker, "A.CSV", "")
          .entry(incoming, marker, "ORPHAN", "").acts(settle_all).b);
  put("drop_tree", "states",
      Scene(0x02 | 0x18, 6).entry(ready, id_file, "host-4242-7-0badcafe", "ready").entry(ready, headers, "", "content-type: text/plain\nidempotency-key: k-1\n")
          .entry(work, file, id + ".1.host-1-abcd.1", "expired")
          .entry(retry, file, id + "x.1.1", "due").entry(failed, id_file, "dead", "d")
          .entry(failed, reason, "", "reason: r\n").acts(settle_all).b);
  put("drop_tree", "unsafe",
      Scene(0x00, 8).entry(incoming, symlink_victim, "LINK", "").entry(incoming, fifo, "PIPE", "")
          .entry(incoming, directory, "DIR", "inside").entry(incoming, hard_link, "HARD", "")
          .entry(ready, symlink_dir, id + ".0", "").entry(incoming, socket, "SOCK", "")
          .entry(incoming, device, "DEV", "").entry(ready, dangling, "gone.1", "")
          .acts(settle_all).b);
  put("drop_tree", "archive-keys",
      Scene(0x04 | 0x20, 3).entry(keys, file, "k-1", "").entry(ready, file, "legacy.txt", "adopt me")
          .entry(ready, id_file, "k", "dup").acts(settle_all).b);
}

// ------------------------------------------------------------ message

Bytes flat(capnp::MessageBuilder& b) {
  const auto words = capnp::messageToFlatArray(b);
  const auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

void message_seeds() {
  {
    capnp::MallocMessageBuilder b;
    auto env = b.initRoot<Envelope>();
    env.setMessageId(42);
    env.setTypeId(0x1234567890abcdefULL);
    env.setKind(MessageKind::REQUEST);
    env.setReplyTo("shm:replies");
    env.setDeadlineNs(123456789);
    env.setSentAtNs(1700000000000000000);
    env.setAttempt(2);
    auto h = env.initHeaders(2);
    h[0].setKey("content-type");
    h[0].setValue("application/x");
    h[1].setKey("trace");
    h[1].setValue("abc");
    auto payload = env.getPayload().initAs<Envelope::Error>();  // any struct will do
    payload.setCode(7);
    payload.setMessage("payload text");
    put("message", "request", flat(b));
  }
  {
    capnp::MallocMessageBuilder b;
    auto env = b.initRoot<Envelope>();
    env.setMessageId(43);
    env.setCorrelationId(42);
    env.setKind(MessageKind::RESPONSE);
    env.initError().setCode(-20);
    env.getError().setMessage("remote failure");
    put("message", "error-response", flat(b));
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<Envelope>().setMessageId(1);
    put("message", "minimal", flat(b));
  }
  {  // Through the C ABI, with a payload of its own (the previous message).
    capnp::MallocMessageBuilder inner;
    auto e = inner.initRoot<Envelope>();
    e.setMessageId(5);
    e.setReplyTo("file:/tmp/x");
    const Bytes payload = flat(inner);
    ringdrop_message_options o;
    ringdrop_message_options_init(&o);
    const char* keys[] = {"k"};
    const char* values[] = {"v"};
    o.header_keys = keys;
    o.header_values = values;
    o.header_count = 1;
    o.kind = RINGDROP_MESSAGE_EVENT;
    unsigned long long size = 0;
    (void)ringdrop_message_build(99, payload.data(), payload.size(), &o, nullptr, 0, &size);
    Bytes out(size);
    if (ringdrop_message_build(99, payload.data(), payload.size(), &o, out.data(), out.size(), &size) == 0) {
      put("message", "c-built", out);
    }
  }
  put("message", "empty-segment-table", Bytes{0, 0, 0, 0, 0, 0, 0, 0});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  out_dir = argv[1];
  scratch = fs::temp_directory_path() / ("ringdrop-fuzz-seeds-" + std::to_string(::getpid()));
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  segment_seeds();
  ring_ops_seeds();
  drop_names_seeds();
  drop_tree_seeds();
  message_seeds();
  fs::remove_all(scratch);
  return 0;
}
