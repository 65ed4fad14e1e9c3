// The README's file-drop example, compiled so it cannot go stale. In real use
// the publisher and the consumer are different processes (or the publisher is
// a legacy program writing into incoming/).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ringdrop/ringdrop.hpp"

namespace {
bool ok(std::span<const std::byte> data) { return data.size() == 8; }
}  // namespace

int main() {
  const auto root = std::filesystem::temp_directory_path() /
                    ("ringdrop-quickstart-" + std::to_string(::getpid()));
  int status = 1;
  {
    // --- README begin
    using namespace ringdrop;
    using namespace std::chrono_literals;

    auto ch = DropChannel::open(root.string()).value();   // creates incoming/ tmp/ new/ work/ ...
    auto id = ch.publish(bytes_of("order 42"), {{"content-type", "text/plain"}}).value();

    auto rx = DropConsumer::open(ch).value();             // any number, in any processes
    if (auto msg = rx.claim(5s)) {                        // exactly one consumer gets it
      auto data = msg->map().value();                     // or read(), or fd()/path()
      ok(data.bytes()) ? msg->ack() : msg->nack("downstream down");
    }
    // --- README end
    const auto left = ch.counts().value();
    std::printf("left in the channel: %llu ready, %llu claimed\n",
                static_cast<unsigned long long>(left.ready), static_cast<unsigned long long>(left.claimed));
    status = left.ready + left.claimed + left.retrying == 0 ? 0 : 1;
  }
  std::filesystem::remove_all(root);
  return status;
}
