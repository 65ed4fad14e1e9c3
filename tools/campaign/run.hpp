// run.hpp — one kind's campaign: run it, check it, and the figures it gives.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "campaign.hpp"

namespace campaign {

struct KindPlan {
  Kind kind = Kind::spsc;
  uint64_t seed = 0;           ///< this kind's seed (derived from the run's)
  uint64_t kills = 0;          ///< SIGKILLs to deliver
  double seconds = 20;         ///< bound of the kill phase (drain and final exchange come after)
  double stall_bound = 5;      ///< no delivery for longer, with work waiting: wedged
  std::string exe;             ///< this program, run again in each role
  bool verbose = false;
  uint64_t op_timeout_ms = 0;  ///< roles' blocking-call timeout; 0: each picks (roles.hpp)
};

/// Seconds a kind's drain and final exchange take, besides its kill phase
/// (KindPlan::seconds).
inline double overhead_of(Kind k) { return k == Kind::drop ? 5 : 3; }

struct Figures {
  Kind kind = Kind::spsc;
  uint64_t seed = 0;
  uint64_t planned_kills = 0;  ///< as planned (KindPlan::kills)
  double phase = 0;            ///< KindPlan::seconds
  uint64_t kills = 0, kills_producer = 0, kills_consumer = 0, processes = 0;
  uint64_t committed = 0;      ///< certainly committed, plus in-doubt messages that were delivered
  uint64_t in_doubt = 0;       ///< producer killed inside commit(): may or may not be committed
  uint64_t in_doubt_seen = 0;  ///< of those, delivered (so committed)
  uint64_t delivered = 0;      ///< deliveries, duplicates included
  uint64_t duplicated = 0;     ///< deliveries beyond the first of a message (broadcast: per subscriber)
  uint64_t dup_allowed = 0;    ///< of those, explained by the policy (held when their consumer died)
  uint64_t lost = 0;           ///< committed, not delivered (broadcast: to a subscriber it was promised to)
  uint64_t lost_allowed = 0;   ///< of those, allowed: MPMC drop: the ring's `lost`; overwrite: told missed
  uint64_t told_missed = 0;    ///< broadcast: sum of last_missed over message_lost results
  uint64_t lost_first_read = 0;///< broadcast: subscribers whose first read was message_lost
  uint64_t held_at_kill = 0;   ///< deliveries whose consumer died before releasing / acking
  uint64_t late = 0;           ///< campaign messages first delivered in the final exchange
  uint64_t dead_lettered = 0;  ///< SPSC, MPMC: messages set aside as poison (found in the store)
  uint64_t highest_count = 0;  ///< SPSC, MPMC: the highest delivery_count() a consumer was given
  // The ring's own counters at the end.
  uint64_t ring_abandoned = 0, ring_redelivered = 0, ring_lost = 0, ring_lapped = 0, ring_missed = 0,
           ring_dead_lettered = 0;
  double longest_stall = 0;    ///< seconds
  double stall_at = 0;         ///< when it began, seconds into the kind's run
  double seconds = 0;          ///< the kind's whole run
  bool final_ok = false;       ///< the final clean exchange worked
  bool ok = false;
  std::vector<std::string> failures;  ///< each a reason the kind failed
  std::vector<std::string> notes;     ///< worth knowing, not failures
};

Figures run_kind(const KindPlan& plan);

/// Set by SIGINT/SIGTERM: the kind running stops, kills its roles and
/// removes its ring and board (and reports itself failed).
extern volatile int g_interrupted;

}  // namespace campaign
