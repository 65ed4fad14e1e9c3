// report.cpp — the table, the JSON lines, the ratios and the targets.
#include "report.hpp"

#include <cstring>

namespace pingpong {

std::string format_size(uint64_t bytes) {
  if (bytes >= MiB && bytes % MiB == 0) return std::to_string(bytes / MiB) + " MiB";
  if (bytes >= KiB && bytes % KiB == 0) return std::to_string(bytes / KiB) + " KiB";
  return std::to_string(bytes) + " B";
}

namespace {

std::string format_ratio(const std::optional<double>& ratio) {
  if (!ratio) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", *ratio);
  return buf;
}

std::string json_real(const std::optional<double>& value) {
  if (!value) return "null";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3f", *value);
  return buf;
}

std::string json_integer(const std::optional<uint64_t>& value) {
  return value ? std::to_string(*value) : "null";
}

std::string json_string(const char* value) {
  return value ? std::string("\"") + value + "\"" : "null";
}

/// "4.0 MiB", "208 KiB", "128 B"; "-" if unknown.
std::string format_memory(const std::optional<uint64_t>& bytes) {
  if (!bytes) return "-";
  char buf[32];
  if (*bytes >= 10 * MiB) {
    std::snprintf(buf, sizeof buf, "%.0f MiB", static_cast<double>(*bytes) / MiB);
  } else if (*bytes >= MiB) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(*bytes) / MiB);
  } else if (*bytes >= KiB) {
    std::snprintf(buf, sizeof buf, "%.0f KiB", static_cast<double>(*bytes) / KiB);
  } else {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(*bytes));
  }
  return buf;
}

/// CPU ns per message; "~" marks a whole-row estimate.
std::string format_cpu(const Row& r) {
  if (!r.cpu_ns_per_msg) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%.0f", r.cpu_whole_row ? "~" : "", *r.cpu_ns_per_msg);
  return buf;
}

const char* metric_name(Metric metric) {
  switch (metric) {
    case Metric::rtt:
      return "rtt";
    case Metric::throughput:
      return "throughput";
    case Metric::idle:
      return "idle";
  }
  return "?";
}

double mb_per_s(const Row& r) { return r.msgs_per_s * static_cast<double>(r.size) / 1e6; }

std::optional<double> ratio(double value, double reference) {
  if (reference <= 0) return std::nullopt;
  return value / reference;
}

// The floor a row is judged against: the futex for sleeping rows, the
// atomic otherwise.
std::optional<double> ratio_to_floor(const Row& r) {
  return r.ratio_futex ? r.ratio_futex : r.ratio_atomic;
}

void target_line(const std::string& what, const std::string& value, bool met) {
  std::printf("  %-74s %10s  %s\n", what.c_str(), value.c_str(), met ? "met" : "MISSED");
}

std::string format_rate(double msgs_per_s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f M/s", msgs_per_s / 1e6);
  return buf;
}

double p50_of(const Row& r) { return static_cast<double>(r.latency.p50); }

/// A share of a CPU, as a percentage.
std::string format_share(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f%%", 100 * share);
  return buf;
}

}  // namespace

Row rtt_row(const char* mechanism, const char* mode, const char* topology, uint64_t size,
            std::vector<uint64_t> samples) {
  Row row;
  row.metric = Metric::rtt;
  row.mechanism = mechanism;
  row.mode = mode;
  row.topology = topology;
  row.size = size;
  row.iters = samples.size();
  row.latency = percentiles(samples);
  return row;
}

Row throughput_row(const char* mechanism, const char* mode, const char* topology, uint64_t size,
                   uint64_t messages, double seconds) {
  Row row;
  row.metric = Metric::throughput;
  row.mechanism = mechanism;
  row.mode = mode;
  row.topology = topology;
  row.size = size;
  row.iters = messages;
  row.msgs_per_s = seconds > 0 ? static_cast<double>(messages) / seconds : 0;
  return row;
}

Row idle_row(const char* mechanism, const char* mode, uint64_t size, uint64_t idle_ns,
             uint64_t cpu_ns) {
  Row row;
  row.metric = Metric::idle;
  row.mechanism = mechanism;
  row.mode = mode;
  row.topology = "1->1";
  row.size = size;
  row.iters = 1;
  row.idle_ns = idle_ns;
  set_cpu(row, cpu_ns, 1);
  return row;
}

void set_cpu(Row& row, uint64_t cpu_ns, uint64_t messages) {
  if (messages == 0) return;
  row.cpu_ns_per_msg = static_cast<double>(cpu_ns) / static_cast<double>(messages);
}

Report::Report(const char* json_path) {
  if (json_path == nullptr) return;
  json_.reset(std::fopen(json_path, "w"));
  if (!json_) throw_errno(json_path);
}

void Report::begin_rtt_section() const {
  std::printf("\nround-trip latency (ns)\n");
  std::printf("%-9s %-6s %-5s %7s %9s %9s %9s %9s %10s %9s %8s %10s %9s\n", "mechanism", "mode",
              "topo", "size", "iters", "p50", "p99", "p99.9", "p50/atomic", "p50/futex",
              "p50/spsc", "cpu/msg", "memory");
}

void Report::begin_throughput_section() const {
  std::printf("\none-way throughput\n");
  std::printf("%-9s %-6s %-5s %7s %9s %14s %10s %8s %10s %9s\n", "mechanism", "mode", "topo",
              "size", "iters", "msgs/s", "MB/s", "/spsc", "cpu/msg", "memory");
}

void Report::begin_idle_section() const {
  std::printf("\nCPU burned by a consumer waiting while its peer is idle\n");
  std::printf("%-9s %-6s %-5s %7s %10s %12s %8s\n", "mechanism", "mode", "topo", "size",
              "idle ms", "cpu us", "cpu %");
}

void Report::note(const char* text) const {
  std::printf("  # %s\n", text);
  std::fflush(stdout);
}

void Report::add(const Row& row) {
  rows_.push_back(row);  // first, so a reference row relates to itself (1.00x)
  Row& added = rows_.back();
  relate(added);
  print(added);
  write_json(added);
}

void Report::print_targets() const {
  std::printf("\ntargets\n");
  print_latency_targets();
  print_throughput_targets();
  print_idle_and_zero_copy_targets();
  print_hardware_targets();
}

// The targets of "closer to the hardware": each a ratio between two rows
// of this run (ring_rtt.cpp, shared_throughput.cpp, rpc_bench.cpp).
void Report::print_hardware_targets() const {
  for (const uint64_t size : {8, 32, 56, 64}) {
    const Row* row = find(Metric::rtt, "spsc", "spin", size);
    if (!row || !row->ratio_atomic) continue;
    const double limit = size <= 56 ? 1.3 : 1.6;
    char what[96];
    std::snprintf(what, sizeof what, "spsc spin %s round trip <= %.1fx atomic floor",
                  format_size(size).c_str(), limit);
    target_line(what, format_ratio(row->ratio_atomic), *row->ratio_atomic <= limit);
  }
  const Row* spsc = find(Metric::rtt, "spsc", "spin", 64);
  const Row* queue = find(Metric::rtt, "thread-q", "spin", 64);
  if (spsc && queue && queue->latency.p50 > 0) {
    const double r = p50_of(*spsc) / p50_of(*queue);
    target_line("spsc spin 64 B round trip (processes) <= thread-q (threads)", format_ratio(r), r <= 1);
  }
  const Row* one_way = find(Metric::throughput, "spsc", "block", 64);
  const struct {
    const char* mechanism;
    const char* topology;
    double least;
  } shared[] = {{"mpmc", "1->1", 0.5}, {"broadcast", "1->1", 0.5}, {"broadcast", "1->2", 0.4}};
  for (const auto& s : shared) {
    const Row* row = find(Metric::throughput, s.mechanism, "block", 64, s.topology);
    if (!row || !one_way || one_way->msgs_per_s <= 0) continue;
    const double r = row->msgs_per_s / one_way->msgs_per_s;
    char what[96];
    std::snprintf(what, sizeof what, "%s %s 64 B msgs/s >= %.1fx spsc block", s.mechanism,
                  s.topology, s.least);
    target_line(what, format_ratio(r), r >= s.least);
  }
  const Row* raw_rtt = find(Metric::rtt, "mpmc", "block", 64);
  const Row* call = find(Metric::rtt, "rpc-call", "block", 64);
  if (raw_rtt && call && raw_rtt->latency.p50 > 0) {
    const double r = p50_of(*call) / p50_of(*raw_rtt);
    target_line("blocking call round trip <= 1.4x raw mpmc round trip", format_ratio(r), r <= 1.4);
  }
  const Row* raw_rate = find(Metric::throughput, "mpmc", "block", 64, "1->1");
  const Row* async_rate = find(Metric::throughput, "rpc-64", "block", 64);
  if (raw_rate && async_rate && raw_rate->msgs_per_s > 0) {
    const double r = async_rate->msgs_per_s / raw_rate->msgs_per_s;
    target_line("64 async calls in flight: calls/s >= 0.35x raw mpmc msgs/s", format_ratio(r), r >= 0.35);
  }
  if (const Row* async_rtt = find(Metric::rtt, "rpc-64", "block", 64)) {
    char p999[32];
    std::snprintf(p999, sizeof p999, "%.2f ms", static_cast<double>(async_rtt->latency.p999) / 1e6);
    target_line("64 async calls in flight: p99.9 <= 1 ms", p999, async_rtt->latency.p999 <= 1'000'000);
  }
  const Row* read = find(Metric::rtt, "spsc-read", "spin", MiB);
  const Row* copy = find(Metric::rtt, "memcpy", "inproc", MiB);
  if (read && copy && copy->latency.p50 > 0) {
    const double r = p50_of(*read) / p50_of(*copy);
    target_line("1 MiB handover, reader reads every byte <= 1.3x one memcpy", format_ratio(r), r <= 1.3);
  }
}

void Report::print_latency_targets() const {
  const Row* spin = find(Metric::rtt, "spsc", "spin", 64);
  const Row* sleep = find(Metric::rtt, "spsc", "sleep", 64);
  if (spin && spin->ratio_atomic) {
    target_line("busy-spin 64 B round trip <= 1.5x atomic floor", format_ratio(spin->ratio_atomic),
                *spin->ratio_atomic <= 1.5);
  }
  const Row* rival = fastest_alternative(Metric::rtt, "spin", 64);
  if (spin && rival && spin->latency.p50 > 0) {
    const double faster = p50_of(*rival) / p50_of(*spin);
    target_line(std::string("busy-spin 64 B round trip >= 4x faster than the best spinning alt. (") +
                    rival->mechanism + ")",
                format_ratio(faster), faster >= 4);
  }
  if (sleep && sleep->ratio_futex) {
    target_line("forced-sleep 64 B round trip <= 1.1x futex floor",
                format_ratio(sleep->ratio_futex), *sleep->ratio_futex <= 1.1);
  }
}

void Report::print_throughput_targets() const {
  const Row* rate = find(Metric::throughput, "spsc", "spin", 64);
  if (!rate) return;
  target_line("64 B one-way throughput >= 30 M msgs/s (batched)", format_rate(rate->msgs_per_s),
              rate->msgs_per_s >= 30e6);
  const Row* rival = fastest_alternative(Metric::throughput, nullptr, 64);
  if (rival && rival->msgs_per_s > 0) {
    const double more = rate->msgs_per_s / rival->msgs_per_s;
    target_line(std::string("64 B one-way throughput >= 1.5x the best alternative (") +
                    rival->mechanism + " " + rival->mode + ")",
                format_ratio(more), more >= 1.5);
  }
}

void Report::print_idle_and_zero_copy_targets() const {
  const Row* idle = find(Metric::idle, "spsc", "block", 64);
  if (idle && idle->idle_ns && idle->cpu_ns_per_msg) {
    const double share = *idle->cpu_ns_per_msg / static_cast<double>(*idle->idle_ns);
    // The floor beside it, when it was measured: what the kernel charges
    // for the wake-ups alone.
    std::string figure = format_share(share);
    if (const Row* floor = find(Metric::idle, "futex", "timed", 0); floor && floor->idle_ns && floor->cpu_ns_per_msg) {
      figure += " (sleeps alone " + format_share(*floor->cpu_ns_per_msg / static_cast<double>(*floor->idle_ns)) + ")";
    }
    target_line("default mode, peer idle: consumer CPU <= 0.1% of the idle time", figure,
                share <= 0.001);
  }
  const Row* small = find(Metric::rtt, "spsc-zc", "spin", 64);
  const Row* large = find(Metric::rtt, "spsc-zc", "spin", MiB);
  if (small && large && small->latency.p50 > 0) {
    const double r = p50_of(*large) / p50_of(*small);
    target_line("zero-copy handover of a written 1 MiB <= 2x that of 64 B", format_ratio(r),
                r <= 2);
  }
  const Row* read = find(Metric::rtt, "spsc-read", "spin", MiB);
  const Row* copy = find(Metric::rtt, "memcpy", "inproc", MiB);
  if (read && copy && copy->latency.p50 > 0) {
    const double r = p50_of(*read) / p50_of(*copy);
    target_line("1 MiB handover, reader reads every byte <= 1.2x one memcpy", format_ratio(r),
                r <= 1.2);
  }
}

const Row* Report::find(Metric metric, const char* mechanism, const char* mode, uint64_t size,
                        const char* topology) const {
  for (const Row& r : rows_) {
    if (r.metric == metric && std::strcmp(r.mechanism, mechanism) == 0 &&
        std::strcmp(r.mode, mode) == 0 && r.size == size &&
        (topology == nullptr || (r.topology && std::strcmp(r.topology, topology) == 0))) {
      return &r;
    }
  }
  return nullptr;
}

const Row* Report::fastest_alternative(Metric metric, const char* mode, uint64_t size) const {
  const Row* best = nullptr;
  for (const Row& r : rows_) {
    if (!r.alternative || r.metric != metric || r.size != size) continue;
    if (mode && std::strcmp(r.mode, mode) != 0) continue;
    const bool better = metric == Metric::rtt ? (!best || r.latency.p50 < best->latency.p50)
                                              : (!best || r.msgs_per_s > best->msgs_per_s);
    if (better) best = &r;
  }
  return best;
}

void Report::relate(Row& row) const {
  if (row.metric == Metric::idle) return;
  const Row* spsc = find(row.metric, "spsc", row.mode, row.size);
  if (row.metric == Metric::throughput) {
    if (spsc) row.ratio_spsc = ratio(row.msgs_per_s, spsc->msgs_per_s);
    return;
  }
  // A file-drop round trip is file-system work, not a cache-line exchange:
  // a ratio to the shared-memory floors would mean nothing; nor would one
  // for a row that is not IPC (no topology: "call", "memcpy").
  if (std::strncmp(row.mechanism, "drop", 4) == 0 || row.topology == nullptr) return;
  const auto p50 = static_cast<double>(row.latency.p50);
  if (const Row* atomic = find(Metric::rtt, "atomic", "spin", kFloorSize)) {
    row.ratio_atomic = ratio(p50, static_cast<double>(atomic->latency.p50));
  }
  const Row* futex = find(Metric::rtt, "futex", "sleep", kFloorSize);
  if (futex && std::strcmp(row.mode, "sleep") == 0) {
    row.ratio_futex = ratio(p50, static_cast<double>(futex->latency.p50));
  }
  if (spsc) row.ratio_spsc = ratio(p50, static_cast<double>(spsc->latency.p50));
}

void Report::print(const Row& r) {
  const std::string size = format_size(r.size);
  const char* topology = r.topology ? r.topology : "-";
  const std::string cpu = format_cpu(r);
  const std::string memory = format_memory(r.memory_bytes);
  if (r.metric == Metric::rtt) {
    std::printf("%-9s %-6s %-5s %7s %9llu %9llu %9llu %9llu %10s %9s %8s %10s %9s\n", r.mechanism,
                r.mode, topology, size.c_str(), static_cast<unsigned long long>(r.iters),
                static_cast<unsigned long long>(r.latency.p50),
                static_cast<unsigned long long>(r.latency.p99),
                static_cast<unsigned long long>(r.latency.p999),
                format_ratio(r.ratio_atomic).c_str(), format_ratio(r.ratio_futex).c_str(),
                format_ratio(r.ratio_spsc).c_str(), cpu.c_str(), memory.c_str());
  } else if (r.metric == Metric::throughput) {
    std::printf("%-9s %-6s %-5s %7s %9llu %14.0f %10.1f %8s %10s %9s\n", r.mechanism, r.mode,
                topology, size.c_str(), static_cast<unsigned long long>(r.iters), r.msgs_per_s,
                mb_per_s(r), format_ratio(r.ratio_spsc).c_str(), cpu.c_str(), memory.c_str());
  } else {
    const double idle = static_cast<double>(r.idle_ns.value_or(0));
    const double burned = r.cpu_ns_per_msg.value_or(0);
    std::printf("%-9s %-6s %-5s %7s %10.1f %12.1f %7.3f%%\n", r.mechanism, r.mode, topology,
                size.c_str(), idle / 1e6, burned / 1e3, idle > 0 ? 100 * burned / idle : 0.0);
  }
  std::fflush(stdout);
}

void Report::write_json(const Row& r) const {
  if (!json_) return;
  const bool rtt = r.metric == Metric::rtt;
  const bool rated = r.metric == Metric::throughput;
  const auto lat = [&](uint64_t v) { return rtt ? std::optional<uint64_t>(v) : std::nullopt; };
  const auto rate = rated ? std::optional<double>(r.msgs_per_s) : std::nullopt;
  const auto mbps = rated ? std::optional<double>(mb_per_s(r)) : std::nullopt;
  const char* cpu_scope = !r.cpu_ns_per_msg ? "null" : (r.cpu_whole_row ? "\"row\"" : "\"timed\"");
  std::fprintf(json_.get(),
               "{\"metric\":\"%s\",\"mechanism\":\"%s\",\"mode\":\"%s\",\"topology\":%s,"
               "\"size\":%llu,\"iters\":%llu,\"p50_ns\":%s,\"p99_ns\":%s,\"p999_ns\":%s,"
               "\"msgs_per_s\":%s,\"mb_per_s\":%s,\"cpu_ns_per_msg\":%s,\"cpu_scope\":%s,"
               "\"memory_bytes\":%s,\"idle_ns\":%s,\"alternative\":%s,"
               "\"ratio_to_floor\":%s,\"floor\":%s,"
               "\"ratio_to_atomic\":%s,\"ratio_to_spsc\":%s}\n",
               metric_name(r.metric), r.mechanism, r.mode, json_string(r.topology).c_str(),
               static_cast<unsigned long long>(r.size), static_cast<unsigned long long>(r.iters),
               json_integer(lat(r.latency.p50)).c_str(), json_integer(lat(r.latency.p99)).c_str(),
               json_integer(lat(r.latency.p999)).c_str(), json_real(rate).c_str(),
               json_real(mbps).c_str(), json_real(r.cpu_ns_per_msg).c_str(), cpu_scope,
               json_integer(r.memory_bytes).c_str(), json_integer(r.idle_ns).c_str(),
               r.alternative ? "true" : "false", json_real(ratio_to_floor(r)).c_str(),
               r.ratio_futex ? "\"futex\"" : (r.ratio_atomic ? "\"atomic\"" : "null"),
               json_real(r.ratio_atomic).c_str(), json_real(r.ratio_spsc).c_str());
  std::fflush(json_.get());
}

}  // namespace pingpong
