// Out-of-tree C++ user of the installed C++ API (ringdrop::static): one
// message through an SPSC ring, one through a drop channel in a temporary
// directory. Exit 0 when both matched.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include <ringdrop/ringdrop.hpp>
#include <ringdrop/version.hpp>

using namespace ringdrop;
using namespace std::chrono_literals;

namespace {

bool same(const std::vector<std::byte>& got, std::string_view want) {
  return got.size() == want.size() && std::string_view(reinterpret_cast<const char*>(got.data()), got.size()) == want;
}

bool ring_round_trip() {
  const auto where = Location::shm("rdconsumer-cpp-" + std::to_string(::getpid()));
  bool ok = false;
  {
    auto tx = SpscProducer::open(where, OpenMode::create).value();
    auto rx = SpscConsumer::open(where, OpenMode::open).value();
    const std::string_view text = "hello from the C++ API";
    if (!tx.send(bytes_of(text), 1s)) {
      auto got = rx.receive(1s);
      ok = got && same(*got, text);
    }
  }
  (void)Segment::remove(where);
  return ok;
}

bool drop_round_trip() {
  const auto root = std::filesystem::temp_directory_path() / ("rdconsumer-" + std::to_string(::getpid()));
  bool ok = false;
  {
    DropOptions options;
    options.durable = false;
    auto ch = DropChannel::open(root.string(), options).value();
    const std::string_view text = "a file's worth of bytes";
    auto id = ch.publish(bytes_of(text), {{"content-type", "text/plain"}}).value();
    auto rx = DropConsumer::open(ch).value();
    if (auto claim = rx.claim(5s)) {
      auto data = claim->read();
      ok = claim->id() == id && data && same(*data, text) &&
           claim->headers().at("content-type") == "text/plain" && !claim->ack();
    }
  }
  std::filesystem::remove_all(root);
  return ok;
}

}  // namespace

int main() {
  const bool ring = ring_round_trip();
  const bool drop = drop_round_trip();
  std::printf("cpp_user: ringdrop %s, ring %s, drop channel %s\n", RINGDROP_VERSION_STRING,
              ring ? "ok" : "FAILED", drop ? "ok" : "FAILED");
  return ring && drop ? 0 : 1;
}
