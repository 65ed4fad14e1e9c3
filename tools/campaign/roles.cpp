// roles.cpp — the producer and consumer processes of a campaign (roles.hpp).
// Every step that matters to the checker is stored to the board before or
// after the ring call it brackets; campaign.hpp says why in that order.
#include "roles.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "campaign.hpp"
#include "ringdrop/ringdrop.hpp"

using namespace ringdrop;
using namespace std::chrono;

namespace campaign {

ringdrop::DropOptions drop_options(bool create) {
  DropOptions o;
  o.create = create;
  o.durable = false;  // processes are killed, not the machine
  o.lease = kDropLease;
  o.scan_interval = milliseconds(100);
  o.retry_backoff = milliseconds(5);
  o.retry_backoff_max = milliseconds(50);
  o.max_attempts = 1000;  // never a dead letter: a kill is not the message's fault
  return o;
}

namespace {

struct RoleArgs {
  std::string role, ring, board;
  Kind kind = Kind::spsc;
  unsigned slot = 0;
  uint32_t incarnation = 0;
  uint64_t seed = 1, count = 0;
  uint64_t timeout_ms = 0;  ///< of each blocking call; 0: this incarnation picks one
  bool final_role() const { return role == "final-producer" || role == "final-consumer"; }
};

RoleArgs g_args;  // for messages

[[noreturn]] void die(const std::string& what, std::error_code ec = {}) {
  std::fprintf(stderr, "campaign %s %s slot %u incarnation %u (pid %d): %s%s%s%s%s\n",
               kind_name(g_args.kind), g_args.role.c_str(), g_args.slot, g_args.incarnation,
               static_cast<int>(::getpid()), what.c_str(), ec ? ": " : "",
               ec ? ec.message().c_str() : "", ec && !last_error_detail().empty() ? " — " : "",
               ec ? last_error_detail().c_str() : "");
  std::exit(1);
}

void pause_us(uint64_t us) {
  if (us == 0) return;
  timespec ts{static_cast<time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000) * 1000};
  while (::nanosleep(&ts, &ts) != 0) {
  }
}

// Keeps the compiler from moving the ring call across a board store (the
// board is only read after this process is dead or has left, so ordering
// against the CPU is already given by the kill).
inline void fence() { std::atomic_signal_fence(std::memory_order_seq_cst); }

/// Opens with `open`, retrying role_taken (a killed predecessor's role is
/// free once it is reaped, but be patient with a slow kernel) for 3 s.
template <class F>
auto open_retrying(F open, const char* what) {
  const auto give_up = steady_clock::now() + seconds(3);
  for (;;) {
    auto h = open();
    if (h) return std::move(*h);
    if (h.error() != errc::role_taken || steady_clock::now() > give_up) die(what, h.error());
    pause_us(1000);
  }
}

MpmcOptions mpmc_options() {
  MpmcOptions o;  // capacity 0, cell 0: whatever the ring has
  return o;
}

// ============================================================== producers

struct ProducerState {
  Board& board;
  ProducerSlot& slot;
  IncarnationRec& me;
  uint64_t seq = 0;
  Rng rng;
  uint64_t burst = 0;
};

ProducerState start_producer(Board& board) {
  ProducerSlot& slot = board.h().slots[g_args.slot];
  IncarnationRec& me = board.h().incarnations[g_args.incarnation];
  uint64_t seq = slot.next_seq.load();
  const uint64_t in_commit = slot.in_commit.load();
  // A predecessor died inside commit(): that message is in doubt and its seq
  // is never used again (campaign.hpp).
  if (in_commit != 0 && in_commit - 1 >= seq) seq = in_commit;
  slot.next_seq.store(seq);  // before clearing in_commit: a kill in between leaves no doubt
  fence();
  slot.in_commit.store(0);
  slot.in_reserve.store(0);
  me.seq_start.store(seq);
  return ProducerState{board, slot, me, seq, Rng(mix(g_args.seed) ^ g_args.incarnation), 0};
}

bool keep_producing(ProducerState& p, uint64_t sent) {
  if (g_args.final_role()) return sent < g_args.count;
  return p.board.h().stop_producers.load() == 0;
}

void pace(ProducerState& p) {
  if (g_args.final_role()) {
    // An overwriting ring laps a subscriber that falls a ring behind: give
    // the final subscribers time to keep up.
    if (g_args.kind == Kind::bcast_overwrite) pause_us(200);
    return;
  }
  if (p.burst == 0) {
    pause_us(p.rng.between(0, 2500));
    // Mostly short bursts; now and then a flood that fills the ring and
    // keeps it full (producers wait for room, subscribers are lapped).
    p.burst = p.rng.chance(8) ? p.rng.between(200, 2000) : p.rng.between(1, 40);
    // An overwriting publisher never waits: its floods are short, or the
    // subscribers would do little but be lapped.
    if (g_args.kind == Kind::bcast_overwrite && p.burst > 40) p.burst = p.rng.between(50, 300);
    if (g_args.kind == Kind::drop) {
      // A file per message: a rate the consumers keep up with, floods too,
      // but short ones.
      pause_us(p.rng.between(1000, 8000));
      p.burst = p.rng.chance(5) ? p.rng.between(50, 300) : p.rng.between(1, 8);
    }
  }
  --p.burst;
}

uint64_t message_size(Rng& rng, uint64_t max) { return rng.between(kMinMessage, max); }

/// The commit of message p.seq, bracketed by its board records.
template <class Commit>
void committed(ProducerState& p, Commit commit) {
  p.slot.in_commit.store(p.seq + 1);
  fence();
  commit();
  fence();
  p.slot.next_seq.store(p.seq + 1);
  p.slot.in_commit.store(0);
  p.slot.commits.fetch_add(1);
  p.board.h().commits.fetch_add(1);
  ++p.seq;
}

template <class Tx>
int produce_ring(Tx& tx, Board& board, uint64_t max_size, bool numbered) {
  ProducerState p = start_producer(board);
  // The broadcast ring's message number: a new publisher starts at the ring's
  // tail (what its predecessors published) and numbers on from there.
  uint64_t ring_no = 0;
  if constexpr (std::is_same_v<Tx, BroadcastPublisher>) ring_no = tx.stats().messages_committed;
  p.slot.ring_next.store(ring_no);
  p.me.first_pos.store(ring_no);
  p.me.attached.store(1);
  for (uint64_t sent = 0; keep_producing(p, sent); ++sent) {
    const uint64_t size = message_size(p.rng, max_size);
    Result<std::span<std::byte>> span = errc::timed_out;
    for (;;) {
      p.slot.in_reserve.store(1);
      span = tx.reserve(size, milliseconds(g_args.timeout_ms));
      p.slot.in_reserve.store(0);
      if (span) break;
      if (span.error() != errc::timed_out && span.error() != errc::peer_gone) die("reserve", span.error());
      if (!keep_producing(p, sent)) return 0;
      if (span.error() == errc::peer_gone) pause_us(1000);  // no consumer now: one is restarting
    }
    wire_fill(span->first(size), g_args.kind, static_cast<uint16_t>(g_args.slot), g_args.incarnation,
              p.seq, numbered ? ring_no : 0);
    committed(p, [&] {
      if (auto ec = tx.commit(size)) die("commit", ec);
    });
    if (numbered) p.slot.ring_next.store(++ring_no);
    pace(p);
  }
  return 0;
}

int produce_drop(Board& board) {
  auto ch = DropChannel::open(g_args.ring, drop_options(false));
  if (!ch) die("open channel " + g_args.ring, ch.error());
  ProducerState p = start_producer(board);
  p.me.attached.store(1);
  std::vector<std::byte> buf;
  for (uint64_t sent = 0; keep_producing(p, sent); ++sent) {
    // Back-pressure: a consumer's full scan lists new/ and costs time in
    // proportion to it; past a few thousand files (fewer under a sanitizer)
    // consumers spend their time scanning (roles.hpp). Keep the backlog to
    // what a channel in service would hold, and test crashes, not that.
    while (!g_args.final_role() && sent % 16 == 0 && keep_producing(p, sent)) {
      auto counts = ch->counts();
      if (!counts) die("counts", counts.error());
      if (counts->ready + counts->claimed < kDropBacklog) break;
      pause_us(10000);
    }
    buf.resize(message_size(p.rng, kDropMaxMessage));
    wire_fill(buf, g_args.kind, static_cast<uint16_t>(g_args.slot), g_args.incarnation, p.seq, 0);
    const DropHeaders headers{{"idempotency-key", "m" + std::to_string(g_args.slot) + "-" + std::to_string(p.seq)}};
    // publish() is begin_publish + write + commit; split, so the id is known
    // before the commit (the rename into new/) that may be cut short.
    auto w = ch->begin_publish(headers);
    if (!w) die("begin_publish", w.error());
    if (auto ec = w->write(buf)) die("write", ec);
    const std::string& id = w->id();
    if (id.size() >= sizeof p.slot.pending_id) die("message id too long: " + id);
    std::memcpy(p.slot.pending_id, id.c_str(), id.size() + 1);
    committed(p, [&] {
      auto published = w->commit();
      if (!published) die("publish", published.error());
    });
    pace(p);
  }
  return 0;
}

// ============================================================== consumers

struct ConsumerState {
  Board& board;
  IncarnationRec& me;
  uint32_t ordinal = 0;
  Rng rng;
  std::vector<bool> final_seen;
  uint64_t final_count = 0;
  steady_clock::time_point give_up;
};

ConsumerState start_consumer(Board& board) {
  ConsumerState c{board, board.h().incarnations[g_args.incarnation], 0,
                  Rng(mix(g_args.seed) ^ (uint64_t{g_args.incarnation} << 20)), {}, 0,
                  steady_clock::now() + seconds(15)};
  if (g_args.final_role()) c.final_seen.assign(g_args.count, false);
  return c;
}

/// Appends a delivery (a full log is an error: the figures would be short).
void record_delivery(ConsumerState& c, const Wire& w, uint64_t ring_no, uint16_t flags) {
  Entry* e = c.board.append();
  if (e == nullptr) die("the board's log is full");
  e->incarnation = g_args.incarnation;
  e->ordinal = c.ordinal;
  e->slot = w.slot;
  e->flags = flags;
  e->seq = w.seq;
  e->ring_no = ring_no;
  e->type.store(static_cast<uint32_t>(EntryType::delivered), std::memory_order_release);
  c.me.delivered.store(c.ordinal + 1);
  c.board.h().deliveries.fetch_add(1);
  if (w.slot == kFinalSlot && w.seq < c.final_seen.size() && !c.final_seen[w.seq]) {
    c.final_seen[w.seq] = true;
    ++c.final_count;
  }
}

void record_released(ConsumerState& c) {
  fence();
  c.me.released.store(++c.ordinal);
}

void record_lost(ConsumerState& c, uint64_t missed, uint64_t position, uint16_t flags) {
  Entry* e = c.board.append();
  if (e == nullptr) die("the board's log is full");
  e->incarnation = g_args.incarnation;
  e->ordinal = c.ordinal;
  e->slot = 0;
  e->flags = flags;
  e->seq = missed;
  e->ring_no = position;
  e->type.store(static_cast<uint32_t>(EntryType::lost), std::memory_order_release);
}

/// Whether the consumer is done: a final consumer when it has every final
/// message (or gives up: exit 3), a campaign consumer when the producers
/// are all gone and the ring said so (`drained`).
bool consumer_done(ConsumerState& c, bool drained, int& code) {
  if (g_args.final_role()) {
    if (c.final_count == g_args.count) return code = 0, true;
    if (steady_clock::now() > c.give_up) {
      std::fprintf(stderr, "campaign %s final-consumer incarnation %u: %llu of %llu final messages\n",
                   kind_name(g_args.kind), g_args.incarnation,
                   static_cast<unsigned long long>(c.final_count),
                   static_cast<unsigned long long>(g_args.count));
      return code = 3, true;
    }
    return false;
  }
  if (drained && c.board.h().producers_done.load() != 0) return code = 0, true;
  return false;
}

/// Now and then a consumer dawdles, so rings fill, publishers wait and
/// subscribers of an overwriting ring are lapped; half the time it does so
/// holding the message it just read (before release or ack), so that some
/// kills find a consumer holding one.
void consumer_pause(ConsumerState& c, bool slow) {
  if (g_args.final_role()) return;
  if (c.rng.chance(slow ? 3 : 2)) pause_us(c.rng.between(100, slow ? 10000 : 4000));
}

template <class Rx>
int consume_ring(Rx& rx, Board& board) {
  constexpr bool kBroadcast = std::is_same_v<Rx, BroadcastSubscriber>;
  ConsumerState c = start_consumer(board);
  if constexpr (kBroadcast) {
    c.me.first_pos.store(rx.position());
    c.me.next_pos.store(rx.position());
  }
  c.me.attached.store(1);
  const bool overwrite = g_args.kind == Kind::bcast_overwrite;
  std::vector<std::byte> copy;
  bool first_read = true;
  int code = 0;
  for (;;) {
    auto view = rx.read(milliseconds(g_args.timeout_ms));
    c.me.reads.fetch_add(1);
    if (!view) {
      const auto ec = view.error();
      if (ec == errc::timed_out || ec == errc::peer_gone) {
        if (consumer_done(c, ec == errc::peer_gone, code)) return code;
        if (ec == errc::peer_gone) pause_us(1000);  // a producer is restarting
        continue;
      }
      if constexpr (kBroadcast) {
        if (ec == errc::message_lost) {
          if (first_read) c.me.lost_first.store(1);
          first_read = false;
          record_lost(c, rx.last_missed(), rx.position(), 0);
          c.me.next_pos.store(rx.position());
          continue;
        }
      }
      die("read", ec);
    }
    first_read = false;
    std::span<const std::byte> msg = *view;
    bool released = false;
    uint64_t ring_no = 0;
    if constexpr (kBroadcast) {
      ring_no = rx.position() - 1;
      if (overwrite) {  // the view may be overwritten under us: copy, then ask release()
        copy.assign(msg.begin(), msg.end());
        msg = copy;
        released = true;
        if (auto ec = rx.release()) {
          if (ec != errc::message_lost) die("release", ec);
          record_lost(c, 1, ring_no, kFlagOnRelease);
          c.me.next_pos.store(rx.position());
          continue;
        }
      }
    }
    Wire w;
    if (!wire_parse(msg, g_args.kind, w)) {
      die("a damaged message of " + std::to_string(msg.size()) + " bytes (ring number " +
          std::to_string(ring_no) + ")");
    }
    if (kBroadcast && w.ring_no != ring_no) {
      die("message seq " + std::to_string(w.seq) + " of publisher incarnation " +
          std::to_string(w.incarnation) + " was published as ring number " + std::to_string(w.ring_no) +
          " and read as " + std::to_string(ring_no));
    }
    uint16_t flags = 0;
    if constexpr (!kBroadcast) flags = count_flags(rx.delivery_count());
    record_delivery(c, w, ring_no, flags);
    if (!released) {
      consumer_pause(c, false);  // holding it
      if (auto ec = rx.release()) die("release", ec);
    }
    record_released(c);
    if constexpr (kBroadcast) c.me.next_pos.store(rx.position());
    if (consumer_done(c, false, code)) return code;
    consumer_pause(c, overwrite);
  }
}

int consume_drop(Board& board) {
  auto ch = DropChannel::open(g_args.ring, drop_options(false));
  if (!ch) die("open channel " + g_args.ring, ch.error());
  auto rx = DropConsumer::open(*ch);
  if (!rx) die("open consumer", rx.error());
  ConsumerState c = start_consumer(board);
  c.me.attached.store(1);
  int code = 0;
  unsigned empty_looks = 0;
  for (;;) {
    auto claim = rx->claim(milliseconds(g_args.timeout_ms));
    c.me.reads.fetch_add(1);
    if (!claim) {
      if (claim.error() != errc::timed_out) die("claim", claim.error());
      // Drained: nothing ready, claimed (a dead consumer's lease runs out
      // first), retrying or incoming, twice in a row.
      bool drained = false;
      if (!g_args.final_role() && board.h().producers_done.load() != 0) {
        auto counts = ch->counts();
        if (!counts) die("counts", counts.error());
        const uint64_t pending = counts->incoming + counts->ready + counts->claimed + counts->retrying;
        empty_looks = pending == 0 ? empty_looks + 1 : 0;
        drained = empty_looks >= 2;
      }
      if (consumer_done(c, drained, code)) return code;
      continue;
    }
    auto data = claim->read();
    if (!data) die("read claim " + claim->id(), data.error());
    Wire w;
    if (!wire_parse(*data, g_args.kind, w)) {
      die("a damaged message of " + std::to_string(data->size()) + " bytes in " + claim->id());
    }
    const uint16_t flags = claim->attempt() > 1 ? kFlagRedelivery : 0;
    const uint32_t ordinal = c.ordinal;
    record_delivery(c, w, 0, flags);
    consumer_pause(c, false);  // holding the claim
    if (auto ec = claim->ack()) {
      if (ec != errc::lease_lost) die("ack " + claim->id(), ec);
      // Still delivered; the other copy is skipped as processed. Noted, so a
      // second delivery of it is explained.
      const uint64_t n = board.h().log_next.load();
      for (uint64_t i = n; i-- > 0;) {
        Entry& e = board.log()[i];
        if (e.incarnation == g_args.incarnation && e.ordinal == ordinal) {
          e.flags |= kFlagLeaseLost;
          break;
        }
      }
    }
    record_released(c);
    if (consumer_done(c, false, code)) return code;
    consumer_pause(c, false);
  }
}

// ============================================================== dispatch

RoleArgs parse(int argc, char** argv) {
  RoleArgs a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) die("flag " + flag + " needs a value");
    const std::string v = argv[++i];
    if (flag == "--role") a.role = v;
    else if (flag == "--kind") {
      if (!kind_named(v, a.kind)) die("unknown kind " + v);
    } else if (flag == "--ring") a.ring = v;
    else if (flag == "--board") a.board = v;
    else if (flag == "--slot") a.slot = static_cast<unsigned>(std::stoul(v));
    else if (flag == "--incarnation") a.incarnation = static_cast<uint32_t>(std::stoul(v));
    else if (flag == "--seed") a.seed = std::stoull(v);
    else if (flag == "--count") a.count = std::stoull(v);
    else if (flag == "--timeout-ms") a.timeout_ms = std::stoull(v);
    else die("unknown role flag " + flag);
  }
  if (a.slot >= kMaxSlots || a.incarnation >= kMaxIncarnations) die("slot or incarnation out of range");
  if (a.timeout_ms == 0) {
    // Mostly 100 ms; a quarter of the incarnations wait in short slices
    // (below the 50 ms liveness interval), as a polling caller does.
    Rng rng(mix(a.seed ^ 0x7173));
    a.timeout_ms = rng.chance(25) ? rng.between(1, 40) : 100;
  }
  return a;
}

int run_producer(Board& board) {
  const Location where = Location::shm(g_args.ring);
  switch (g_args.kind) {
    case Kind::spsc: {
      auto tx = open_retrying([&] { return SpscProducer::open(where, OpenMode::open); }, "open SPSC producer");
      return produce_ring(tx, board, kSpscMaxMessage, false);
    }
    case Kind::mpmc_redeliver:
    case Kind::mpmc_drop: {
      auto tx = open_retrying([&] { return MpmcProducer::open(where, OpenMode::open, mpmc_options()); },
                              "open MPMC producer");
      return produce_ring(tx, board, tx.max_message_size(), false);
    }
    case Kind::bcast_block:
    case Kind::bcast_overwrite: {
      auto tx = open_retrying([&] { return BroadcastPublisher::open(where, OpenMode::open); },
                              "open publisher");
      return produce_ring(tx, board, tx.max_message_size(), true);
    }
    case Kind::drop:
      return produce_drop(board);
  }
  return 1;
}

int run_consumer(Board& board) {
  const Location where = Location::shm(g_args.ring);
  switch (g_args.kind) {
    case Kind::spsc: {
      auto rx = open_retrying([&] { return SpscConsumer::open(where, OpenMode::open); }, "open SPSC consumer");
      return consume_ring(rx, board);
    }
    case Kind::mpmc_redeliver:
    case Kind::mpmc_drop: {
      auto rx = open_retrying([&] { return MpmcConsumer::open(where, OpenMode::open, mpmc_options()); },
                              "open MPMC consumer");
      return consume_ring(rx, board);
    }
    case Kind::bcast_block:
    case Kind::bcast_overwrite: {
      auto rx = open_retrying(
          [&] { return BroadcastSubscriber::open(where, OpenMode::open, {}, StartAt::newest); },
          "open subscriber");
      return consume_ring(rx, board);
    }
    case Kind::drop:
      return consume_drop(board);
  }
  return 1;
}

}  // namespace

int run_role(int argc, char** argv) {
  g_args = parse(argc, argv);
  Board board = Board::open(g_args.board);
  // Killed with the orchestrator (a ctest timeout, ^C), never left running.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (static_cast<uint64_t>(::getppid()) != board.h().orchestrator) die("the orchestrator is gone");
  if (g_args.role == "producer" || g_args.role == "final-producer") return run_producer(board);
  if (g_args.role == "consumer" || g_args.role == "final-consumer") return run_consumer(board);
  die("unknown role " + g_args.role);
}

}  // namespace campaign
