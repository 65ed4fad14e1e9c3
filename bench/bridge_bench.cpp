// ringdrop-bridge-bench — what the bridge adds over the broker itself.
//
//   ringdrop-bridge-bench --broker amqp://guest:guest@127.0.0.1:5672/ --bridge PATH [--count N] [--json FILE]
//
// Two rows per message size (64 B and 4 KiB), measured in the same run:
//   broker   a plain rabbitmq-c publisher (persistent, publisher confirms,
//            a window of 256) and a plain consumer (manual acks, multiple),
//            in this process, one connection each;
//   bridge   ring -> ringdrop-bridge (outbound) -> broker -> ringdrop-bridge
//            (inbound) -> ring: a producer and a consumer of MPMC rings here,
//            two bridge processes carrying the messages.
// Each row: throughput (N messages sent as fast as they go, first send to
// last receipt) and one-way latency p50/p99 (one message at a time, the
// next sent when the last arrived; send and receive in this process, so
// one clock). The ratio bridge/broker is the bridge's cost. Prints a table;
// --json writes one JSON object a row.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "amqp_session.hpp"
#include "bridge_config.hpp"
#include "bridge_status.hpp"
#include "ringdrop/mpmc_ring.hpp"

using namespace ringdrop;
using namespace ringdrop::bridge;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "ringdrop-bridge-bench: %s\n", why.c_str());
  std::exit(1);
}

int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

struct Row {
  std::string path;
  size_t size = 0;
  double msgs_per_s = 0;
  double p50_us = 0, p99_us = 0;
};

// Sends a message carrying its send time in its first 8 bytes.
std::vector<std::byte> stamped(size_t size) {
  std::vector<std::byte> b(size);
  const int64_t t = now_ns();
  std::memcpy(b.data(), &t, sizeof t);
  return b;
}
int64_t stamp_of(const std::byte* p) {
  int64_t t;
  std::memcpy(&t, p, sizeof t);
  return t;
}

double percentile(std::vector<int64_t> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : static_cast<double>(v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))]) / 1000.0;
}

// ------------------------------------------------------------ the broker alone

class PlainPath {
 public:
  PlainPath(const BrokerAddress& a, const std::string& name) : name_(name) {
    auto p = AmqpSession::connect(a);
    auto c = AmqpSession::connect(a);
    if (!p || !c) die("connect: " + last_error_detail());
    pub_.emplace(std::move(*p));
    con_.emplace(std::move(*c));
    if (pub_->confirm_select() || pub_->declare_exchange(name, ExchangeType::direct) ||
        con_->declare_queue(name, name, "k") || con_->qos(1000) || con_->consume(name)) {
      die("topology: " + last_error_detail());
    }
  }
  // Publishes with a window of 256 confirms; receives on the consumer.
  void send(const std::vector<std::byte>& body) {
    WireMessage m;
    m.content_type = "application/octet-stream";
    m.body = body;
    if (!pub_->publish(name_, "k", m)) die("publish: " + last_error_detail());
    if (++unconfirmed_ >= 256) confirm_all();
  }
  void confirm_all() {
    while (unconfirmed_ > 0) {
      auto ev = pub_->poll(1000ms);
      if (!ev) die("confirms: " + last_error_detail());
      if (ev->kind == AmqpEvent::Kind::ack) unconfirmed_ = ev->multiple ? 0 : unconfirmed_ - 1;
    }
  }
  // The next message's send stamp (acknowledged in batches).
  int64_t receive() {
    for (;;) {  // the consumer's connection only: the sender may be another thread
      auto ev = con_->poll(10ms);
      if (!ev) die("consume: " + last_error_detail());
      if (ev->kind != AmqpEvent::Kind::delivery) continue;
      if (++unacked_ >= 100) {
        (void)con_->ack(ev->tag, true);
        unacked_ = 0;
      }
      last_tag_ = ev->tag;
      return stamp_of(ev->message.body.data());
    }
  }
  void ack_rest() {
    if (unacked_) (void)con_->ack(last_tag_, true);
    unacked_ = 0;
  }

 private:
  std::string name_;
  std::optional<AmqpSession> pub_, con_;
  int unconfirmed_ = 0;
  int unacked_ = 0;
  uint64_t last_tag_ = 0;
};

// ------------------------------------------------------------ through the bridge

pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

void wait_running(const std::string& state_dir) {
  const auto end = Clock::now() + 60s;
  while (Clock::now() < end) {
    auto s = read_status(state_dir);
    if (s && (*s)["routes"].size() && (*s)["routes"][0].value("state", "") == "running") return;
    std::this_thread::sleep_for(20ms);
  }
  die("the bridge in " + state_dir + " did not start");
}

class BridgePath {
 public:
  BridgePath(const std::string& url, const std::string& bridge, const std::string& name, const std::string& dir)
      : out_ring_(name + "-out"), in_ring_(name + "-in") {
    MpmcOptions o;
    o.cell_size = 8192;
    o.capacity = 16u << 20;
    auto tx = MpmcProducer::open(Location::shm(out_ring_), OpenMode::create, o);
    auto rx = MpmcConsumer::open(Location::shm(in_ring_), OpenMode::create, o);
    if (!tx || !rx) die("rings: " + last_error_detail());
    tx_.emplace(std::move(*tx));
    rx_.emplace(std::move(*rx));
    std::filesystem::create_directories(dir);  // the bridges make their own state folders in it
    in_ = spawn({bridge, "--state-dir", dir + "/in", "--broker", url, "--name", "bench-b", "--route",
                 "queue=" + name + ",bind_exchange=" + name + ",binding_key=k,to=shm:" + in_ring_ + ",format=raw"});
    wait_running(dir + "/in");
    out_ = spawn({bridge, "--state-dir", dir + "/out", "--broker", url, "--name", "bench-a", "--route",
                  "from=shm:" + out_ring_ + ",exchange=" + name + ",routing_key=k,format=raw"});
    wait_running(dir + "/out");
  }
  ~BridgePath() {
    for (pid_t p : {out_, in_}) {
      ::kill(p, SIGTERM);
      ::waitpid(p, nullptr, 0);
    }
    tx_.reset();
    rx_.reset();
    (void)Segment::remove(Location::shm(out_ring_));
    (void)Segment::remove(Location::shm(in_ring_));
  }
  void send(const std::vector<std::byte>& body) {
    if (tx_->send(body, 60s)) die("send: " + last_error_detail());
  }
  void confirm_all() {}
  int64_t receive() {
    auto v = rx_->read(60s);
    if (!v) die("receive: " + last_error_detail());
    const int64_t t = stamp_of(v->data());
    rx_->release();
    return t;
  }
  void ack_rest() {}

 private:
  std::string out_ring_, in_ring_;
  std::optional<MpmcProducer> tx_;
  std::optional<MpmcConsumer> rx_;
  pid_t out_ = -1, in_ = -1;
};

template <class Path>
Row measure(Path& path, const char* name, size_t size, uint64_t count) {
  Row r{name, size};
  // Throughput: a sender thread and this one receiving.
  const auto start = Clock::now();
  std::thread sender([&] {
    for (uint64_t i = 0; i < count; ++i) path.send(stamped(size));
  });
  for (uint64_t i = 0; i < count; ++i) (void)path.receive();
  sender.join();
  path.confirm_all();
  path.ack_rest();
  r.msgs_per_s = static_cast<double>(count) / std::chrono::duration<double>(Clock::now() - start).count();
  // Latency: one at a time.
  std::vector<int64_t> lat;
  const uint64_t pings = std::max<uint64_t>(count / 10, 50);
  for (uint64_t i = 0; i < pings; ++i) {
    path.send(stamped(size));  // a confirm is not waited for: delivery does not wait for it either
    const int64_t sent = path.receive();
    lat.push_back(now_ns() - sent);  // two statements: receive() must come first
  }
  path.confirm_all();
  path.ack_rest();
  r.p50_us = percentile(lat, 0.50);
  r.p99_us = percentile(lat, 0.99);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, bridge, json;
  uint64_t count = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--broker") url = v;
    else if (k == "--bridge") bridge = v;
    else if (k == "--count") count = std::stoull(v);
    else if (k == "--json") json = v;
    else die("unknown option " + k);
  }
  if (url.empty() || bridge.empty()) die("usage: --broker URL --bridge PATH [--count N] [--json FILE]");
  BrokerAddress a;
  if (parse_broker_url(url, a)) die(last_error_detail());
  ::signal(SIGPIPE, SIG_IGN);
  char tmpl[] = "/tmp/ringdrop-bridge-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) die("mkdtemp");
  const std::string dir = tmpl;
  const std::string tag = "rdbench" + std::to_string(::getpid());

  std::vector<Row> rows;
  for (size_t size : {size_t{64}, size_t{4096}}) {
    {
      PlainPath p(a, tag + "-plain-" + std::to_string(size));
      rows.push_back(measure(p, "broker (plain rabbitmq-c)", size, count));
    }
    {
      BridgePath b(url, bridge, tag + "-bridge-" + std::to_string(size), dir + "/" + std::to_string(size));
      rows.push_back(measure(b, "ring -> bridge -> broker -> bridge -> ring", size, count));
    }
  }
  std::filesystem::remove_all(dir);

  std::printf("| path | size | msgs/s | p50 µs | p99 µs | throughput vs broker | p50 vs broker |\n|---|---|---|---|---|---|---|\n");
  std::ofstream out;
  if (!json.empty()) out.open(json);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const Row& base = rows[i - i % 2];
    std::printf("| %s | %zu B | %.0f | %.0f | %.0f | %.2fx | %.2fx |\n", r.path.c_str(), r.size, r.msgs_per_s, r.p50_us,
                r.p99_us, r.msgs_per_s / base.msgs_per_s, r.p50_us / base.p50_us);
    if (out) {
      out << "{\"bench\":\"bridge\",\"path\":\"" << r.path << "\",\"size\":" << r.size << ",\"msgs_per_s\":" << r.msgs_per_s
          << ",\"p50_us\":" << r.p50_us << ",\"p99_us\":" << r.p99_us << "}\n";
    }
  }
  return 0;
}
