// report.cpp — the table, the JSON lines, the ratios and the targets.
#include "report.hpp"

#include <cstring>

namespace pingpong {

namespace {

std::string format_size(uint64_t bytes) {
  if (bytes >= MiB && bytes % MiB == 0) return std::to_string(bytes / MiB) + " MiB";
  if (bytes >= KiB && bytes % KiB == 0) return std::to_string(bytes / KiB) + " KiB";
  return std::to_string(bytes) + " B";
}

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

void target_line(const char* what, const std::string& value, bool met) {
  std::printf("  %-50s %10s  %s\n", what, value.c_str(), met ? "met" : "MISSED");
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

Report::Report(const char* json_path) {
  if (json_path == nullptr) return;
  json_.reset(std::fopen(json_path, "w"));
  if (!json_) throw_errno(json_path);
}

void Report::begin_rtt_section() const {
  std::printf("\nround-trip latency (ns)\n");
  std::printf("%-9s %-6s %-5s %7s %9s %9s %9s %9s %10s %9s %8s\n", "mechanism", "mode", "topo",
              "size", "iters", "p50", "p99", "p99.9", "p50/atomic", "p50/futex", "p50/spsc");
}

void Report::begin_throughput_section() const {
  std::printf("\none-way throughput\n");
  std::printf("%-9s %-6s %-5s %7s %9s %14s %10s %8s\n", "mechanism", "mode", "topo", "size",
              "iters", "msgs/s", "MB/s", "/spsc");
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
  const Row* spin = find(Metric::rtt, "spsc", "spin", 64);
  const Row* sleep = find(Metric::rtt, "spsc", "sleep", 64);
  const Row* rate = find(Metric::throughput, "spsc", "spin", 64);
  if (spin && spin->ratio_atomic) {
    target_line("busy-spin 64 B round trip <= 1.5x atomic floor", format_ratio(spin->ratio_atomic),
                *spin->ratio_atomic <= 1.5);
  }
  if (rate) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f M/s", rate->msgs_per_s / 1e6);
    target_line("64 B one-way throughput >= 30 M msgs/s", buf, rate->msgs_per_s >= 30e6);
  }
  if (sleep && sleep->ratio_futex) {
    target_line("forced-sleep 64 B round trip <= 1.1x futex floor",
                format_ratio(sleep->ratio_futex), *sleep->ratio_futex <= 1.1);
  }
}

const Row* Report::find(Metric metric, const char* mechanism, const char* mode,
                        uint64_t size) const {
  for (const Row& r : rows_) {
    if (r.metric == metric && std::strcmp(r.mechanism, mechanism) == 0 &&
        std::strcmp(r.mode, mode) == 0 && r.size == size) {
      return &r;
    }
  }
  return nullptr;
}

void Report::relate(Row& row) const {
  const Row* spsc = find(row.metric, "spsc", row.mode, row.size);
  if (row.metric == Metric::throughput) {
    if (spsc) row.ratio_spsc = ratio(row.msgs_per_s, spsc->msgs_per_s);
    return;
  }
  // A file-drop round trip is file-system work, not a cache-line exchange:
  // a ratio to the shared-memory floors would mean nothing.
  if (std::strncmp(row.mechanism, "drop", 4) == 0) return;
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
  if (r.metric == Metric::rtt) {
    std::printf("%-9s %-6s %-5s %7s %9llu %9llu %9llu %9llu %10s %9s %8s\n", r.mechanism, r.mode,
                topology, size.c_str(), static_cast<unsigned long long>(r.iters),
                static_cast<unsigned long long>(r.latency.p50),
                static_cast<unsigned long long>(r.latency.p99),
                static_cast<unsigned long long>(r.latency.p999),
                format_ratio(r.ratio_atomic).c_str(), format_ratio(r.ratio_futex).c_str(),
                format_ratio(r.ratio_spsc).c_str());
  } else {
    std::printf("%-9s %-6s %-5s %7s %9llu %14.0f %10.1f %8s\n", r.mechanism, r.mode, topology,
                size.c_str(), static_cast<unsigned long long>(r.iters), r.msgs_per_s, mb_per_s(r),
                format_ratio(r.ratio_spsc).c_str());
  }
  std::fflush(stdout);
}

void Report::write_json(const Row& r) const {
  if (!json_) return;
  const bool rtt = r.metric == Metric::rtt;
  const auto lat = [&](uint64_t v) { return rtt ? std::optional<uint64_t>(v) : std::nullopt; };
  const auto rate = rtt ? std::nullopt : std::optional<double>(r.msgs_per_s);
  const auto mbps = rtt ? std::nullopt : std::optional<double>(mb_per_s(r));
  std::fprintf(json_.get(),
               "{\"metric\":\"%s\",\"mechanism\":\"%s\",\"mode\":\"%s\",\"topology\":%s,"
               "\"size\":%llu,\"iters\":%llu,\"p50_ns\":%s,\"p99_ns\":%s,\"p999_ns\":%s,"
               "\"msgs_per_s\":%s,\"mb_per_s\":%s,\"ratio_to_floor\":%s,\"floor\":%s,"
               "\"ratio_to_atomic\":%s,\"ratio_to_spsc\":%s}\n",
               rtt ? "rtt" : "throughput", r.mechanism, r.mode, json_string(r.topology).c_str(),
               static_cast<unsigned long long>(r.size), static_cast<unsigned long long>(r.iters),
               json_integer(lat(r.latency.p50)).c_str(), json_integer(lat(r.latency.p99)).c_str(),
               json_integer(lat(r.latency.p999)).c_str(), json_real(rate).c_str(),
               json_real(mbps).c_str(), json_real(ratio_to_floor(r)).c_str(),
               r.ratio_futex ? "\"futex\"" : (r.ratio_atomic ? "\"atomic\"" : "null"),
               json_real(r.ratio_atomic).c_str(), json_real(r.ratio_spsc).c_str());
  std::fflush(json_.get());
}

}  // namespace pingpong
