// ring_io.cpp — the non-template parts of ring_io.hpp.
#include "ring_io.hpp"

namespace pingpong {

RingNames::RingNames(unsigned count) {
  static unsigned next = 0;
  const std::string prefix =
      "ringdrop-pingpong-" + std::to_string(::getpid()) + "-" + std::to_string(next++) + "-";
  for (unsigned i = 0; i < count; ++i) {
    names_.push_back(ringdrop::Location::shm(prefix + std::to_string(i)));
  }
}

void RingNames::remove() noexcept {
  if (removed_) return;
  for (const auto& name : names_) (void)ringdrop::Segment::remove(name);
  removed_ = true;
}

void check_ack(std::span<const std::byte> view, uint64_t value) {
  uint64_t got = ~value;
  if (view.size() == sizeof got) std::memcpy(&got, view.data(), sizeof got);
  if (got != value) throw BenchError("unexpected acknowledgement");
}

}  // namespace pingpong
