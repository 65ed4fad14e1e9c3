// ring.cpp — the ring (or drop channel) one kind's campaign runs against:
// created fresh before the roles start, its own counters read for the
// figures after the final exchange, and removed with its dead letters and the
// board at the end.
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "kind_run.hpp"
#include "ringdrop/ringdrop.hpp"
#include "roles.hpp"

namespace campaign {

using namespace ringdrop;

void KindRun::create_ring() {
  const Location where = Location::shm(ring_);
  switch (plan_.kind) {
    case Kind::spsc: {
      (void)Segment::remove(where);
      remove_dead_letters(where);
      RingOptions o;  // max_deliveries: the default, 5 (campaign.hpp, "Poison messages")
      o.capacity = kSpscCapacity;
      SpscProducer::open(where, OpenMode::create, o).value();  // created, and left at once
      break;
    }
    case Kind::mpmc_redeliver:
    case Kind::mpmc_drop: {
      (void)Segment::remove(where);
      MpmcOptions o;
      o.capacity = kMpmcCapacity;
      o.cell_size = kMpmcCell;
      o.on_consumer_death = plan_.kind == Kind::mpmc_drop ? OnConsumerDeath::drop : OnConsumerDeath::redeliver;
      // max_deliveries: the default, 5. A message whose 5 holders were all
      // killed is set aside; check_dead_letters() holds each to that.
      remove_dead_letters(where);
      MpmcProducer::open(where, OpenMode::create, o).value();
      break;
    }
    case Kind::bcast_block:
    case Kind::bcast_overwrite: {
      (void)Segment::remove(where);
      BroadcastOptions o;
      o.capacity = kBroadcastCapacity;
      o.cell_size = kBroadcastCell;
      o.policy = plan_.kind == Kind::bcast_overwrite ? SlowSubscriber::overwrite : SlowSubscriber::block;
      BroadcastPublisher::open(where, OpenMode::create, o).value();
      break;
    }
    case Kind::drop:
      std::filesystem::remove_all(ring_);
      DropChannel::open(ring_, drop_options(true)).value();
      break;
  }
  ring_made_ = true;
}

/// A ring's dead-letter store (its default place), from an earlier run.
void KindRun::remove_dead_letters(const Location& where) {
  std::error_code ec;
  std::filesystem::remove_all(dead_letter_dir(where), ec);
}

void KindRun::read_ring_stats() {
  const Location where = Location::shm(ring_);
  if (plan_.kind == Kind::spsc) {
    fig_.ring_dead_lettered = inspect_spsc(where).value().dead_lettered;
  } else if (is_mpmc(plan_.kind)) {
    auto s = inspect_mpmc(where).value();
    fig_.ring_abandoned = s.abandoned;
    fig_.ring_redelivered = s.redelivered;
    fig_.ring_lost = s.lost;
    fig_.ring_dead_lettered = s.dead_lettered;
  } else if (is_broadcast(plan_.kind)) {
    auto s = inspect_broadcast(where).value();
    fig_.ring_abandoned = s.abandoned;
    fig_.ring_lapped = s.lapped;
    fig_.ring_missed = s.missed;
  }
}

void KindRun::cleanup() {
  if (ring_made_) {
    if (plan_.kind == Kind::drop) {
      std::error_code ec;
      std::filesystem::remove_all(ring_, ec);
    } else {
      remove_dead_letters(Location::shm(ring_));
      (void)Segment::remove(Location::shm(ring_));
    }
    ring_made_ = false;
  }
  ::unlink(board_path_.c_str());
}

}  // namespace campaign
