#include "outbound_source.hpp"

#include <unistd.h>

#include "ringdrop/drop_channel.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/ring_dead_letters.hpp"

namespace ringdrop::bridge {

namespace {

std::string who() { return "ringdrop-bridge pid " + std::to_string(::getpid()); }

class RingSource final : public OutboundSource {
 public:
  RingSource(Location where, MpmcConsumer rx) : where_(std::move(where)), rx_(std::move(rx)) {}

  Result<Taken> take(std::chrono::milliseconds wait) override {
    auto view = wait.count() == 0 ? rx_.try_read() : rx_.read(wait);
    if (!view) {
      // peer_gone: no producer now; for a bridge that is just "nothing yet".
      if (view.error() == errc::would_block || view.error() == errc::peer_gone) return errc::timed_out;
      return view.error();
    }
    Taken t;
    t.bytes = *view;
    t.deliveries = rx_.delivery_count();
    return t;
  }

  std::error_code dead_letter(Taken& t, std::string_view reason) override {
    if (!store_) {
      auto s = RingDeadLetters::create(where_);
      if (!s) return s.error();
      store_.emplace(std::move(*s));
    }
    auto id = store_->put(t.bytes, t.deliveries, reason, who());
    return id ? std::error_code{} : id.error();
  }

  std::error_code settle(std::vector<Taken>& taken) override {
    taken.clear();
    return rx_.release();
  }

 private:
  Location where_;
  MpmcConsumer rx_;
  std::optional<RingDeadLetters> store_;
};

class DropSource final : public OutboundSource {
 public:
  DropSource(DropChannel channel, DropConsumer rx) : channel_(std::move(channel)), rx_(std::move(rx)) {}

  Result<Taken> take(std::chrono::milliseconds wait) override {
    auto claim = wait.count() == 0 ? rx_.try_claim() : rx_.claim(wait);
    if (!claim) return claim.error() == errc::would_block ? errc::timed_out : claim.error();
    auto bytes = claim->read();
    if (!bytes) return bytes.error();  // the claim, destroyed unsettled, goes back to the channel (an attempt)
    Taken t;
    t.owned = std::move(*bytes);
    t.bytes = t.owned;
    t.headers = claim->headers();
    t.id = claim->id();
    t.deliveries = claim->attempt();
    t.claim.emplace(std::move(*claim));
    return t;
  }

  std::error_code dead_letter(Taken& t, std::string_view reason) override {
    if (auto ec = t.claim->reject(reason)) return ec;
    t.claim.reset();
    return {};
  }

  void keep(const std::vector<Taken*>& taken) override {
    const auto now = std::chrono::system_clock::now();
    const auto half = channel_.options().lease / 2;
    for (Taken* t : taken) {
      if (t->claim && !t->claim->settled() && t->claim->lease_expires() - now < half) (void)t->claim->extend();
    }
  }

  std::error_code settle(std::vector<Taken>& taken) override {
    std::error_code first;
    for (Taken& t : taken) {
      if (!t.claim) continue;
      if (auto ec = t.claim->ack(); ec && !first) first = ec;  // lease_lost: the channel delivers it again
    }
    taken.clear();
    return first;
  }

 private:
  DropChannel channel_;
  DropConsumer rx_;
};

}  // namespace

Result<std::unique_ptr<OutboundSource>> OutboundSource::open(const Endpoint& from) {
  if (from.kind == Endpoint::Kind::drop) {
    DropOptions o;
    o.create = true;
    auto ch = DropChannel::open(from.dir, o);
    if (!ch) return ch.error();
    auto rx = DropConsumer::open(*ch);
    if (!rx) return rx.error();
    return std::unique_ptr<OutboundSource>(new DropSource(std::move(*ch), std::move(*rx)));
  }
  auto rx = MpmcConsumer::open(from.ring, OpenMode::open_or_create);
  if (!rx) return rx.error();
  return std::unique_ptr<OutboundSource>(new RingSource(from.ring, std::move(*rx)));
}

}  // namespace ringdrop::bridge
