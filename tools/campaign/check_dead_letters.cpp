// check_dead_letters.cpp — poison messages (campaign.hpp): the SPSC and MPMC
// (redeliver) rings set a message aside after 5 deliveries; the checker reads
// their dead-letter store and holds each letter to that limit.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kind_run.hpp"
#include "ringdrop/ringdrop.hpp"

namespace campaign {

using namespace ringdrop;

/// SPSC and MPMC: the messages set aside as poison (campaign.hpp, "Poison
/// messages"), each held to its limit: read from the ring's store, checked
/// against the log. Returns them as (slot, seq).
std::set<std::pair<unsigned, uint64_t>> KindRun::check_dead_letters(const std::vector<Delivery>& log,
                                                                  const std::vector<std::vector<uint32_t>>& count) {
  std::set<std::pair<unsigned, uint64_t>> set_aside;
  if (plan_.kind != Kind::spsc && plan_.kind != Kind::mpmc_redeliver) return set_aside;
  constexpr uint32_t kLimit = 5;  // ringdrop's default max_deliveries
  auto store = RingDeadLetters::open(Location::shm(ring_));
  auto letters = store ? store->list() : Result<std::vector<DeadLetter>>(store.error());
  if (!letters) {
    if (letters.error() != errc::not_found) fail("dead letters: " + letters.error().message());
  } else {
    for (const DeadLetter& d : *letters) {
      auto bytes = store->payload(d.id);
      Wire w;
      if (!bytes || !wire_parse(*bytes, plan_.kind, w)) {
        fail("dead letter " + d.id + ": not a whole campaign message");
        continue;
      }
      set_aside.insert({w.slot, w.seq});
      if (d.attempts != kLimit) {
        fail("dead letter " + std::to_string(w.slot) + ":" + std::to_string(w.seq) + " was set aside after " +
             std::to_string(d.attempts) + " deliveries, not " + std::to_string(kLimit) + ": " + d.reason);
      }
      if (w.slot < count.size() && w.seq < count[w.slot].size() && count[w.slot][w.seq] > kLimit) {
        fail("dead letter " + std::to_string(w.slot) + ":" + std::to_string(w.seq) + " was logged delivered " +
             std::to_string(count[w.slot][w.seq]) + " times: more than its limit");
      }
    }
  }
  fig_.dead_lettered = set_aside.size();
  if (fig_.dead_lettered != fig_.ring_dead_lettered) {
    fail("the ring counted " + std::to_string(fig_.ring_dead_lettered) + " dead letters, its store holds " +
         std::to_string(fig_.dead_lettered));
  }
  // Each message's counts rise, stay within the limit, and a set-aside
  // message was never released: each of its holders died holding it.
  std::map<std::pair<unsigned, uint64_t>, uint32_t> last;
  for (const auto& d : log) {
    if (d.lost || d.slot == kFinalSlot) continue;
    const uint32_t n = flags_count(d.flags);
    fig_.highest_count = std::max<uint64_t>(fig_.highest_count, n);
    const std::pair<unsigned, uint64_t> key{d.slot, d.seq};
    const std::string name = std::to_string(d.slot) + ":" + std::to_string(d.seq);
    if (n == 0 || n > kLimit || n <= last[key]) {
      fail("message " + name + " was delivered with count " + std::to_string(n) + " after " +
           std::to_string(last[key]));
    }
    last[key] = n;
    if (set_aside.count(key) && !held_at_kill(d)) {
      fail("message " + name + " was released by consumer " + std::to_string(d.inc) + " and yet set aside");
    }
  }
  return set_aside;
}

}  // namespace campaign
