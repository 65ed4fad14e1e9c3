// ringdrop-demo — the project's story in one command (README.md here):
//
//   COBOL batch job --files--> C++ order service --broadcast ring--> Python subscriber
//   (batch_orders)   (drop     (ringdrop-order-    (events)       --> C subscriber
//                    channel)   service)
//
//   ringdrop-demo [--ticks N] [--keep]
//
// The orchestrator: makes a drop channel (a fresh directory under $TMPDIR or
// /tmp) and a broadcast ring (block policy: the publisher waits for the
// slowest subscriber, so nothing is lost), starts the two subscribers and
// waits until each says it is subscribed, then the service and waits until
// it consumes and publishes, then runs the COBOL job. It relays the job's
// output, collects each program's result line, checks them against each
// other and against the channel, and prints what crossed each boundary and
// how fast. Synchronisation is the programs' own "ready" lines and exits,
// read with poll() under an overall deadline: no sleeps.
//
// Each child but the COBOL job reports on a pipe it gets as fd 3
// (--status-fd 3): "ready", then "result key=value ...". The COBOL job's
// stdout is a pipe too: its last line says how many files it dropped.
//
// --ticks: events in the throughput stream after the batch (default
// 100000). --keep: leave the channel directory (with its dead letters)
// instead of removing it. Exit status 0 only when every check passed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "demo_event.h"
#include "ringdrop/ringdrop.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;

#ifndef RINGDROP_DEMO_SERVICE  // set by CMakeLists.txt: where the pieces are
#error "RINGDROP_DEMO_* paths not defined"
#endif

namespace {

constexpr auto kReadyTimeout = 30s;   // bounds for broken programs, never reached
constexpr auto kRunTimeout = 180s;    // by working ones
constexpr int kStatusFd = 3;
constexpr uint32_t kCellSize = 128;   // an 80-byte event per cell (and its 16-byte header)
constexpr uint64_t kRingBytes = 128 * 1024;  // 1024 cells

using Result_ = std::map<std::string, std::string>;

struct Child {
  std::string tag;           // "python", "c", "service", "cobol"
  bool relays_stdout = false;  // the COBOL job: fd is its stdout
  pid_t pid = -1;
  int fd = -1;               // read end of its pipe
  std::string partial;       // an unfinished line
  bool ready = false;
  std::optional<Result_> result;
  bool exited = false;
  int wstatus = 0;
  int64_t started_ns = 0, ended_ns = 0;  // CLOCK_MONOTONIC
  uint64_t cobol_files = 0, cobol_bytes = 0;
  uint64_t cobol_processed = 0, cobol_dead = 0;  // its receipts
  bool cobol_receipts = false;

  bool exited_ok() const { return exited && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0; }
  std::string how_it_ended() const {
    if (!exited) return "still running";
    if (WIFEXITED(wstatus)) return "exit status " + std::to_string(WEXITSTATUS(wstatus));
    if (WIFSIGNALED(wstatus)) return std::string("killed by ") + strsignal(WTERMSIG(wstatus));
    return "ended";
  }
  int64_t get(const char* key) const {
    if (!result) return 0;
    auto it = result->find(key);
    return it == result->end() ? 0 : std::strtoll(it->second.c_str(), nullptr, 10);
  }
};

int64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t deadline_in(std::chrono::nanoseconds timeout) { return mono_ns() + timeout.count(); }

[[noreturn]] void die(const std::string& what, std::error_code ec) {
  std::fprintf(stderr, "[demo] %s: %s %s\n", what.c_str(), ec.message().c_str(),
               last_error_detail().c_str());
  std::exit(1);
}

// Starts `argv` with a pipe: as fd 3 (a status child, which gets
// "--status-fd 3" appended) or as stdout (relays_stdout). `env` is added to
// the child's environment.
void spawn(Child& c, std::vector<std::string> argv,
           const std::vector<std::pair<std::string, std::string>>& env = {}) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) die("pipe", {errno, std::generic_category()});
  if (!c.relays_stdout) {
    argv.emplace_back("--status-fd");
    argv.emplace_back(std::to_string(kStatusFd));
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  c.started_ns = mono_ns();
  const pid_t pid = ::fork();
  if (pid < 0) die("fork", {errno, std::generic_category()});
  if (pid == 0) {
    const int target = c.relays_stdout ? STDOUT_FILENO : kStatusFd;
    // dup2 clears close-on-exec on the copy; if the pipe already is the
    // target, clear it by hand.
    if (p[1] == target) {
      ::fcntl(target, F_SETFD, 0);
    } else if (::dup2(p[1], target) < 0) {
      _exit(127);
    }
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "[demo] cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  ::close(p[1]);
  c.pid = pid;
  c.fd = p[0];
}

// Runs `args` with this process's stdout and stderr; its exit status (or
// 128 + the signal).
int run_and_wait(std::vector<std::string> args) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::fprintf(stderr, "[demo] cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void handle_line(Child& c, const std::string& line) {
  if (c.relays_stdout) {
    std::printf("[%s] %s\n", c.tag.c_str(), line.c_str());
    unsigned long long files = 0, bytes = 0;
    if (const auto at = line.find("done ("); at != std::string::npos &&
        std::sscanf(line.c_str() + at, "done (%llu files, %llu bytes)", &files, &bytes) == 2) {
      c.cobol_files = files;
      c.cobol_bytes = bytes;
    }
    if (const auto at = line.find("receipts: "); at != std::string::npos &&
        std::sscanf(line.c_str() + at, "receipts: %llu processed, %llu dead-lettered", &files, &bytes) == 2) {
      c.cobol_processed = files;
      c.cobol_dead = bytes;
      c.cobol_receipts = true;
    }
    return;
  }
  if (line == "ready") {
    c.ready = true;
  } else if (line.rfind("result ", 0) == 0) {
    Result_ r;
    std::size_t pos = 7;
    while (pos < line.size()) {
      std::size_t end = line.find(' ', pos);
      if (end == std::string::npos) end = line.size();
      const std::string kv = line.substr(pos, end - pos);
      if (const auto eq = kv.find('='); eq != std::string::npos) r[kv.substr(0, eq)] = kv.substr(eq + 1);
      pos = end + 1;
    }
    c.result = std::move(r);
  } else {
    std::printf("[demo] %s said: %s\n", c.tag.c_str(), line.c_str());
  }
}

// Reads every child's pipe until `done()` holds. False (with `why`) when the
// deadline passes, or a child ended before `done()` and `may_end(child)`
// does not allow it.
bool pump(std::vector<Child*>& kids, const std::function<bool()>& done, int64_t deadline_ns,
          const std::function<bool(const Child&)>& may_end, std::string& why) {
  while (!done()) {
    for (Child* k : kids) {
      if (k->exited && !may_end(*k)) {
        why = k->tag + " ended early (" + k->how_it_ended() + ")";
        return false;
      }
    }
    std::vector<pollfd> fds;
    std::vector<Child*> who;
    for (Child* k : kids) {
      if (k->fd >= 0) {
        fds.push_back({k->fd, POLLIN, 0});
        who.push_back(k);
      }
    }
    if (fds.empty()) {
      why = "every program ended, and not as expected";
      return false;
    }
    const int64_t left_ms = (deadline_ns - mono_ns()) / 1'000'000;
    if (left_ms <= 0) {
      why = "timed out";
      return false;
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<int64_t>(left_ms, 1'000'000)));
    if (n < 0 && errno != EINTR) die("poll", {errno, std::generic_category()});
    for (std::size_t i = 0; n > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Child& c = *who[i];
      char buf[4096];
      const ssize_t got = ::read(c.fd, buf, sizeof buf);
      if (got > 0) {
        c.partial.append(buf, static_cast<std::size_t>(got));
        for (std::size_t nl; (nl = c.partial.find('\n')) != std::string::npos;) {
          handle_line(c, c.partial.substr(0, nl));
          c.partial.erase(0, nl + 1);
        }
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      // End of the pipe: the program has ended (or is ending).
      if (!c.partial.empty()) handle_line(c, c.partial);
      ::close(c.fd);
      c.fd = -1;
      ::waitpid(c.pid, &c.wstatus, 0);
      c.exited = true;
      c.ended_ns = mono_ns();
    }
  }
  return true;
}

void stop_all(std::vector<Child*>& kids) {
  for (Child* k : kids) {
    if (k->pid > 0 && !k->exited) ::kill(k->pid, SIGTERM);
  }
  for (Child* k : kids) {
    if (k->pid > 0 && !k->exited) {
      ::waitpid(k->pid, &k->wstatus, 0);
      k->exited = true;
    }
    if (k->fd >= 0) ::close(k->fd);
    k->fd = -1;
  }
}

// ------------------------------------------------------------ formatting

std::string duration(int64_t ns) {
  char b[48];
  const double v = static_cast<double>(ns);
  if (ns < 10'000) std::snprintf(b, sizeof b, "%.2f us", v / 1e3);
  else if (ns < 1'000'000) std::snprintf(b, sizeof b, "%.1f us", v / 1e3);
  else if (ns < 1'000'000'000) std::snprintf(b, sizeof b, "%.1f ms", v / 1e6);
  else std::snprintf(b, sizeof b, "%.2f s", v / 1e9);
  return b;
}

std::string rate(double count, int64_t ns, const char* unit) {
  if (ns <= 0) return std::string("- ") + unit + "/s";
  const double per_s = count / (static_cast<double>(ns) / 1e9);
  char b[64];
  if (per_s >= 1e6) std::snprintf(b, sizeof b, "%.2f M %s/s", per_s / 1e6, unit);
  else if (per_s >= 1e4) std::snprintf(b, sizeof b, "%.0f k %s/s", per_s / 1e3, unit);
  else std::snprintf(b, sizeof b, "%.0f %s/s", per_s, unit);
  return b;
}

std::string megabytes(double bytes) {
  char b[32];
  if (bytes >= 1e6) std::snprintf(b, sizeof b, "%.1f MB", bytes / 1e6);
  else std::snprintf(b, sizeof b, "%.0f bytes", bytes);
  return b;
}

std::string money(int64_t cents) {
  char b[48];
  const int64_t a = cents < 0 ? -cents : cents;
  std::snprintf(b, sizeof b, "%s%" PRId64 ".%02" PRId64, cents < 0 ? "-" : "", a / 100, a % 100);
  return b;
}

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("    %s  %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // several processes share the terminal
  uint64_t ticks = 100'000;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--ticks") == 0 && i + 1 < argc) {
      ticks = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--keep") == 0) {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: ringdrop-demo [--ticks N] [--keep]\n");
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);

  // ------------------------------------------------ the channel and the ring
  const char* tmp = std::getenv("TMPDIR");
  std::string root_template = std::string(tmp && *tmp ? tmp : "/tmp") + "/ringdrop-demo-XXXXXX";
  if (::mkdtemp(root_template.data()) == nullptr) die("mkdtemp", {errno, std::generic_category()});
  const std::string root = root_template + "/orders";
  if (auto ch = DropChannel::open(root); !ch) die("create channel " + root, ch.error());
  const std::string ring = "ringdrop-demo-" + std::to_string(::getpid()) + "-events";
  {
    // Created by a subscriber handle that leaves at once: the segment stays
    // (a ring's name lives until it is removed) and the service becomes its
    // publisher. Block policy: no subscriber ever misses an event.
    BroadcastOptions o;
    o.capacity = kRingBytes;
    o.cell_size = kCellSize;
    o.policy = SlowSubscriber::block;
    if (auto r = BroadcastSubscriber::open(Location::shm(ring), OpenMode::create, o); !r) {
      die("create ring shm:" + ring, r.error());
    }
  }
  std::printf("ringdrop %s demo: a COBOL batch job drops order files, a C++ service consumes\n"
              "them and publishes events on a broadcast ring, a Python and a C subscriber print them\n"
              "  drop channel %s\n  broadcast ring shm:%s (%" PRIu64 " cells of %u bytes, block policy)\n\n",
              RINGDROP_VERSION_STRING, root.c_str(), ring.c_str(), kRingBytes / kCellSize, kCellSize);

  Child python, c_sub, service, cobol;
  python.tag = "python";
  c_sub.tag = "c";
  service.tag = "service";
  cobol.tag = "cobol";
  cobol.relays_stdout = true;
  std::vector<Child*> kids{&python, &c_sub, &service, &cobol};
  std::string why;
  auto never = [](const Child&) { return false; };
  bool ran = true;

  // ------------------------------------------------ 1. subscribers, then wait
  std::printf("[demo] starting the subscribers\n");
  const std::string pythonpath =
      std::string(RINGDROP_DEMO_PYTHONPATH) +
      (std::getenv("PYTHONPATH") ? std::string(":") + std::getenv("PYTHONPATH") : std::string());
  spawn(python, {RINGDROP_DEMO_PYTHON, RINGDROP_DEMO_PY_SUBSCRIBER, ring},
        {{"RINGDROP_LIBRARY", RINGDROP_DEMO_LIBRARY},
         {"PYTHONPATH", pythonpath},
         {"PYTHONDONTWRITEBYTECODE", "1"}});
  spawn(c_sub, {RINGDROP_DEMO_C_SUBSCRIBER, ring});
  std::vector<Child*> subs{&python, &c_sub};
  ran = pump(subs, [&] { return python.ready && c_sub.ready; }, deadline_in(kReadyTimeout), never, why);

  // ------------------------------------------------ 2. the service, then wait
  if (ran) {
    std::printf("[demo] both subscribed; starting the order service\n");
    spawn(service, {RINGDROP_DEMO_SERVICE, root, ring, "--ticks", std::to_string(ticks)});
    std::vector<Child*> three{&python, &c_sub, &service};
    ran = pump(three, [&] { return service.ready; }, deadline_in(kReadyTimeout), never, why);
  }

  // ------------------------------------------------ 3. the batch job, then everything to the end
  if (ran) {
    std::printf("[demo] service ready; running the COBOL batch job\n");
    spawn(cobol, {RINGDROP_DEMO_COBOL, root});
    // Every program ends by itself: the job after its trailer, the service
    // after END, the subscribers at END. One that fails ends the demo.
    auto all_ended = [&] {
      for (Child* k : kids) {
        if (!k->exited) return false;
      }
      return true;
    };
    ran = pump(kids, all_ended, deadline_in(kRunTimeout), [](const Child& k) { return k.exited_ok(); },
               why);
  }
  if (!ran) {
    std::printf("[demo] FAIL: %s; stopping the others\n", why.c_str());
    stop_all(kids);
  }

  // ------------------------------------------------ what the channel says now
  DropCounts counts;
  std::vector<DeadLetter> dead;
  {
    DropOptions o;
    o.create = false;
    auto ch = DropChannel::open(root, o);
    if (!ch) die("reopen channel", ch.error());
    if (auto r = ch->counts()) counts = *r;
    if (auto r = ch->dead_letters()) dead = std::move(r).value();
  }
  if (!dead.empty()) {
    std::printf("[demo] dead letters in %s/failed/ (for an operator to fix and requeue):\n", root.c_str());
    for (const auto& d : dead) {
      auto key = d.headers.find("idempotency-key");
      // The reason file: "key: value" lines; the service's words are "reason: ...".
      std::string reason = d.reason;
      if (const auto at = reason.find("reason: "); at != std::string::npos) reason = reason.substr(at + 8);
      reason = reason.substr(0, reason.find('\n'));
      std::printf("         %s: %s\n", key != d.headers.end() ? key->second.c_str() : d.id.c_str(),
                  reason.c_str());
    }
  }

  // ------------------------------------------------ summary
  const auto& s = service;
  if (!ran) {
    std::printf("\n[demo] no summary: the run did not finish\n");
  } else {
    const int64_t batch_ns = s.get("last_settle_wall") - s.get("first_drop_wall");
    std::printf("\n[demo] summary\n");
    std::printf("  COBOL batch job -> drop channel (files) -> C++ order service\n");
    std::printf("    %" PRId64 " files (%" PRId64 " orders + trailer), %" PRId64
                " bytes, first drop to last settled in %s: %s\n",
                s.get("files"), s.get("details"), s.get("file_bytes"), duration(batch_ns).c_str(),
                rate(static_cast<double>(s.get("files")), batch_ns, "files").c_str());
    std::printf("      (the job ran %s; each publish fsyncs the file and its directory)\n",
                duration(cobol.ended_ns - cobol.started_ns).c_str());
    std::printf("    drop -> claimed by the service: p50 %s, max %s\n", duration(s.get("claim_p50")).c_str(),
                duration(s.get("claim_max")).c_str());
    std::printf("    %" PRId64 " accepted and acked, %" PRId64 " rejected (dead letters)\n",
                s.get("accepted"), s.get("rejected"));
    for (const Child* sub : {&python, &c_sub}) {
      const int64_t order_ns = sub->get("last_order_mono") - sub->get("first_order_mono");
      const int64_t tick_ns = sub->get("last_tick_mono") - sub->get("first_tick_mono");
      const int64_t n_ticks = sub->get("ticks");
      std::printf("  C++ order service -> broadcast ring -> %s subscriber\n",
                  sub == &python ? "Python" : "C");
      std::printf("    %" PRId64 " order events, %" PRId64 " bytes, in %s (as the batch came)\n",
                  sub->get("orders"), sub->get("orders") * DEMO_EVENT_SIZE, duration(order_ns).c_str());
      std::printf("      publish -> received: p50 %s, max %s\n", duration(sub->get("lat_p50")).c_str(),
                  duration(sub->get("lat_max")).c_str());
      std::printf("      dropped by COBOL -> received (end to end): p50 %s, max %s\n",
                  duration(sub->get("e2e_p50")).c_str(), duration(sub->get("e2e_max")).c_str());
      // The rate counts the gaps between the first tick received and the last.
      const double gaps = static_cast<double>(n_ticks > 0 ? n_ticks - 1 : 0);
      std::printf("    %" PRId64 " ticks, %s, in %s: %s, %s\n", n_ticks,
                  megabytes(static_cast<double>(n_ticks) * DEMO_EVENT_SIZE).c_str(),
                  duration(tick_ns).c_str(), rate(gaps, tick_ns, "events").c_str(),
                  rate(gaps * DEMO_EVENT_SIZE / 1e6, tick_ns, "MB").c_str());
    }
    std::printf("  broadcast ring stream: %" PRId64 " x %d-byte events published in %s to 2 subscribers"
                " (%s);\n    the block policy paces the publisher to the slowest subscriber\n",
                s.get("ticks"), DEMO_EVENT_SIZE, duration(s.get("tick_ns")).c_str(),
                rate(static_cast<double>(s.get("ticks")), s.get("tick_ns"), "events").c_str());
    std::printf("  (latencies: publish -> received on CLOCK_MONOTONIC, which every process on the host\n"
                "   shares; from the drop on CLOCK_REALTIME, the time in the drop message's id)\n");
  }

  // ------------------------------------------------ checks
  std::printf("\n[demo] checks\n");
  check(ran, ran ? "every program ran to its end" : "the run: " + why);
  check(cobol.exited_ok() && cobol.cobol_files > 0,
        "COBOL job: " + cobol.how_it_ended() + ", " + std::to_string(cobol.cobol_files) +
            " files dropped, " + std::to_string(cobol.cobol_bytes) + " bytes");
  check(cobol.cobol_receipts && cobol.cobol_processed + cobol.cobol_dead == cobol.cobol_files &&
            cobol.cobol_dead == static_cast<uint64_t>(s.get("rejected")),
        "COBOL job's receipts: " + std::to_string(cobol.cobol_processed) + " processed, " +
            std::to_string(cobol.cobol_dead) + " dead-lettered = " + std::to_string(s.get("rejected")) +
            " the service rejected");
  check(service.exited_ok() && s.get("ok") == 1,
        "service: " + service.how_it_ended() +
            (s.get("ok") == 1 ? ", batch reconciled" : ", batch NOT reconciled"));
  check(s.result && static_cast<uint64_t>(s.get("files")) == cobol.cobol_files &&
            static_cast<uint64_t>(s.get("file_bytes")) == cobol.cobol_bytes,
        "service claimed " + std::to_string(s.get("files")) + " files, " +
            std::to_string(s.get("file_bytes")) + " bytes = what COBOL dropped");
  check(s.result && s.get("details") == s.get("trailer_count") &&
            s.get("details_total") == s.get("trailer_total"),
        std::to_string(s.get("details")) + " orders, total " + money(s.get("details_total")) +
            " = trailer: " + std::to_string(s.get("trailer_count")) + ", " + money(s.get("trailer_total")));
  check(counts.incoming == 0 && counts.ready == 0 && counts.claimed == 0 && counts.retrying == 0 &&
            counts.failed == static_cast<uint64_t>(s.get("rejected")),
        "channel settled: " + std::to_string(counts.ready) + " ready, " + std::to_string(counts.claimed) +
            " claimed, " + std::to_string(counts.retrying) + " retrying, " + std::to_string(counts.failed) +
            " dead letters = " + std::to_string(s.get("rejected")) + " rejected");
  for (const Child* sub : {&python, &c_sub}) {
    const bool same = sub->result && sub->get("ok") == 1 && sub->get("events") == s.get("events") &&
                      sub->get("orders") == s.get("order_events") &&
                      sub->get("ticks") == s.get("ticks") &&
                      sub->get("accepted") == s.get("accepted") &&
                      sub->get("rejected") == s.get("rejected") &&
                      sub->get("bytes") == s.get("event_bytes") && sub->get("crc") == s.get("crc");
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08" PRIx64, static_cast<uint64_t>(sub->get("crc")));
    check(sub->exited_ok() && same,
          sub->tag + " subscriber: " + sub->how_it_ended() + ", " + std::to_string(sub->get("events")) +
              " events + END (" + std::to_string(sub->get("bytes")) + " bytes, CRC-32 " + crc + ") " +
              (same ? "= what the service published" : "!= what the service published (" +
                                                          std::to_string(s.get("events")) + " events)"));
  }

  // ------------------------------------------------ what an operator sees
  // The same run through `ringdrop`, the operator's command (docs/cli.md).
  std::printf("\n[demo] what the operator's command shows:\n$ ringdrop ls --prefix %s --channel %s\n", ring.c_str(),
              root.c_str());
  std::fflush(stdout);
  const int ls = run_and_wait({RINGDROP_DEMO_CLI, "ls", "--prefix", ring, "--channel", root});
  std::printf("$ ringdrop dlq ls %s\n", root.c_str());
  std::fflush(stdout);
  const int dlq = run_and_wait({RINGDROP_DEMO_CLI, "dlq", "ls", root});
  check(ls == 0 && dlq == 0, "ringdrop ls and ringdrop dlq ls ran (exit " + std::to_string(ls) + ", " +
                                 std::to_string(dlq) + ")");

  (void)Segment::remove(Location::shm(ring));
  if (keep) {
    std::printf("\n[demo] channel kept: %s\n", root.c_str());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(root_template, ec);
  }
  std::printf("\n[demo] %s\n", failures == 0 ? "passed: everything that was sent arrived, once, in order"
                                             : "FAILED");
  return failures == 0 ? 0 : 1;
}
