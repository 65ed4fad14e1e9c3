#include "inbound_target.hpp"


#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>

#include "envelope_mapping.hpp"
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/reply_queue.hpp"
#include "ring_dead_letter_store.hpp"

namespace ringdrop::bridge {

namespace {

// A copy into the ring, `committed()` between the commit and the wake.
std::error_code send_noting(MpmcProducer& tx, std::span<const std::byte> bytes, const InboundTarget::Committed& committed) {
  auto span = tx.try_reserve(bytes.size());  // never waits: the route keeps servicing its connection
  if (!span) return span.error();
  if (!bytes.empty()) std::memcpy(span->data(), bytes.data(), bytes.size());  // an empty body's data() may be null
  const std::error_code ec = tx.commit_unwoken(bytes.size());
  if (!ec) committed();
  tx.wake();
  return ec;
}

class RingTarget final : public InboundTarget {
 public:
  RingTarget(Location where, MpmcProducer tx) : tx_(std::move(tx)), store_(std::move(where), RingKind::mpmc) {}

  std::error_code deliver(const WireMessage&, std::span<const std::byte> bytes, const Committed& committed) override {
    return send_noting(tx_, bytes, committed);
  }

  std::error_code dead_letter(const WireMessage&, std::span<const std::byte> bytes, std::string_view reason) override {
    return store_.put(bytes, 1, reason);
  }

  uint16_t prefetch() const override {
    // Half the ring's cells: the broker's deliveries in flight never need
    // more room than the ring has, and a full ring stops the acks.
    return static_cast<uint16_t>(std::clamp<uint64_t>(tx_.stats().cells / 2, 1, 1000));
  }

 private:
  MpmcProducer tx_;
  RingDeadLetterStore store_;
};

class DropTarget final : public InboundTarget {
 public:
  explicit DropTarget(DropChannel ch) : ch_(std::move(ch)) {}

  std::error_code deliver(const WireMessage& m, std::span<const std::byte> bytes, const Committed& committed) override {
    auto id = ch_.publish(bytes, wire_to_drop_headers(m));
    if (!id) return id.error();
    committed();
    return {};
  }

  std::error_code dead_letter(const WireMessage& m, std::span<const std::byte> bytes, std::string_view reason) override {
    auto id = ch_.put_dead_letter(bytes, wire_to_drop_headers(m), 1, reason, bridge_who());
    return id ? std::error_code{} : id.error();
  }

  uint16_t prefetch() const override { return 256; }

 private:
  DropChannel ch_;
};

// The replies of requests this bridge carried out (reply_book.hpp): each
// into the ring its x-ringdrop-reply-to names — only a caller's reply ring
// (a Client's private one, or a shared reply queue): a peer across the
// broker writes into nothing else. A reply that cannot be delivered is
// kept in a drop channel of the bridge's state (`dir`), as dead letters
// are, so the queue moves on: its caller gone (a private ring with no
// consumer left, or removed), or its ring full for kFullPatience (one
// caller that takes no replies must not hold up every other caller's).
class ReplyTarget final : public InboundTarget {
 public:
  explicit ReplyTarget(std::string dir) : dir_(std::move(dir)) {}

  std::error_code deliver(const WireMessage& m, std::span<const std::byte> bytes, const Committed& committed) override {
    auto ring = ring_of(m);
    if (!ring) return ring.error();
    const std::string& name = *m.header(wire_header::reply_to);
    // A shared queue keeps replies for a taker to come; a private ring's
    // caller is its one consumer.
    if (!is_reply_queue(name) && (*ring)->consumers_gone()) return gone(name, "no consumer is attached");
    std::error_code ec = send_noting(**ring, bytes, committed);
    if (ec == errc::peer_gone) return gone(name, "no consumer is attached");
    if (ec != errc::would_block) {
      full_.clear();
      return ec;
    }
    const auto now = std::chrono::steady_clock::now();
    if (full_ != name) {
      full_ = name;
      full_since_ = now;
    }
    if (now - full_since_ < kFullPatience) return ec;  // later
    full_.clear();
    return detail::fail(errc::timed_out, "the caller's reply ring " + name + " stayed full for " +
                                             std::to_string(kFullPatience.count()) + " s: its caller takes no replies");
  }

  std::error_code dead_letter(const WireMessage& m, std::span<const std::byte> bytes, std::string_view reason) override {
    if (!kept_) {
      DropOptions o;
      o.create = true;
      auto ch = DropChannel::open(dir_, o);
      if (!ch) return ch.error();
      kept_.emplace(std::move(*ch));
    }
    auto id = kept_->put_dead_letter(bytes, wire_to_drop_headers(m), 1, reason, bridge_who());
    return id ? std::error_code{} : id.error();
  }

  uint16_t prefetch() const override { return 256; }

 private:
  static constexpr size_t kOpenRings = 64;
  static constexpr std::chrono::seconds kFullPatience{5};

  std::error_code gone(const std::string& name, const char* why) {
    rings_.erase(name);
    return detail::fail(errc::not_found, "the caller of reply ring " + name + " is gone (" + why + ")");
  }

  Result<MpmcProducer*> ring_of(const WireMessage& m) {
    const std::string* name = m.header(wire_header::reply_to);
    if (!name) return detail::fail(errc::invalid_argument, "a reply without x-ringdrop-reply-to: no caller to give it to");
    if (auto it = rings_.find(*name); it != rings_.end()) {
      if (inode_of(*name) == it->second.inode) return &it->second.tx;
      rings_.erase(it);  // removed (its client ended, or ringdrop gc) or made anew: opened again below
    }
    auto where = Location::parse(*name);
    if (!where || where->is_file() || name->find('/', 4) != std::string::npos || name->size() > 250 ||
        !(where->name().starts_with("ringdrop.reply.") || is_reply_queue(*name))) {
      return detail::fail(errc::invalid_argument, "x-ringdrop-reply-to '" + *name +
                                                      "' is not a caller's reply ring: refused (a peer across the "
                                                      "broker writes into reply rings only)");
    }
    auto tx = MpmcProducer::open(*where, OpenMode::open, MpmcOptions{});
    if (!tx) {
      if (tx.error() == errc::not_found) {
        return detail::fail(errc::not_found, "the caller's reply ring " + *name + " is gone (its client ended)");
      }
      return tx.error();
    }
    if (rings_.size() >= kOpenRings) rings_.clear();  // callers come and go: never hold many
    return &rings_.emplace(*name, Open{std::move(*tx), inode_of(*name)}).first->second.tx;
  }

  std::string dir_;
  // A reply ring held open, and the inode it had: a ring removed and made
  // anew under the same name is another ring (one stat a reply).
  struct Open {
    MpmcProducer tx;
    ino_t inode;
  };
  static ino_t inode_of(const std::string& described) {
    struct stat st{};
    return ::stat(("/dev/shm/" + described.substr(4)).c_str(), &st) == 0 ? st.st_ino : 0;
  }
  std::map<std::string, Open, std::less<>> rings_;
  std::optional<DropChannel> kept_;
  std::string full_;  // the reply ring found full for the delivery at the head, and since when
  std::chrono::steady_clock::time_point full_since_;
};

}  // namespace

Result<std::unique_ptr<InboundTarget>> InboundTarget::open(const InRoute& route) {
  if (route.to.kind == Endpoint::Kind::reply_to) return std::unique_ptr<InboundTarget>(new ReplyTarget(route.to.dir));
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
