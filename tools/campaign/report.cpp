// report.cpp — the campaign's report: the table (with each kind's ring
// counters, failures, notes and the command that repeats a failed kind) and
// the JSON object.
#include "report.hpp"

#include <cstdio>
#include <string>

namespace campaign {

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string num(uint64_t v) { return std::to_string(v); }

}  // namespace

void print_table(const RunSummary& run, const std::vector<Figures>& all) {
  std::printf("\n%-20s %12s %10s %10s %15s %15s %10s %9s %6s  %s\n", "kind", "kills (p/c)", "committed",
              "delivered", "dup (allowed)", "lost (allowed)", "in doubt", "stall ms", "works", "result");
  uint64_t kills = 0;
  bool ok = true;
  for (const auto& f : all) {
    kills += f.kills;
    ok &= f.ok;
    const std::string k = num(f.kills) + " (" + num(f.kills_producer) + "/" + num(f.kills_consumer) + ")";
    const std::string d = num(f.duplicated) + " (" + num(f.dup_allowed) + ")";
    const std::string l = num(f.lost) + " (" + num(f.lost_allowed) + ")";
    const std::string u = num(f.in_doubt_seen) + "/" + num(f.in_doubt);
    std::printf("%-20s %12s %10llu %10llu %15s %15s %10s %9.0f %6s  %s\n", kind_name(f.kind), k.c_str(),
                static_cast<unsigned long long>(f.committed), static_cast<unsigned long long>(f.delivered),
                d.c_str(), l.c_str(), u.c_str(), f.longest_stall * 1000, f.final_ok ? "yes" : "NO",
                f.ok ? "ok" : "FAILED");
  }
  std::printf("%-20s %12llu   (%.1f s)\n", "total", static_cast<unsigned long long>(kills), run.elapsed);
  std::printf(
      "kills: SIGKILLs of producers/consumers. committed: certainly committed, plus those in doubt that were\n"
      "delivered. delivered: all deliveries (broadcast: to every subscriber), duplicates included. dup, lost:\n"
      "with what the policy allows. in doubt: seen/all messages whose producer was killed inside commit().\n"
      "stall: the longest time without a delivery while a producer and a consumer were attached and work was\n"
      "waiting. works: the final clean producer/consumer exchange.\n");
  for (const auto& f : all) {
    const bool bcast = is_broadcast(f.kind);
    std::printf("\n%s: seed %llu, %.1f s, %llu processes; ring counters: ", kind_name(f.kind),
                static_cast<unsigned long long>(f.seed), f.seconds, static_cast<unsigned long long>(f.processes));
    if (is_mpmc(f.kind)) {
      std::printf("abandoned %llu, redelivered %llu, lost %llu", static_cast<unsigned long long>(f.ring_abandoned),
                  static_cast<unsigned long long>(f.ring_redelivered), static_cast<unsigned long long>(f.ring_lost));
    }
    if (f.kind == Kind::spsc || f.kind == Kind::mpmc_redeliver) {
      std::printf("%sdead letters %llu (highest delivery count given %llu, limit 5)", f.kind == Kind::spsc ? "" : "; ",
                  static_cast<unsigned long long>(f.dead_lettered), static_cast<unsigned long long>(f.highest_count));
    } else if (bcast) {
      std::printf("abandoned %llu, lapped %llu, missed %llu; told missed %llu, message_lost on a first read %llu",
                  static_cast<unsigned long long>(f.ring_abandoned), static_cast<unsigned long long>(f.ring_lapped),
                  static_cast<unsigned long long>(f.ring_missed), static_cast<unsigned long long>(f.told_missed),
                  static_cast<unsigned long long>(f.lost_first_read));
    } else if (!is_mpmc(f.kind)) {
      std::printf("(none used)");
    }
    if (!bcast) std::printf("; deliveries held by a consumer when it was killed %llu", static_cast<unsigned long long>(f.held_at_kill));
    std::printf("\n");
    for (const auto& why : f.failures) std::printf("  FAILED: %s\n", why.c_str());
    for (const auto& n : f.notes) std::printf("  note: %s\n", n.c_str());
    if (!f.ok) {
      // The same kill schedule for this kind alone: the same seed, its share
      // of the kills and of the time.
      std::printf("  repeat: ringdrop-campaign --kind %s --seed %llu --kills %llu --seconds %g\n", kind_name(f.kind),
                  static_cast<unsigned long long>(run.seed), static_cast<unsigned long long>(f.planned_kills),
                  f.phase + overhead_of(f.kind));
    }
  }
  std::printf("\n%s\n", ok ? "campaign passed" : "campaign FAILED");
}

void print_json(const RunSummary& run, const std::vector<Figures>& all) {
  bool ok = true;
  uint64_t kills = 0;
  for (const auto& f : all) ok &= f.ok, kills += f.kills;
  std::printf("{\"seed\":%llu,\"kills_requested\":%llu,\"seconds_bound\":%g,\"kills\":%llu,\"elapsed_s\":%.3f,\"ok\":%s,\"kinds\":[",
              static_cast<unsigned long long>(run.seed), static_cast<unsigned long long>(run.kills_requested),
              run.seconds_bound, static_cast<unsigned long long>(kills), run.elapsed, ok ? "true" : "false");
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& f = all[i];
    auto list = [](const std::vector<std::string>& v) {
      std::string s = "[";
      for (size_t j = 0; j < v.size(); ++j) s += (j ? "," : "") + json_string(v[j]);
      return s + "]";
    };
    std::printf(
        "%s{\"kind\":\"%s\",\"seed\":%llu,\"kills\":%llu,\"kills_producer\":%llu,\"kills_consumer\":%llu,"
        "\"processes\":%llu,\"committed\":%llu,\"delivered\":%llu,\"duplicated\":%llu,\"duplicated_allowed\":%llu,"
        "\"lost\":%llu,\"lost_allowed\":%llu,\"in_doubt\":%llu,\"in_doubt_seen\":%llu,\"told_missed\":%llu,"
        "\"lost_first_read\":%llu,\"held_at_kill\":%llu,\"late\":%llu,\"ring_abandoned\":%llu,"
        "\"ring_redelivered\":%llu,\"ring_lost\":%llu,\"ring_lapped\":%llu,\"ring_missed\":%llu,"
        "\"dead_lettered\":%llu,\"highest_delivery_count\":%llu,"
        "\"longest_stall_ms\":%.1f,\"stall_at_s\":%.3f,\"seconds\":%.3f,\"works\":%s,\"ok\":%s,"
        "\"failures\":%s,\"notes\":%s}",
        i ? "," : "", kind_name(f.kind), static_cast<unsigned long long>(f.seed),
        static_cast<unsigned long long>(f.kills), static_cast<unsigned long long>(f.kills_producer),
        static_cast<unsigned long long>(f.kills_consumer), static_cast<unsigned long long>(f.processes),
        static_cast<unsigned long long>(f.committed), static_cast<unsigned long long>(f.delivered),
        static_cast<unsigned long long>(f.duplicated), static_cast<unsigned long long>(f.dup_allowed),
        static_cast<unsigned long long>(f.lost), static_cast<unsigned long long>(f.lost_allowed),
        static_cast<unsigned long long>(f.in_doubt), static_cast<unsigned long long>(f.in_doubt_seen),
        static_cast<unsigned long long>(f.told_missed), static_cast<unsigned long long>(f.lost_first_read),
        static_cast<unsigned long long>(f.held_at_kill), static_cast<unsigned long long>(f.late),
        static_cast<unsigned long long>(f.ring_abandoned), static_cast<unsigned long long>(f.ring_redelivered),
        static_cast<unsigned long long>(f.ring_lost), static_cast<unsigned long long>(f.ring_lapped),
        static_cast<unsigned long long>(f.ring_missed), static_cast<unsigned long long>(f.dead_lettered),
        static_cast<unsigned long long>(f.highest_count), f.longest_stall * 1000, f.stall_at, f.seconds,
        f.final_ok ? "true" : "false", f.ok ? "true" : "false", list(f.failures).c_str(), list(f.notes).c_str());
  }
  std::printf("]}\n");
}

}  // namespace campaign
