// report.hpp — the rows of ringdrop-pingpong: printed as a table as they
// come, written as JSON lines when asked, and related to the floors and to
// the SPSC ring measured earlier in the same run.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"

namespace pingpong {

enum class Metric { rtt, throughput, idle };

struct Row {
  Metric metric = Metric::rtt;
  const char* mechanism = "";
  const char* mode = "";
  const char* topology = nullptr;  // "1->1", "2->1", ...; null: not IPC
  uint64_t size = 0;
  uint64_t iters = 0;
  Percentiles latency;    // rtt rows
  double msgs_per_s = 0;  // throughput rows
  // CPU time of every process (and thread) of the row per message; a round
  // trip is two messages. Measured over the timed part, unless
  // cpu_whole_row: then over the whole row (set-up and warm-up included,
  // see main.cpp), an overestimate.
  std::optional<double> cpu_ns_per_msg;
  bool cpu_whole_row = false;
  std::optional<uint64_t> memory_bytes;  // buffer memory for messages in flight (main.cpp)
  std::optional<uint64_t> idle_ns;       // idle rows: how long the consumer waited
  bool alternative = false;              // a mechanism a user would pick instead of ringdrop
  // Filled in by Report::add.
  std::optional<double> ratio_atomic;  // p50 / the atomic floor's p50
  std::optional<double> ratio_futex;   // p50 / the futex floor's p50 (sleeping rows)
  std::optional<double> ratio_spsc;    // p50 over (or msgs/s over) the SPSC row's
};

/// "64 B", "4 KiB", "1 MiB".
std::string format_size(uint64_t bytes);

Row rtt_row(const char* mechanism, const char* mode, const char* topology, uint64_t size,
            std::vector<uint64_t> samples);
Row throughput_row(const char* mechanism, const char* mode, const char* topology, uint64_t size,
                   uint64_t messages, double seconds);
/// A consumer that waited `idle_ns` for one message and burned `cpu_ns` doing it.
Row idle_row(const char* mechanism, const char* mode, uint64_t size, uint64_t idle_ns,
             uint64_t cpu_ns);
/// `cpu_ns` over `messages`, into row.cpu_ns_per_msg (nothing if no messages).
void set_cpu(Row& row, uint64_t cpu_ns, uint64_t messages);

/// Prints each row as it comes, writes it as a JSON line when asked, and
/// knows the earlier rows, so it can relate every row to the floors and to
/// the SPSC ring of the same mode and size.
class Report {
 public:
  explicit Report(const char* json_path);

  void begin_rtt_section() const;
  void begin_throughput_section() const;
  void begin_idle_section() const;
  /// An indented remark line under the current section ("  # text").
  void note(const char* text) const;
  void add(const Row& row);
  void print_targets() const;

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };

  /// The first row of `metric`, `mechanism`, `mode` and `size` (and of
  /// `topology`, unless null).
  const Row* find(Metric metric, const char* mechanism, const char* mode, uint64_t size,
                  const char* topology = nullptr) const;
  /// The alternative of `metric` at `size` with the lowest p50 (rtt) or the
  /// most msgs/s (throughput), among those of `mode` (any mode if null).
  const Row* fastest_alternative(Metric metric, const char* mode, uint64_t size) const;
  void print_latency_targets() const;
  void print_throughput_targets() const;
  void print_idle_and_zero_copy_targets() const;
  void print_hardware_targets() const;
  void relate(Row& row) const;
  static void print(const Row& r);
  void write_json(const Row& r) const;

  std::unique_ptr<std::FILE, FileCloser> json_;
  std::vector<Row> rows_;
};

}  // namespace pingpong
