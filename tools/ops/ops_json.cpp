#include "ops_json.hpp"

#include <ctime>

#include "dead_letter_query.hpp"

namespace ringdrop::ops {

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

Json to_json(const RingView& r) {
  Json peers = Json::array();
  for (const auto& p : r.peers) {
    peers.push_back({{"pid", p.pid}, {"role", p.role}, {"messages", p.messages}, {"bytes", p.bytes}, {"waits", p.waits}});
  }
  return {{"name", r.where.describe()},
          {"kind", r.kind_name()},
          {"capacity", r.capacity},
          {"cell_size", r.cell_size},
          {"cells", r.cells},
          {"fill", r.fill},
          {"fill_ratio", r.fill_ratio},
          {"high_water", r.high_water},
          {"committed", r.committed},
          {"consumed", r.consumed},
          {"bytes_committed", r.bytes_committed},
          {"bytes_consumed", r.bytes_consumed},
          {"producer_waits", r.producer_waits},
          {"consumer_waits", r.consumer_waits},
          {"abandoned", r.abandoned},
          {"redelivered", r.redelivered},
          {"lost", r.lost},
          {"dead_lettered", r.dead_lettered},
          {"lapped", r.lapped},
          {"missed", r.missed},
          {"peers", peers},
          {"stale", r.stale()},
          {"holds_messages", r.holds_messages()},
          {"created", iso_time(r.created)},
          {"creator_pid", r.creator_pid},
          {"dead_letter_dir", r.dead_letter_dir},
          {"dead_letters", r.dead_letters}};
}

Json to_json(const ChannelView& c) {
  return {{"root", c.root},
          {"incoming", c.counts.incoming},
          {"ready", c.counts.ready},
          {"claimed", c.counts.claimed},
          {"retrying", c.counts.retrying},
          {"dead_letters", c.counts.failed},
          {"done", c.counts.done},
          {"receipts", c.receipts}};
}

Json to_json(const ServiceEntry& s) {
  return {{"service", s.service},
          {"ring", s.ring.describe()},
          {"pid", s.pid},
          {"alive", s.alive},
          {"registered", iso_time(s.registered)},
          {"info", s.info},
          {"file", s.file.string()}};
}

Json to_json(const DeadLetter& d) {
  Json headers = Json::object();
  for (const auto& [k, v] : d.headers) headers[k] = v;
  return {{"id", d.id},
          {"attempts", d.attempts},
          {"failed_at", iso_time(d.failed_at)},
          {"reason", d.reason},
          {"summary", reason_summary(d.reason)},
          {"path", d.path},
          {"headers", headers}};
}

Json to_json(const Inventory& inv) {
  Json out = {{"rings", Json::array()}, {"channels", Json::array()}, {"services", Json::array()},
              {"unreadable", Json::array()}, {"not_permitted", inv.not_permitted}};
  for (const auto& r : inv.rings) out["rings"].push_back(to_json(r));
  for (const auto& c : inv.channels) out["channels"].push_back(to_json(c));
  for (const auto& s : inv.services) out["services"].push_back(to_json(s));
  for (const auto& u : inv.unreadable) out["unreadable"].push_back({{"name", u.name}, {"why", u.why}});
  return out;
}

}  // namespace ringdrop::ops
