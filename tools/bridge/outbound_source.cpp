#include "outbound_source.hpp"

#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ring_dead_letter_store.hpp"

namespace ringdrop::bridge {

namespace {

class RingSource final : public OutboundSource {
 public:
  RingSource(Location where, MpmcConsumer rx) : rx_(std::move(rx)), store_(std::move(where), RingKind::mpmc) {}

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

  std::error_code dead_letter(Taken& t, std::string_view reason) override { return store_.put(t.bytes, t.deliveries, reason); }

  std::error_code settle(std::vector<Taken>& taken) override {
    const size_t n = taken.size();  // the oldest held: the route settles in the order it took
    taken.clear();
    return rx_.release_oldest(n);
  }

 private:
  MpmcConsumer rx_;
  RingDeadLetterStore store_;
};

// A broadcast ring, as one of its subscribers. Each message is copied out
// as it is taken (receive()): the subscriber's cursor moves on at once and
// nothing is held for the broker's confirm; there is nothing to hold it
// with (outbound_source.hpp says what that costs).
class BroadcastSource final : public OutboundSource {
 public:
  BroadcastSource(Location where, BroadcastSubscriber rx, Notice notice)
      : where_(where), rx_(std::move(rx)), notice_(std::move(notice)), store_(std::move(where), RingKind::broadcast) {}

  Result<Taken> take(std::chrono::milliseconds wait) override {
    const Deadline deadline = deadline_after(wait);
    for (;;) {
      auto bytes = wait.count() == 0 ? rx_.try_receive() : rx_.receive(deadline);
      if (bytes) return owning(std::move(*bytes));
      // message_lost: we were lapped (or a message was overwritten while
      // we copied it). It is not the source failing: the subscriber goes on
      // from the oldest message still there. Returned as an error, the
      // route would drop the subscription and join again after a backoff,
      // which loses more (at "newest") or publishes the retained messages
      // again (at "oldest"). So: say so, count, and take the next one.
      if (bytes.error() == errc::message_lost) {
        lost(rx_.last_missed());
        continue;
      }
      // peer_gone: the publisher left and everything it published was
      // read. For a bridge that is "nothing yet": a new publisher may
      // attach and carry on, and the route keeps waiting for it.
      if (bytes.error() == errc::would_block || bytes.error() == errc::peer_gone) return errc::timed_out;
      return bytes.error();
    }
  }

  std::error_code dead_letter(Taken& t, std::string_view reason) override { return store_.put(t.bytes, t.deliveries, reason); }

  std::error_code settle(std::vector<Taken>& taken) override {
    taken.clear();  // copies: nothing in the ring to release
    return {};
  }

  bool holds() const override { return false; }

 private:
  static Taken owning(std::vector<std::byte> bytes) {
    Taken t;
    t.owned = std::move(bytes);
    t.bytes = t.owned;
    return t;
  }

  // Said at most once a second (a subscriber lapped again and again would
  // flood the log); the count covers every lap.
  void lost(uint64_t n) {
    missed_ += n;
    unsaid_ += n;
    const auto now = std::chrono::steady_clock::now();
    if (!notice_ || now - said_at_ < std::chrono::seconds(1)) return;
    said_at_ = now;
    n = std::exchange(unsaid_, 0);
    notice_("subscriber lapped on broadcast ring " + where_.describe() + ": " + std::to_string(n) +
            " messages were overwritten before the bridge copied them, not bridged (" + std::to_string(missed_) +
            " lost since it subscribed); going on with the next");
  }

  Location where_;
  BroadcastSubscriber rx_;
  Notice notice_;
  RingDeadLetterStore store_;
  uint64_t missed_ = 0;
  uint64_t unsaid_ = 0;
  std::chrono::steady_clock::time_point said_at_{};
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

Result<std::unique_ptr<OutboundSource>> OutboundSource::open(const OutRoute& route, Notice notice) {
  const Endpoint& from = route.from;
  if (from.kind == Endpoint::Kind::drop) {
    DropOptions o;
    o.create = true;
    auto ch = DropChannel::open(from.dir, o);
    if (!ch) return ch.error();
    auto rx = DropConsumer::open(*ch);
    if (!rx) return rx.error();
    return std::unique_ptr<OutboundSource>(new DropSource(std::move(*ch), std::move(*rx)));
  }
  if (route.subscribe) {
    // OpenMode::open: a broadcast ring is its publisher's to make (its cell
    // size and slow-subscriber policy are the publisher's choice).
    auto rx = BroadcastSubscriber::open(from.ring, OpenMode::open, {}, *route.subscribe);
    if (!rx) return rx.error();
    return std::unique_ptr<OutboundSource>(new BroadcastSource(from.ring, std::move(*rx), std::move(notice)));
  }
  auto rx = MpmcConsumer::open(from.ring, OpenMode::open_or_create);
  if (!rx) return rx.error();
  return std::unique_ptr<OutboundSource>(new RingSource(from.ring, std::move(*rx)));
}

}  // namespace ringdrop::bridge
