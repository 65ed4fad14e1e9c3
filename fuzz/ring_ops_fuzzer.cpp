// ring_ops_fuzzer — a ring whose shared words another process scribbles on
// between calls.
//
// Each input creates a small ring (capacity 4 KiB) of one kind, opens a
// producer and one or two consumers, maps the segment a second time (the
// "other process") and then runs the input as a program: write a word
// anywhere in the header, control block or data area (indices, record
// headers, cell states and sizes, peer entries, wait lines), send, reserve
// and commit, read, release, receive, reopen a side, close it. Every call is
// a try_ call or has a zero timeout, and every handle judges its peers at
// each wait (liveness interval 0), so nothing may wait; libFuzzer's
// -timeout catches a call that does not return. Every span handed out is
// checked to lie in the data area (ring_checks.hpp).
//
// Input:
//   byte 0   ring: bits 0-1 kind (spsc, mpmc, broadcast, mpmc), bit 2 the
//            other policy (mpmc: drop a dead consumer's messages; broadcast:
//            overwrite), bit 3 a second consumer, bit 4 subscribers start at
//            the oldest message, bits 5-6 cell size 64 << n (n < 3)
//   then     operations: one byte (bits 0-3 the operation, bit 4 which
//            consumer, bits 5-7 a variant), then its operands
#include <chrono>
#include <cstring>
#include <optional>

#include "fuzz_support.hpp"
#include "ring/broadcast_layout.hpp"
#include "ring/mpmc_layout.hpp"
#include "ring/spsc_layout.hpp"
#include "ring_checks.hpp"

using namespace ringdrop;
using namespace ringdrop::fuzz;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t kCapacity = 4096;
constexpr int kMaxSteps = 400;

enum Op : uint8_t {
  kPoke64,      // u16 where, u64 value
  kPokeSmall,   // u16 where, i8 value (sign-extended: 0, 1, -1, small)
  kPoke32,      // u16 where (4-byte words), u32 value
  kPokeRecord,  // u8 record / cell, u64 value: spsc header at a record boundary
                // the producer used, or a cell's state (variant bit 0) or size word
  kTrySend,     // u8 size
  kReserve,     // u8 size, u8 used; variant: commit, stage, leave open, commit `used` as is
  kPublish,
  kTryRead,
  kRelease,
  kTryReceive,
  kReadNow,     // read (variant bit 0: receive) with a zero timeout
  kSendNow,     // u8 size: send with a zero timeout
  kReopenConsumer,
  kReopenProducer,
  kClose,       // variant bit 0: the producer, else the consumer
  kStats,
};

template <class P, class C, class O, class Ctl>
struct Ring {
  const Location where;
  O options;
  bool oldest;
  Segment other;  // the scribbler's own mapping
  std::optional<P> p;
  std::optional<C> c[2];
  uint64_t cell = 0;
  std::vector<uint64_t> records;  // spsc: record boundaries the producer used

  std::byte* base() const { return other.base(); }
  uint64_t total() const { return other.info().total_size; }

  std::optional<C> open_consumer() {
    Result<C> r = [&] {
      if constexpr (std::is_same_v<C, BroadcastSubscriber>) {
        return C::open(where, OpenMode::open, options, oldest ? StartAt::oldest : StartAt::newest);
      } else {
        return C::open(where, OpenMode::open, options);
      }
    }();
    if (!r) return std::nullopt;
    return std::move(*r);
  }
  std::optional<P> open_producer() {
    auto r = P::open(where, OpenMode::open, options);
    if (!r) return std::nullopt;
    return std::move(*r);
  }

  // A word index into the header and control block, or (high bit) the data area.
  std::byte* word_at(uint16_t w, size_t size) const {
    const uint64_t control_words = (detail::kControlOffset + sizeof(Ctl)) / size;
    if (w & 0x8000) {
      return other.data() + (w & 0x7fff) % (kCapacity / size) * size;
    }
    return base() + w % control_words * size;
  }

  void poke64(std::byte* at, uint64_t v) {
    std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(at)).store(v, std::memory_order_relaxed);
  }
  void poke32(std::byte* at, uint32_t v) {
    std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(at)).store(v, std::memory_order_relaxed);
  }

  void poke_record(uint8_t which, uint8_t variant, uint64_t v) {
    if (cell == 0) {
      if (records.empty()) return;
      poke64(other.data() + records[which % records.size()] % kCapacity, v);
      return;
    }
    std::byte* at = other.data() + which % (kCapacity / cell) * cell;
    if (variant & 1) {
      poke64(at, v);  // the state word
    } else {
      poke32(at + 8, static_cast<uint32_t>(v));  // the size word
    }
  }

  void note_reserve(std::span<std::byte> span) {
    if (cell != 0 || records.size() >= 64) return;
    const auto at = static_cast<uint64_t>(span.data() - other.data());
    if (at >= detail::kRecordHeader) records.push_back(at - detail::kRecordHeader);
  }

  void send(Bytes& in, bool now) {
    if (!p) return;
    const Area a = area_of(*p);
    const size_t size = in.u8() % (a.max_message + 2 < 256 ? a.max_message + 2 : 256);
    auto bytes = pattern(size, static_cast<uint8_t>(size));
    if (now) {
      (void)p->send(bytes, 0ns);
    } else {
      (void)p->try_send(bytes);
    }
  }

  void reserve(Bytes& in, uint8_t variant) {
    const uint8_t size = in.u8();
    const uint8_t used = in.u8();
    if (!p) return;
    auto span = p->try_reserve(size);
    if (!span) return;
    check_span(area_of(*p), *span);
    note_reserve(*span);
    if (!span->empty()) std::memset(span->data(), 0x5a, span->size());
    switch (variant & 3) {
      case 0: (void)p->commit(used % (span->size() + 1)); break;
      case 1: (void)p->stage(used % (span->size() + 1)); break;
      case 2: break;  // left open: the next reserve replaces it
      default: (void)p->commit(used); break;  // maybe more than reserved: invalid_argument
    }
  }

  void read(C& h, bool now, bool receive) {
    const Area a = area_of(h);
    if (receive) {
      auto got = now ? h.receive(0ns) : h.try_receive();
      if (got) {
        FUZZ_CHECK(got->size() <= static_cast<size_t>(a.hi - a.lo), "received more than the data area");
        if (a.cell) FUZZ_CHECK(got->size() <= a.cell - 16, "received more than a cell holds");
        if (strict()) FUZZ_CHECK(got->size() <= a.max_message, "received more than the largest message");
      }
      return;
    }
    auto view = now ? h.read(0ns) : h.try_read();
    if (view) check_span(a, *view);
  }

  void stats() {
    if (p) (void)p->stats();
    for (auto& h : c) {
      if (h) (void)h->stats();
    }
    // Inspecting takes no options: on a segment without its magic it waits
    // the default init_timeout for a creator (500 ms), so only with it.
    const auto magic = std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(base())).load();
    if (magic != detail::kMagic) return;
    if constexpr (std::is_same_v<Ctl, detail::SpscControl>) {
      (void)inspect_spsc(where);
    } else if constexpr (std::is_same_v<Ctl, detail::MpmcControl>) {
      (void)inspect_mpmc(where);
    } else {
      (void)inspect_broadcast(where);
    }
  }

  void run(Bytes& in) {
    for (int step = 0; step < kMaxSteps && !in.empty(); ++step) {
      const uint8_t op = in.u8();
      std::optional<C>& h = c[(op >> 4) & 1];
      const uint8_t variant = op >> 5;
      switch (static_cast<Op>(op & 0xf)) {
        case kPoke64: {
          const uint16_t w = in.u16();
          poke64(word_at(w, 8), in.u64());
          break;
        }
        case kPokeSmall: {
          const uint16_t w = in.u16();
          poke64(word_at(w, 8), static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(in.u8()))));
          break;
        }
        case kPoke32: {
          const uint16_t w = in.u16();
          poke32(word_at(w, 4), in.u32());
          break;
        }
        case kPokeRecord: {
          const uint8_t which = in.u8();
          poke_record(which, variant, in.u64());
          break;
        }
        case kTrySend: send(in, false); break;
        case kReserve: reserve(in, variant); break;
        case kPublish:
          if (p) p->publish();
          break;
        case kTryRead:
          if (h) read(*h, false, false);
          break;
        case kRelease:
          if (h) (void)h->release();
          break;
        case kTryReceive:
          if (h) read(*h, false, true);
          break;
        case kReadNow:
          if (h) read(*h, true, variant & 1);
          break;
        case kSendNow: send(in, true); break;
        case kReopenConsumer:
          h.reset();
          h = open_consumer();
          break;
        case kReopenProducer:
          p.reset();
          p = open_producer();
          break;
        case kClose:
          if (variant & 1) {
            p.reset();
          } else {
            h.reset();
          }
          break;
        case kStats: stats(); break;
      }
    }
  }
};

template <class P, class C, class O, class Ctl>
void fuzz_ring(Bytes& in, RingKind kind, O options, bool second, bool oldest) {
  const Location where = Location::shm(shm_name("ops"));
  (void)Segment::remove(where);  // left by an earlier input that crashed
  auto created = P::open(where, OpenMode::create, options);
  FUZZ_CHECK(created.ok(), "cannot create the ring (harness)");
  SegmentSpec spec;
  spec.kind = kind;
  auto other = Segment::open(where, OpenMode::open, spec);
  FUZZ_CHECK(other.ok(), "cannot map the ring a second time (harness)");
  {
    Ring<P, C, O, Ctl> r{where, options, oldest, std::move(*other), {}, {}, 0, {}};
    r.p.emplace(std::move(*created));
    if (kind != RingKind::spsc) r.cell = r.other.info().params[0];
    r.c[0] = r.open_consumer();
    FUZZ_CHECK(r.c[0].has_value(), "cannot open the consumer (harness)");
    if (second) r.c[1] = r.open_consumer();
    r.run(in);
  }
  (void)Segment::remove(where);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Bytes in(data, size);
  const uint8_t config = in.u8();
  const bool other_policy = config & 0x4;
  const bool second = config & 0x8;
  const bool oldest = config & 0x10;
  const uint32_t cell_size = 64u << (((config >> 5) & 3) % 3);
  switch (config & 3) {
    case 0: {
      RingOptions o = quick(RingOptions{});
      o.capacity = kCapacity;
      fuzz_ring<SpscProducer, SpscConsumer, RingOptions, detail::SpscControl>(in, RingKind::spsc, o, second,
                                                                              oldest);
      break;
    }
    case 2: {
      BroadcastOptions o = quick(BroadcastOptions{});
      o.capacity = kCapacity;
      o.cell_size = cell_size;
      o.policy = other_policy ? SlowSubscriber::overwrite : SlowSubscriber::block;
      fuzz_ring<BroadcastPublisher, BroadcastSubscriber, BroadcastOptions, detail::BroadcastControl>(
          in, RingKind::broadcast, o, second, oldest);
      break;
    }
    default: {
      MpmcOptions o = quick(MpmcOptions{});
      o.capacity = kCapacity;
      o.cell_size = cell_size;
      o.on_consumer_death = other_policy ? OnConsumerDeath::drop : OnConsumerDeath::redeliver;
      fuzz_ring<MpmcProducer, MpmcConsumer, MpmcOptions, detail::MpmcControl>(in, RingKind::mpmc, o, second,
                                                                              oldest);
      break;
    }
  }
  return 0;
}
