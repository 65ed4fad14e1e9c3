// The README's C++ example, compiled so it cannot go stale. In real use the
// producer and the consumer are different processes.
#include <cstdio>
#include <cstring>

#include "ringdrop/ringdrop.hpp"

int main() {
  // --- README begin
  using namespace ringdrop;
  using namespace std::chrono_literals;

  auto tx = SpscProducer::open(Location::shm("quickstart"), OpenMode::open_or_create).value();
  auto rx = SpscConsumer::open(Location::shm("quickstart"), OpenMode::open).value();

  tx.send(bytes_of("hello"), 1s);                // copy in; every wait has a timeout
  auto msg = rx.receive(100ms);                  // the bytes, or timed_out, peer_gone, ...

  auto span = tx.reserve(64, 1s).value();        // zero-copy: write straight into the ring
  std::memset(span.data(), 42, span.size());
  tx.commit(span.size());                        // now the consumer can see it
  auto view = rx.read(100ms).value();            // read it in place
  rx.release();                                  // and hand the space back
  // --- README end
  std::printf("received %zu bytes, then %zu in place\n", msg.value().size(), view.size());
  return Segment::remove(Location::shm("quickstart")) ? 1 : 0;
}
