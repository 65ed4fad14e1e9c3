#include "metrics.hpp"

#include <cstdint>
#include <functional>
#include <sstream>

namespace ringdrop::console {

namespace {

// A label value: backslash, double quote and newline escaped.
std::string escaped(const std::string& v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Writer {
 public:
  // One metric family: its HELP and TYPE lines, then a sample per object.
  template <class Objects, class Labels, class Value>
  void family(const std::string& name, const char* type, const char* help, const Objects& objects, Labels labels,
              Value value) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    for (const auto& o : objects) out_ << name << '{' << labels(o) << "} " << value(o) << '\n';
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

}  // namespace

std::string prometheus_text(const ops::Inventory& inv) {
  Writer w;
  const auto ring = [](const ops::RingView& r) {
    return "ring=\"" + escaped(r.where.describe()) + "\",kind=\"" + r.kind_name() + '"';
  };
  using R = const ops::RingView&;
  w.family("ringdrop_ring_committed_total", "counter", "Messages committed into the ring.", inv.rings, ring, [](R r) { return r.committed; });
  w.family("ringdrop_ring_consumed_total", "counter", "Messages consumed from the ring.", inv.rings, ring, [](R r) { return r.consumed; });
  w.family("ringdrop_ring_bytes_committed_total", "counter", "Bytes committed into the ring.", inv.rings, ring, [](R r) { return r.bytes_committed; });
  w.family("ringdrop_ring_redelivered_total", "counter", "Messages handed on after their consumer died.", inv.rings, ring, [](R r) { return r.redelivered; });
  w.family("ringdrop_ring_dead_lettered_total", "counter", "Messages set aside as dead letters.", inv.rings, ring, [](R r) { return r.dead_lettered; });
  w.family("ringdrop_ring_lost_total", "counter", "Messages lost.", inv.rings, ring, [](R r) { return r.lost; });
  w.family("ringdrop_ring_producer_waits_total", "counter", "Times a producer waited for room.", inv.rings, ring, [](R r) { return r.producer_waits; });
  w.family("ringdrop_ring_fill", "gauge", "What waits in the ring (bytes for SPSC, cells otherwise).", inv.rings, ring, [](R r) { return r.fill; });
  w.family("ringdrop_ring_fill_ratio", "gauge", "Fill over capacity, 0 to 1.", inv.rings, ring, [](R r) { return r.fill_ratio; });
  w.family("ringdrop_ring_peers", "gauge", "Live processes attached.", inv.rings, ring, [](R r) { return r.peers.size(); });
  w.family("ringdrop_ring_dead_letters", "gauge", "Dead letters waiting in the ring's store.", inv.rings, ring, [](R r) { return r.dead_letters; });

  const auto channel = [](const ops::ChannelView& c) { return "channel=\"" + escaped(c.root) + '"'; };
  struct State {
    const ops::ChannelView* c;
    const char* state;
    uint64_t n;
  };
  std::vector<State> states;
  for (const auto& c : inv.channels) {
    for (const auto& [name, n] : {std::pair{"incoming", c.counts.incoming}, {"ready", c.counts.ready},
                                  {"claimed", c.counts.claimed}, {"retrying", c.counts.retrying},
                                  {"done", c.counts.done}}) {
      states.push_back({&c, name, n});
    }
  }
  w.family("ringdrop_channel_messages", "gauge", "Messages of the drop channel in each state.", states,
           [&](const State& s) { return channel(*s.c) + ",state=\"" + s.state + '"'; }, [](const State& s) { return s.n; });
  using C = const ops::ChannelView&;
  w.family("ringdrop_channel_dead_letters", "gauge", "Dead letters in the channel's failed/.", inv.channels, channel, [](C c) { return c.counts.failed; });

  using S = const ServiceEntry&;
  w.family("ringdrop_service_up", "gauge", "1 when the registered service's process is alive.", inv.services,
           [](S s) { return "service=\"" + escaped(s.service) + "\",ring=\"" + escaped(s.ring.describe()) + '"'; },
           [](S s) { return s.alive ? 1 : 0; });
  std::string text = w.text();
  text += "# HELP ringdrop_unreadable Rings, channels or registries the console could not read.\n"
          "# TYPE ringdrop_unreadable gauge\nringdrop_unreadable " +
          std::to_string(inv.unreadable.size()) + "\n";
  return text;
}

}  // namespace ringdrop::console
