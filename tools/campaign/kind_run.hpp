// kind_run.hpp — what the files of one kind's run share: KindRun, the
// orchestrator behind run_kind() (run.hpp), with the processes it starts and
// the constants more than one of its files needs. KindRun's members are
// defined by concept, one file each (the sections below name them):
//   run.cpp                 the run from start to end, and small utilities
//   ring.cpp                the ring under test: create, read its counters, remove
//   processes.cpp           the role processes: start, SIGKILL, reap
//   stall.cpp               stalls: no delivery with work waiting
//   phases.cpp              the kill loop, the stop and drain, the final exchange
//   check.cpp               the board's log read back, and the final exchange checked
//   check_queue.cpp         SPSC, MPMC, drop: lost, duplicated, in doubt
//   check_dead_letters.cpp  SPSC, MPMC: messages set aside as poison
//   check_broadcast.cpp     broadcast: each subscriber's messages
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "campaign.hpp"
#include "ringdrop/segment.hpp"
#include "run.hpp"

namespace campaign {

using SteadyClock = std::chrono::steady_clock;

inline constexpr uint64_t kFinalCount = 200;  // messages of the final exchange

struct Shape {
  unsigned producers, consumers, final_consumers;
};

struct Proc {
  bool producer = false;
  bool final = false;
  unsigned slot = 0;       // producer slot, or the consumer's place (0..consumers-1)
  uint32_t inc = 0;        // incarnation
  pid_t pid = -1;          // -1 once reaped
  bool killed = false;     // by the campaign
  int exit_code = -1;      // 128+signal when killed
  double started = 0, ended = -1;
  bool attached = false;   // seen attached (its board record)
};

/// `v` formatted by printf format `f`.
std::string fmt(const char* f, double v);

class KindRun {
 public:
  explicit KindRun(const KindPlan& plan);
  ~KindRun();

  Figures run();

 private:
  // ------------------------------------------------ utilities (run.cpp)

  double now() const;
  void fail(std::string why);
  void note(std::string what);
  void event(std::string what);
  std::string who(const Proc& p) const;
  IncarnationRec& rec(uint32_t inc) const;
  static void sleep_ms(double ms);

  // ----------------------------------------------------- ring (ring.cpp)

  void create_ring();
  static void remove_dead_letters(const ringdrop::Location& where);
  void read_ring_stats();
  void cleanup();

  // -------------------------------------------- processes (processes.cpp)

  Proc& spawn(bool producer, bool final, unsigned slot, uint64_t count = 0);
  std::vector<size_t> running(bool include_final) const;
  void reaped(Proc& p, int status);
  void note_in_doubt(Proc& p);
  void kill9(Proc& p);
  void kill_all();
  std::vector<size_t> poll_exits();

  // --------------------------------------------------- stall (stall.cpp)

  void sample_stall();
  std::string events_around(double from, double to) const;

  // ------------------------------------------------- phases (phases.cpp)

  void campaign_phase();
  void stop_phase();
  void final_phase();

  // --------------------------------------------------- check (check.cpp)

  struct Delivery {
    uint32_t inc, ordinal;
    uint16_t slot, flags;
    uint64_t seq, ring_no;
    bool lost;
    uint64_t index;
  };

  bool held_at_kill(const Delivery& d) const;
  void check();
  void check_final(const std::vector<Delivery>& log);
  uint64_t slot_end(unsigned slot) const;

  // ------------------------------------------ queues (check_queue.cpp)

  void check_queue(const std::vector<Delivery>& log);
  uint64_t published_drop_messages(const std::vector<std::vector<uint32_t>>& count, std::string& example) const;
  void check_in_doubt(uint64_t unseen, const std::vector<std::vector<uint32_t>>* count = nullptr);

  // ------------------------------- dead letters (check_dead_letters.cpp)

  std::set<std::pair<unsigned, uint64_t>> check_dead_letters(const std::vector<Delivery>& log,
                                                           const std::vector<std::vector<uint32_t>>& count);

  // ------------------------------------ broadcast (check_broadcast.cpp)

  std::optional<bool> doubt_published(uint64_t seq) const;
  void check_broadcast(const std::vector<Delivery>& log);

  // -------------------------------------------------------------- members

  KindPlan plan_;
  Shape shape_;
  Rng rng_;
  SteadyClock::time_point t0_;
  Figures fig_;
  std::string ring_, board_path_;
  bool ring_made_ = false;
  Board board_;
  std::vector<Proc> procs_;  // indexed by incarnation
  uint32_t next_inc_ = 0;
  std::set<std::pair<unsigned, uint64_t>> in_doubt_;  // (slot, seq)
  std::map<std::pair<unsigned, uint64_t>, std::string> doubt_ids_;  // drop: in doubt -> message id
  // In doubt -> (broadcast: its ring number, the publisher incarnation that died)
  std::map<std::pair<unsigned, uint64_t>, std::pair<uint64_t, uint32_t>> doubt_ring_;
  std::vector<std::pair<double, std::string>> events_;
  uint64_t last_deliveries_ = 0;
  std::optional<double> stall_start_;
  bool wedge_reported_ = false;
  uint64_t drained_deliveries_ = 0;  // log entries before the final exchange
};

}  // namespace campaign
