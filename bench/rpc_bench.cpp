// rpc_bench.cpp — request/response round trips: a ringdrop::Server
// (rpc_server.hpp) in a forked child, a ringdrop::Client (rpc_client.hpp) in
// the parent, pinned like the ring rows. The request is a bench.capnp Ping
// whose Data field holds 64 B; the server's handler echoes seq and data in a
// Pong, which the parent checks. Both sides wait with the default strategy
// (spin_block, spin_for 50 us): mode "block", comparable with the raw
// "mpmc block" ring round trip (the request and the reply rings are MPMC
// rings; a ring's server is its consumer, a client's reply ring has the
// client as consumer). The rings are the library's defaults: a request ring
// of 256 cells of 4 KiB (the server creates it), a reply ring of 64 cells
// of 4 KiB (the client creates it).
//
//   rpc-call  blocking call(), one call in flight; one sample per call, as
//             the ring rows (time_round_trips).
//   rpc-8     call_async() with 8 (rpc-64: 64) calls in flight: the first
//   rpc-64    ones are issued at once, then each reply's callback issues
//             the next call, all from one poll() (callbacks run inside it).
//             A sample is one call's time from call_async() to its callback,
//             so it includes the wait behind the calls ahead of it (by
//             Little's law about in-flight / calls per second); one clock
//             read per call (the callback's timestamp is the next call's
//             issue time).
// Every row runs warm-up + timed calls in one stream (the window stays full
// across the boundary); the warm-up is a tenth of the timed calls and at
// least a lap of the request ring. Calls per second (the throughput row of
// the same measurement) count the calls completed from the first timed
// call's issue until the last reply, over that time.
//
// Before the warm-up, one untimed call lets the server open the client's
// reply ring; then both shm names are removed (every process has them
// mapped), so an interrupted run leaves nothing in /dev/shm.
#include <cstring>
#include <string>
#include <vector>

#include "bench.capnp.h"
#include "benches.hpp"
#include "ringdrop/rpc_client.hpp"
#include "ringdrop/rpc_server.hpp"

namespace pingpong {

namespace {

using rdbench::Ping;
using rdbench::Pong;

constexpr uint64_t kRpcCalls = 200'000;  // timed calls per row (a tenth with --quick)

const char* rpc_mechanism(unsigned in_flight) {
  switch (in_flight) {
    case 1:
      return "rpc-call";
    case 8:
      return "rpc-8";
    case 64:
      return "rpc-64";
    default:
      throw BenchError("rpc rows: 1, 8 or 64 calls in flight");
  }
}

/// The library's defaults, spelled out: the row's memory comes from them.
ringdrop::ServerOptions server_options() {
  ringdrop::ServerOptions o;
  o.wait = block_wait();
  return o;
}
ringdrop::ClientOptions client_options() {
  ringdrop::ClientOptions o;
  o.wait = block_wait();
  return o;
}

/// Child side: serves `calls` requests, echoing each Ping as a Pong.
void serve_calls(const ringdrop::Location& where, Tally& ready, uint64_t calls) {
  auto server = take(ringdrop::Server::open_ring(where, server_options()), "open the server");
  server.handle<Ping, Pong>([](Ping::Reader ping, Pong::Builder pong) {
    pong.setSeq(ping.getSeq());
    pong.setData(ping.getData());
    return ringdrop::Status::ok();
  });
  arrive(ready);
  for (uint64_t i = 0; i < calls; ++i) {
    check(server.serve_one(ringdrop::deadline_after(kTimeout)), "serve");
  }
}

/// The reply must echo `seq` and the payload's size.
void check_pong(Pong::Reader pong, uint64_t seq, size_t size) {
  if (pong.getSeq() != seq) throw BenchError("reply to another call");
  if (pong.getData().size() != size) throw BenchError("reply of the wrong size");
}

/// One blocking call with `seq`, its reply checked.
void blocking_call(ringdrop::Client& client, capnp::Data::Reader data, uint64_t seq) {
  auto reply = client.call<Ping, Pong>(
      [&](Ping::Builder ping) {
        ping.setSeq(seq);
        ping.setData(data);
      },
      ringdrop::deadline_after(kTimeout));
  if (!reply) throw_ring_error("call", reply.error());
  check_pong(reply->get(), seq, data.size());
}

/// Calls seq = 0 .. warmup + iters - 1 through call_async(), `in_flight` of
/// them outstanding: each reply's callback issues the next call. Samples
/// the timed calls (from call_async() to callback) and counts what
/// completes from the first timed call's issue on.
class Window {
 public:
  Window(ringdrop::Client& client, capnp::Data::Reader data, Counts counts)
      : client_(client),
        data_(data),
        counts_(counts),
        issued_(counts.warmup + counts.iters),
        samples_(counts.iters) {}

  void run(unsigned in_flight) {
    for (unsigned i = 0; i < in_flight && next_ < total(); ++i) issue(Clock::now());
    while (client_.in_flight() > 0) {
      // Each call has its own deadline: a lost one ends in its callback.
      const auto ec = client_.poll(ringdrop::deadline_after(kTimeout));
      if (ec && ec != errc::timed_out) throw_ring_error("poll", ec);
    }
    if (!failure_.empty()) throw BenchError(failure_);
    if (done_ != total()) throw BenchError("rpc: calls lost");
  }

  std::vector<uint64_t>& samples() { return samples_; }
  /// Calls completed from the first timed call's issue to the last reply.
  uint64_t timed_completions() const { return completed_since_start_; }
  uint64_t timed_ns() const { return ns_between(timed_start_, last_reply_); }

 private:
  uint64_t total() const { return counts_.warmup + counts_.iters; }

  void issue(Clock::time_point now) {
    const uint64_t seq = next_++;
    issued_[seq] = now;
    if (seq == counts_.warmup) timed_start_ = now;
    auto id = client_.call_async<Ping, Pong>(
        [&](Ping::Builder ping) {
          ping.setSeq(seq);
          ping.setData(data_);
        },
        now + kTimeout,
        [this, seq](ringdrop::Result<ringdrop::Reply<Pong>> reply) { on_reply(seq, std::move(reply)); });
    if (!id) throw_ring_error("call_async", id.error());
  }

  // Runs inside poll(); records a failure rather than throwing through the
  // library, and stops issuing.
  void on_reply(uint64_t seq, ringdrop::Result<ringdrop::Reply<Pong>> reply) {
    const auto now = Clock::now();
    ++done_;
    if (!failure_.empty()) return;
    if (!reply) {
      failure_ = "call_async: " + reply.error().message() + " (" + ringdrop::last_error_detail() + ")";
      return;
    }
    const Pong::Reader pong = reply->get();
    if (pong.getSeq() != seq || pong.getData().size() != data_.size()) {
      failure_ = "rpc: a reply to another call, or of the wrong size";
      return;
    }
    if (seq >= counts_.warmup) samples_[seq - counts_.warmup] = ns_between(issued_[seq], now);
    if (next_ > counts_.warmup) {
      ++completed_since_start_;
      last_reply_ = now;
    }
    if (next_ >= total()) return;
    try {
      issue(now);
    } catch (const BenchError& e) {
      failure_ = e.what();
    }
  }

  ringdrop::Client& client_;
  capnp::Data::Reader data_;
  Counts counts_;
  std::vector<Clock::time_point> issued_;
  std::vector<uint64_t> samples_;
  uint64_t next_ = 0;
  uint64_t done_ = 0;
  uint64_t completed_since_start_ = 0;
  Clock::time_point timed_start_{};
  Clock::time_point last_reply_{};
  std::string failure_;
};

}  // namespace

RpcRows measure_rpc(const Context& ctx, unsigned in_flight) {
  const char* mechanism = rpc_mechanism(in_flight);
  const ringdrop::ServerOptions so = server_options();
  const ringdrop::ClientOptions co = client_options();
  const uint64_t iters = ctx.scaled(kRpcCalls);
  const Counts counts{std::max<uint64_t>(iters / 10, so.cells + 16), iters};
  RingNames names(1);
  SharedMemory<Tally> ready;
  // The untimed first call, the warm-up, the timed calls.
  Child child(ctx.cpus.child, [&] { serve_calls(names[0], *ready, 1 + counts.warmup + counts.iters); });
  await(*ready, 1, "waiting for the server", [&] { child.throw_if_exited(); });
  auto client = take(ringdrop::Client::connect(names[0], co), "connect");

  const std::vector<std::byte> payload(kRpcSize, std::byte{0x5a});
  const capnp::Data::Reader data(reinterpret_cast<const kj::byte*>(payload.data()), payload.size());
  blocking_call(client, data, ~uint64_t{0});  // the server now has the reply ring open
  names.remove();
  (void)ringdrop::Segment::remove(client.reply_ring());

  RpcRows rows;
  rows.warmup = 1 + counts.warmup;
  uint64_t timed_calls = 0;
  uint64_t timed_ns = 0;
  std::vector<uint64_t> samples;
  if (in_flight == 1) {
    samples = time_round_trips(counts, [&](uint64_t seq) { blocking_call(client, data, seq); }).samples;
    timed_calls = samples.size();
    for (uint64_t ns : samples) timed_ns += ns;  // back to back: the timed part's wall time
  } else {
    Window window(client, data, counts);
    window.run(in_flight);
    samples = std::move(window.samples());
    timed_calls = window.timed_completions();
    timed_ns = window.timed_ns();
  }
  child.wait();
  const uint64_t memory = uint64_t{so.cell_size} * so.cells + uint64_t{co.reply_cell_size} * co.reply_cells;
  rows.latency = rtt_row(mechanism, "block", "1->1", kRpcSize, std::move(samples));
  rows.latency.memory_bytes = memory;
  rows.rate = throughput_row(mechanism, "block", "1->1", kRpcSize, timed_calls,
                             static_cast<double>(timed_ns) / 1e9);
  rows.rate.memory_bytes = memory;
  return rows;
}

}  // namespace pingpong
