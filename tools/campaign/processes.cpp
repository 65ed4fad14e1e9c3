// processes.cpp — the role processes of one kind's campaign: each started as
// this program again (roles.hpp), SIGKILLed and reaped, or reaped when it
// ends on its own; a producer's death leaves its slot on the board, read here
// for a message in doubt (campaign.hpp).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kind_run.hpp"

extern char** environ;

namespace campaign {

Proc& KindRun::spawn(bool producer, bool final, unsigned slot, uint64_t count) {
  if (next_inc_ >= kMaxIncarnations) throw std::runtime_error("too many processes for the board");
  Proc p;
  p.producer = producer;
  p.final = final;
  p.slot = slot;
  p.inc = next_inc_++;
  p.started = now();
  const std::string role = std::string(final ? "final-" : "") + (producer ? "producer" : "consumer");
  std::vector<std::string> args = {plan_.exe, "--role", role, "--kind", kind_name(plan_.kind),
                                   "--ring", ring_, "--board", board_path_, "--slot",
                                   std::to_string(slot), "--incarnation", std::to_string(p.inc),
                                   "--seed", std::to_string(mix(plan_.seed ^ p.inc)), "--count",
                                   std::to_string(count), "--timeout-ms",
                                   std::to_string(final ? 100 : plan_.op_timeout_ms)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);  // stdout is the report's
  const int rc = ::posix_spawn(&p.pid, plan_.exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("posix_spawn failed");
  ++fig_.processes;
  procs_.push_back(p);
  event("start " + who(procs_.back()));
  return procs_.back();
}

std::vector<size_t> KindRun::running(bool include_final) const {
  std::vector<size_t> r;
  for (size_t i = 0; i < procs_.size(); ++i) {
    if (procs_[i].pid > 0 && (include_final || !procs_[i].final)) r.push_back(i);
  }
  return r;
}

void KindRun::reaped(Proc& p, int status) {
  p.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  p.ended = now();
  event((p.killed ? "killed " : "exit " + std::to_string(p.exit_code) + " ") + who(p));
  p.pid = -1;
}

/// Producer slot state after its process died: a message in doubt?
void KindRun::note_in_doubt(Proc& p) {
  if (!p.producer) return;
  const ProducerSlot& s = board_.h().slots[p.slot];
  const uint64_t in_commit = s.in_commit.load(), next = s.next_seq.load();
  if (in_commit != 0 && in_commit - 1 >= next) {
    // The first incarnation to die with this message in hand (a successor
    // killed while starting finds the same record).
    doubt_ring_.try_emplace({p.slot, in_commit - 1}, s.ring_next.load(), p.inc);
    if (plan_.kind == Kind::drop) {
      char id[sizeof s.pending_id];
      std::memcpy(id, s.pending_id, sizeof id);
      id[sizeof id - 1] = 0;
      doubt_ids_[{p.slot, in_commit - 1}] = id;
    }
    if (in_doubt_.insert({p.slot, in_commit - 1}).second) {
      event("  in doubt: slot " + std::to_string(p.slot) + " seq " + std::to_string(in_commit - 1));
    }
  }
}

void KindRun::kill9(Proc& p) {
  p.killed = true;
  ::kill(p.pid, SIGKILL);
  int status = 0;
  ::waitpid(p.pid, &status, 0);
  reaped(p, status);
  note_in_doubt(p);
}

void KindRun::kill_all() {
  for (auto& p : procs_) {
    if (p.pid > 0) {
      fail("still running at the end, killed: " + who(p));
      kill9(p);
    }
  }
}

/// Reaps processes that ended on their own. Returns those that did.
std::vector<size_t> KindRun::poll_exits() {
  std::vector<size_t> ended;
  for (size_t i = 0; i < procs_.size(); ++i) {
    Proc& p = procs_[i];
    if (p.pid <= 0) continue;
    int status = 0;
    if (::waitpid(p.pid, &status, WNOHANG) == p.pid) {
      const std::string name = who(p);
      reaped(p, status);
      note_in_doubt(p);
      if (p.exit_code != 0) fail(name + " exited with code " + std::to_string(p.exit_code) + " (its stderr says why)");
      ended.push_back(i);
    }
  }
  return ended;
}

}  // namespace campaign
