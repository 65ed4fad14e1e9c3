// check_broadcast.cpp — the check of the broadcast kinds, where every
// subscriber incarnation is owed every message from its join on: in order,
// once, and none missing unless the overwrite policy told it so.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kind_run.hpp"

namespace campaign {

/// Broadcast: whether message `seq` of the publisher, in doubt, was
/// published: the ring number the next publisher to attach started at is
/// past it. Nothing if no publisher attached after.
std::optional<bool> KindRun::doubt_published(uint64_t seq) const {
  const auto it = doubt_ring_.find({0u, seq});
  if (it == doubt_ring_.end()) return std::nullopt;
  const auto [ring_no, dead] = it->second;
  for (const auto& p : procs_) {
    if (p.producer && p.inc > dead && rec(p.inc).attached.load() != 0) return rec(p.inc).first_pos.load() > ring_no;
  }
  return std::nullopt;
}

void KindRun::check_broadcast(const std::vector<Delivery>& log) {
  const uint64_t end = slot_end(0);
  // committed[seq]: certainly committed, or in doubt and seen by someone.
  std::vector<uint8_t> seen(end, 0), committed(end, 0);
  std::map<uint64_t, std::pair<uint64_t, uint32_t>> by_ring;  // ring number -> (seq, first incarnation)
  uint64_t reused = 0;
  std::string reused_example;
  for (const auto& d : log) {
    if (d.lost || d.slot != 0) continue;
    if (d.seq >= end) {
      fail("a delivery of a message never sent: seq " + std::to_string(d.seq));
      continue;
    }
    seen[d.seq] = 1;
    auto [it, fresh] = by_ring.try_emplace(d.ring_no, d.seq, d.inc);
    if (!fresh && it->second.first != d.seq) {
      if (reused++ == 0) {
        reused_example = "ring number " + std::to_string(d.ring_no) + " was seq " + std::to_string(it->second.first) +
                         " for subscriber " + std::to_string(it->second.second) + " and seq " +
                         std::to_string(d.seq) + " for subscriber " + std::to_string(d.inc);
      }
    }
  }
  // A message in doubt was published when the ring's tail passed it: the
  // next publisher to attach starts numbering at the tail it found.
  uint64_t in_doubt_unseen = 0;
  for (uint64_t seq = 0; seq < end; ++seq) {
    if (in_doubt_.count({0u, seq})) {
      ++fig_.in_doubt;
      const auto published = doubt_published(seq);
      if (seen[seq]) ++fig_.in_doubt_seen;
      if (published.value_or(seen[seq] != 0)) {
        committed[seq] = 1;
        ++fig_.committed;
      } else if (!seen[seq]) {
        ++in_doubt_unseen;
      }
    } else {
      committed[seq] = 1;
      ++fig_.committed;
    }
  }
  if (reused) {
    fail(std::to_string(reused) + " deliveries of a ring number that carried another message for another subscriber (a publisher's message overwritten by its successor): " + reused_example);
  }
  // prefix[k] = committed seqs below k, to count those between two.
  std::vector<uint64_t> prefix(end + 1, 0);
  for (uint64_t s = 0; s < end; ++s) prefix[s + 1] = prefix[s] + committed[s];
  const uint64_t ring_end = board_.h().slots[0].ring_next.load();

  std::map<uint32_t, std::vector<const Delivery*>> per;  // incarnation -> its entries, in order
  for (const auto& d : log) per[d.inc].push_back(&d);
  const bool block = plan_.kind == Kind::bcast_block;
  std::vector<std::string> examples;
  auto example = [&](std::string s) {
    if (examples.size() < 6) examples.push_back(std::move(s));
  };
  for (const auto& p : procs_) {
    if (p.producer) continue;
    const IncarnationRec& r = rec(p.inc);
    if (r.attached.load() == 0) continue;
    if (r.lost_first.load()) {
      ++fig_.lost_first_read;
      example("subscriber " + std::to_string(p.inc) + " (started t=" + fmt("%.3f", p.started) +
              ") got message_lost on its first read");
    }
    uint64_t expect = r.first_pos.load();  // ring number of the next message it is owed
    std::optional<uint64_t> prev;          // seq of the last message it got
    uint64_t told = 0;                     // messages it was told it missed since then
    uint64_t lost = 0;
    for (const Delivery* d : per[p.inc]) {
      if (d->lost) {
        fig_.told_missed += d->seq;
        told += d->seq;
        if (d->flags & kFlagOnRelease) {
          expect = d->ring_no + 1;  // it read message ring_no, which was overwritten while held
        } else {
          if (d->ring_no != expect + d->seq) {
            fail("subscriber " + std::to_string(p.inc) + " was told it missed " + std::to_string(d->seq) +
                 " messages from ring number " + std::to_string(expect) + " but goes on at " + std::to_string(d->ring_no));
          }
          expect = d->ring_no;
        }
        continue;
      }
      if (p.final) {  // final messages: check_final; here only the numbering
        if (d->ring_no != expect) {
          fail("final subscriber " + std::to_string(p.inc) + " expected ring number " + std::to_string(expect) +
               " and got " + std::to_string(d->ring_no));
        }
        expect = d->ring_no + 1;
        continue;
      }
      ++fig_.delivered;
      if (d->ring_no != expect) {
        if (d->ring_no > expect && !prev) {
          // Before its first message: owed from its join, never told.
          const uint64_t gap = d->ring_no - expect;
          lost += gap;
          example("subscriber " + std::to_string(p.inc) + " joined at ring number " + std::to_string(expect) +
                  " but its first message is ring number " + std::to_string(d->ring_no));
        } else if (d->ring_no < expect) {
          fail("subscriber " + std::to_string(p.inc) + " went back from ring number " + std::to_string(expect) +
               " to " + std::to_string(d->ring_no));
        }
      }
      expect = d->ring_no + 1;
      if (prev) {
        if (d->seq <= *prev) {
          ++fig_.duplicated;
          example("subscriber " + std::to_string(p.inc) + " got seq " + std::to_string(d->seq) + " after seq " + std::to_string(*prev));
        } else {
          const uint64_t missing = prefix[d->seq] - prefix[*prev + 1];
          if (missing > told) {
            lost += missing - told;
            example("subscriber " + std::to_string(p.inc) + " got seq " + std::to_string(d->seq) + " after seq " +
                    std::to_string(*prev) + ", missing " + std::to_string(missing) + ", told " + std::to_string(told));
          }
        }
      }
      prev = d->seq;
      told = 0;
    }
    // One that drained cleanly is owed everything up to the end.
    if (!p.final && !p.killed && p.exit_code == 0 && expect < ring_end) {
      lost += ring_end - expect;
      example("subscriber " + std::to_string(p.inc) + " drained and left at ring number " + std::to_string(expect) +
              " of " + std::to_string(ring_end));
    }
    fig_.lost += lost;
  }
  // Told missed: counted as lost, and allowed with the overwrite policy;
  // never with block.
  fig_.lost += fig_.told_missed;
  if (!block) fig_.lost_allowed = fig_.told_missed;
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += "\n      " + x;
    return s;
  };
  if (fig_.lost > fig_.lost_allowed) {
    fail(std::to_string(fig_.lost - fig_.lost_allowed) + " messages lost beyond the policy" +
         (block && fig_.told_missed ? " (" + std::to_string(fig_.told_missed) + " of them reported as message_lost, which the block policy never allows)" : std::string()) +
         list(examples));
  } else if (!examples.empty()) {
    note("subscriber events:" + list(examples));
  }
  if (fig_.duplicated) fail(std::to_string(fig_.duplicated) + " duplicate deliveries to a subscriber");
  if (in_doubt_unseen) {
    note(std::to_string(in_doubt_unseen) + " messages whose publisher died inside commit() were never published (the next publisher found the tail before them)");
  }
}

}  // namespace campaign
