// check_queue.cpp — the check of the queue kinds (SPSC, MPMC, the drop
// channel), where each message goes to one consumer: every committed message
// delivered, duplicates only where the policy allows, and the messages in
// doubt settled as far as the kind can tell.
#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "kind_run.hpp"

namespace campaign {

void KindRun::check_queue(const std::vector<Delivery>& log) {
  std::vector<std::vector<uint32_t>> count(shape_.producers), held(shape_.producers);
  std::vector<std::vector<uint8_t>> lease_lost(shape_.producers);
  for (unsigned s = 0; s < shape_.producers; ++s) {
    count[s].assign(slot_end(s), 0);
    held[s].assign(slot_end(s), 0);
    lease_lost[s].assign(slot_end(s), 0);
  }
  uint64_t phantom = 0;
  std::string phantom_example;
  for (const auto& d : log) {
    if (d.lost || d.slot == kFinalSlot) continue;
    if (d.slot >= shape_.producers || d.seq >= count[d.slot].size()) {
      if (phantom++ == 0) phantom_example = "slot " + std::to_string(d.slot) + " seq " + std::to_string(d.seq);
      continue;
    }
    ++fig_.delivered;
    ++count[d.slot][d.seq];
    if (held_at_kill(d)) {
      ++held[d.slot][d.seq];
      ++fig_.held_at_kill;
    }
    if (d.flags & kFlagLeaseLost) lease_lost[d.slot][d.seq] = 1;
    if (d.index >= drained_deliveries_ && procs_[d.inc].final) ++fig_.late;
  }
  if (phantom) fail(std::to_string(phantom) + " deliveries of messages never sent, e.g. " + phantom_example);
  const auto set_aside = check_dead_letters(log, count);
  const bool dups_allowed = plan_.kind != Kind::mpmc_drop;
  std::vector<std::string> lost_examples, dup_examples;
  uint64_t in_doubt_unseen = 0;
  for (unsigned s = 0; s < shape_.producers; ++s) {
    for (uint64_t seq = 0; seq < count[s].size(); ++seq) {
      const uint32_t c = count[s][seq];
      if (in_doubt_.count({s, seq})) {
        ++fig_.in_doubt;
        if (c > 0) ++fig_.in_doubt_seen, ++fig_.committed;
        else ++in_doubt_unseen;
      } else {
        ++fig_.committed;
        if (c == 0 && !set_aside.count({s, seq})) {
          ++fig_.lost;
          if (lost_examples.size() < 8) lost_examples.push_back(std::to_string(s) + ":" + std::to_string(seq));
        }
      }
      if (c > 1) {
        fig_.duplicated += c - 1;
        uint64_t excused = dups_allowed ? std::min<uint64_t>(c - 1, held[s][seq] + lease_lost[s][seq]) : 0;
        fig_.dup_allowed += excused;
        if (excused < c - 1 && dup_examples.size() < 8) {
          dup_examples.push_back(std::to_string(s) + ":" + std::to_string(seq) + " x" + std::to_string(c));
        }
      }
    }
  }
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  // What the policy allows to be lost.
  if (plan_.kind == Kind::mpmc_drop) {
    fig_.lost_allowed = std::min(fig_.lost, fig_.ring_lost);
    if (fig_.ring_lost > fig_.lost + fig_.held_at_kill) {
      note("the ring counted " + std::to_string(fig_.ring_lost) + " lost, more than the " +
           std::to_string(fig_.lost) + " never delivered plus the " + std::to_string(fig_.held_at_kill) +
           " held by consumers when they died");
    }
  }
  if (fig_.lost > fig_.lost_allowed) {
    fail(std::to_string(fig_.lost - fig_.lost_allowed) + " committed messages lost beyond the policy (" +
         std::to_string(fig_.lost) + " never delivered, " + std::to_string(fig_.lost_allowed) +
         " allowed), e.g. slot:seq " + list(lost_examples));
  }
  if (fig_.duplicated > fig_.dup_allowed) {
    fail(std::to_string(fig_.duplicated - fig_.dup_allowed) + " duplicate deliveries beyond the policy (" +
         std::to_string(fig_.duplicated) + " in all), e.g. slot:seq " + list(dup_examples));
  }
  if (plan_.kind == Kind::mpmc_redeliver && fig_.duplicated > fig_.ring_redelivered) {
    fail(std::to_string(fig_.duplicated) + " duplicates but the ring redelivered only " +
         std::to_string(fig_.ring_redelivered));
  }
  check_in_doubt(in_doubt_unseen, &count);
  if (fig_.late) note(std::to_string(fig_.late) + " campaign messages were first delivered in the final exchange (after the drain)");
}

/// Drop channel: of the messages in doubt never delivered, those whose
/// tmp/<id>.tmp is still there were never published (the rename into new/
/// moves it); the others were published, and then lost.
uint64_t KindRun::published_drop_messages(const std::vector<std::vector<uint32_t>>& count, std::string& example) const {
  uint64_t published = 0;
  for (const auto& [key, id] : doubt_ids_) {
    const auto& [slot, seq] = key;
    if (seq >= count[slot].size() || count[slot][seq] != 0) continue;
    std::error_code ec;
    if (!std::filesystem::exists(ring_ + "/tmp/" + id + ".tmp", ec)) {
      if (published++ == 0) example = id + " (slot " + std::to_string(slot) + " seq " + std::to_string(seq) + ")";
    }
  }
  return published;
}

void KindRun::check_in_doubt(uint64_t unseen, const std::vector<std::vector<uint32_t>>* count) {
  if (unseen == 0) return;
  if (plan_.kind == Kind::drop) {
    std::string example;
    const uint64_t published = published_drop_messages(*count, example);
    if (published) {
      fig_.lost += published;
      fail(std::to_string(published) + " messages whose producer died inside commit() left tmp/ (so were published) and were never delivered, e.g. " + example);
    }
    return;
  }
  if (is_mpmc(plan_.kind)) {
    // A record whose producer died before publishing it is counted
    // abandoned by the ring (so are reservations of producers killed
    // before commit: this is a bound). More unseen messages in doubt than
    // that were published, and then lost; with the drop policy the ring's
    // `lost` may cover them (a consumer died holding one).
    const uint64_t excess = unseen > fig_.ring_abandoned ? unseen - fig_.ring_abandoned : 0;
    const uint64_t room = plan_.kind == Kind::mpmc_drop && fig_.ring_lost > fig_.lost ? fig_.ring_lost - fig_.lost : 0;
    if (excess > room) {
      fig_.lost += excess - room;
      fail(std::to_string(unseen) + " messages whose producer died inside commit() were never delivered, but the ring counted only " +
           std::to_string(fig_.ring_abandoned) + " abandoned" + (room ? " and " + std::to_string(room) + " more lost" : std::string()) +
           ": " + std::to_string(excess - room) + " were published and lost");
    } else if (excess) {
      fig_.lost_allowed += excess;
      fig_.lost += excess;
    }
  } else {
    note(std::to_string(unseen) + " messages whose producer died inside commit() were never delivered: never published (or lost; this kind has no counter to tell)");
  }
}

}  // namespace campaign
