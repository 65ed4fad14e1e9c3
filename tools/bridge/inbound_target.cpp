#include "inbound_target.hpp"

#include <unistd.h>

#include <algorithm>
#include <optional>

#include "envelope_mapping.hpp"
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/ring_dead_letters.hpp"

namespace ringdrop::bridge {

namespace {

std::string who() { return "ringdrop-bridge pid " + std::to_string(::getpid()); }

class RingTarget final : public InboundTarget {
 public:
  RingTarget(Location where, MpmcProducer tx) : where_(std::move(where)), tx_(std::move(tx)) {}

  std::error_code deliver(const WireMessage&, std::span<const std::byte> bytes) override {
    return tx_.try_send(bytes);  // never waits: the route keeps servicing its connection
  }

  std::error_code dead_letter(const WireMessage&, std::span<const std::byte> bytes, std::string_view reason) override {
    if (!store_) {
      auto s = RingDeadLetters::create(where_);
      if (!s) return s.error();
      store_.emplace(std::move(*s));
    }
    auto id = store_->put(bytes, 1, reason, who());
    return id ? std::error_code{} : id.error();
  }

  uint16_t prefetch() const override {
    // Half the ring's cells: the broker's deliveries in flight never need
    // more room than the ring has, and a full ring stops the acks.
    return static_cast<uint16_t>(std::clamp<uint64_t>(tx_.stats().cells / 2, 1, 1000));
  }

 private:
  Location where_;
  MpmcProducer tx_;
  std::optional<RingDeadLetters> store_;
};

class DropTarget final : public InboundTarget {
 public:
  explicit DropTarget(DropChannel ch) : ch_(std::move(ch)) {}

  std::error_code deliver(const WireMessage& m, std::span<const std::byte> bytes) override {
    auto id = ch_.publish(bytes, wire_to_drop_headers(m));
    return id ? std::error_code{} : id.error();
  }

  std::error_code dead_letter(const WireMessage& m, std::span<const std::byte> bytes, std::string_view reason) override {
    auto id = ch_.put_dead_letter(bytes, wire_to_drop_headers(m), 1, reason, who());
    return id ? std::error_code{} : id.error();
  }

  uint16_t prefetch() const override { return 256; }

 private:
  DropChannel ch_;
};

}  // namespace

Result<std::unique_ptr<InboundTarget>> InboundTarget::open(const InRoute& route) {
  if (route.to.kind == Endpoint::Kind::drop) {
    DropOptions o;
    o.create = true;
    auto ch = DropChannel::open(route.to.dir, o);
    if (!ch) return ch.error();
    return std::unique_ptr<InboundTarget>(new DropTarget(std::move(*ch)));
  }
  MpmcOptions o;
  o.cell_size = route.cell_size;
  o.capacity = route.capacity;
  auto tx = MpmcProducer::open(route.to.ring, OpenMode::open_or_create, o);
  if (!tx) return tx.error();
  return std::unique_ptr<InboundTarget>(new RingTarget(route.to.ring, std::move(*tx)));
}

}  // namespace ringdrop::bridge
