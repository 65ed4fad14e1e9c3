// segment_open_fuzzer — opening a segment whose bytes are arbitrary.
//
// The input becomes the segment (a POSIX shared-memory object, or a
// regular file), and a ring of the chosen kind is opened on it as producer
// or consumer. The promise: an error code, or a ring that works — every
// call returns and every span lies in the data area (ring_checks.hpp).
//
// Input:
//   byte 0   flags
//              bits 0-1  kind to open as: spsc, mpmc, broadcast, or 3: the
//                        kind the header names
//              bit 2     open the consumer side first (else the producer)
//              bit 3     a regular file (else shared memory)
//              bit 4     structured image (below; else the rest of the input
//                        is the file, byte for byte)
//              bit 5     fix the magic, layout version and checksum, so the
//                        opener gets past them to the rest
//              bit 6     then open the other side too and pass messages
//              bit 7     broadcast subscriber: start at the oldest message
//   structured image:
//   u16      bytes of control block that follow the header
//   u16      bytes of data area that follow the control block
//   128      the header (capacity made a power of two from 4 KiB to 64 KiB
//            unless it is one up to 256 KiB; data offset and total size set
//            to match, the file sized to it)
//   n        the control block, at offset 128
//   rest     the data area, at the data offset
//   then     sizes for the messages sent (one byte each)
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "fuzz_support.hpp"
#include "ring_checks.hpp"
#include "segment/segment_layout.hpp"

using namespace ringdrop;
using namespace ringdrop::fuzz;

namespace {

enum Flags : uint8_t {
  kKindMask = 0x3,
  kConsumerFirst = 0x4,
  kFile = 0x8,
  kStructured = 0x10,
  kFixChecksum = 0x20,
  kBothSides = 0x40,
  kOldest = 0x80,
};

constexpr uint64_t kMaxStructuredCapacity = uint64_t{256} << 10;

std::vector<uint8_t> structured_image(Bytes& in) {
  const uint16_t control_len = in.u16();
  const uint16_t data_len = in.u16();
  detail::SegmentHeader h{};
  const auto head = in.take(sizeof h);
  std::memcpy(static_cast<void*>(&h), head.data(), head.size());
  const uint32_t kind = h.kind >= 1 && h.kind <= 3 ? h.kind : 1;
  uint64_t capacity = h.capacity;
  if (capacity < detail::kMinCapacity || capacity > kMaxStructuredCapacity || (capacity & (capacity - 1)) != 0) {
    capacity = detail::kMinCapacity << (capacity % 5);
  }
  h.capacity = capacity;
  h.data_offset = detail::data_offset_for(static_cast<RingKind>(kind));
  h.total_size = h.data_offset + capacity;
  std::vector<uint8_t> image(h.total_size);
  std::memcpy(image.data(), static_cast<const void*>(&h), sizeof h);
  const auto control = in.take(std::min<uint64_t>(control_len, h.data_offset - sizeof h));
  std::memcpy(image.data() + sizeof h, control.data(), control.size());
  const auto data = in.take(std::min<uint64_t>(data_len, capacity));
  std::memcpy(image.data() + h.data_offset, data.data(), data.size());
  return image;
}

void fix_checksum(std::vector<uint8_t>& image) {
  if (image.size() < sizeof(detail::SegmentHeader)) return;
  detail::SegmentHeader h{};
  std::memcpy(static_cast<void*>(&h), image.data(), sizeof h);
  h.magic.store(detail::kMagic, std::memory_order_relaxed);
  h.layout_version = detail::kLayoutVersion;
  h.checksum = detail::header_checksum(h);
  std::memcpy(image.data(), static_cast<const void*>(&h), sizeof h);
}

/// Writes `image` as the segment behind `where` (a new shm object or file).
void write_segment(const Location& where, const std::vector<uint8_t>& image) {
  const std::string path = where.is_file() ? where.name() : "/dev/shm/" + where.name();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FUZZ_CHECK(fd >= 0, "cannot write the segment file (harness)");
  size_t done = 0;
  while (done < image.size()) {
    const ssize_t n = ::write(fd, image.data() + done, image.size() - done);
    FUZZ_CHECK(n > 0, "short write of the segment file (harness)");
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

template <class Producer, class Consumer, class Options>
void exercise(const Location& where, uint8_t flags, Bytes& in, Options options,
              std::optional<Producer> (*open_producer)(const Location&, const Options&),
              std::optional<Consumer> (*open_consumer)(const Location&, const Options&, bool)) {
  const bool oldest = flags & kOldest;
  std::optional<Producer> p;
  std::optional<Consumer> c;
  if (flags & kConsumerFirst) {
    c = open_consumer(where, options, oldest);
    if (!c) return;
    (void)c->stats();
    drain(*c, 70, false);
    if (flags & kBothSides) p = open_producer(where, options);
  } else {
    p = open_producer(where, options);
    if (!p) return;
    (void)p->stats();
    feed(*p, in, 4);
    if (flags & kBothSides) c = open_consumer(where, options, oldest);
  }
  // Its counters, without attaching (only now: on a segment that never got
  // its magic, inspecting waits the default init_timeout).
  if constexpr (std::is_same_v<Producer, SpscProducer>) {
    (void)inspect_spsc(where);
  } else if constexpr (std::is_same_v<Producer, MpmcProducer>) {
    (void)inspect_mpmc(where);
  } else {
    (void)inspect_broadcast(where);
  }
  if (p && c) {
    for (int round = 0; round < 3; ++round) {
      feed(*p, in, 5);
      drain(*c, 8, round == 1);
      (void)c->try_receive();
    }
  }
}

template <class Handle, class Options, class... Extra>
std::optional<Handle> open_as(const Location& where, const Options& o, Extra... extra) {
  auto h = Handle::open(where, OpenMode::open, o, extra...);
  if (!h) return std::nullopt;
  return std::move(*h);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Bytes in(data, size);
  const uint8_t flags = in.u8();

  std::vector<uint8_t> image;
  if (flags & kStructured) {
    image = structured_image(in);
  } else {
    const auto raw = in.rest();
    image.assign(raw.begin(), raw.end());
  }
  if (flags & kFixChecksum) fix_checksum(image);

  const Location where = (flags & kFile) ? Location::file(scratch_dir() / "segment")
                                         : Location::shm(shm_name("open"));
  write_segment(where, image);

  unsigned kind = flags & kKindMask;
  if (kind == 3) {
    uint32_t named = 0;
    if (image.size() >= 16) std::memcpy(&named, image.data() + 12, sizeof named);
    kind = named == 0 ? 0 : (named - 1) % 3;
  }
  switch (kind) {
    case 0: {
      exercise<SpscProducer, SpscConsumer, RingOptions>(
          where, flags, in, quick(RingOptions{}),
          [](const Location& w, const RingOptions& o) { return open_as<SpscProducer>(w, o); },
          [](const Location& w, const RingOptions& o, bool) { return open_as<SpscConsumer>(w, o); });
      break;
    }
    case 1: {
      exercise<MpmcProducer, MpmcConsumer, MpmcOptions>(
          where, flags, in, quick(MpmcOptions{}),
          [](const Location& w, const MpmcOptions& o) { return open_as<MpmcProducer>(w, o); },
          [](const Location& w, const MpmcOptions& o, bool) { return open_as<MpmcConsumer>(w, o); });
      break;
    }
    default: {
      exercise<BroadcastPublisher, BroadcastSubscriber, BroadcastOptions>(
          where, flags, in, quick(BroadcastOptions{}),
          [](const Location& w, const BroadcastOptions& o) { return open_as<BroadcastPublisher>(w, o); },
          [](const Location& w, const BroadcastOptions& o, bool oldest) {
            return open_as<BroadcastSubscriber>(w, o, oldest ? StartAt::oldest : StartAt::newest);
          });
      break;
    }
  }
  (void)Segment::remove(where);
  return 0;
}
