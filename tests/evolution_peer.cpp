// ringdrop-evolution-v1 / -v2 — one program built against version 1 or 2 of
// tests/schemas/evolution_v*.capnp (EVO_VERSION), so a test can put a new
// producer and an old consumer (and the other way round) on one ring.
//
//   send <ring> <n>      n Readings (v2 also sets unit and quality, and sends
//                        a Calibration, a type v1 does not know, after the first)
//   receive <ring> <n>   prints each message until n Readings came:
//                          "reading <sensor> <value>[ unit=<u> quality=<q>]"
//                          "calibration <sensor> <offset>" (v2 only)
//                          "unknown type 0x<id>"
//                        then "done"
#include <cstdio>
#include <string>

#include "ringdrop/spsc_ring.hpp"
#include "ringdrop/typed_ring.hpp"

#if EVO_VERSION == 1
#include "evolution_v1.capnp.h"
#else
#include "evolution_v2.capnp.h"
#endif

using namespace ringdrop;
using namespace std::chrono_literals;

namespace {

int fail(const char* what, std::error_code ec) {
  std::printf("error %s: %s (%s)\n", what, ec.message().c_str(), last_error_detail().c_str());
  return 2;
}

int send(const Location& where, int n) {
  auto ring = SpscProducer::open(where, OpenMode::open_or_create);
  if (!ring) return fail("open", ring.error());
  TypedSender tx(std::move(*ring));
  for (int i = 0; i < n; ++i) {
    auto ec = tx.send<evo::Reading>([&](evo::Reading::Builder r) {
      r.setSensor("s" + std::to_string(i));
      r.setValue(i * 1.5);
#if EVO_VERSION >= 2
      r.setUnit("kPa");
      r.setQuality(static_cast<uint8_t>(50 + i));
#endif
    }, deadline_after(10s), {.schema_version = EVO_VERSION});
    if (ec) return fail("send", ec);
#if EVO_VERSION >= 2
    if (i == 0) {
      ec = tx.send<evo::Calibration>([](evo::Calibration::Builder c) {
        c.setSensor("s0");
        c.setOffset(0.25);
      }, deadline_after(10s), {.schema_version = EVO_VERSION});
      if (ec) return fail("send calibration", ec);
    }
#endif
  }
  return 0;
}

int receive(const Location& where, int n) {
  auto ring = SpscConsumer::open(where, OpenMode::open_or_create);
  if (!ring) return fail("open", ring.error());
  TypedReceiver rx(std::move(*ring));
  for (int readings = 0; readings < n;) {
    auto msg = rx.receive(deadline_after(30s));
    if (!msg) return fail("receive", msg.error());
#if EVO_VERSION >= 2
    if ((*msg)->is<evo::Calibration>()) {
      auto c = (*msg)->payload<evo::Calibration>().value();
      std::printf("calibration %s %.2f\n", c.getSensor().cStr(), c.getOffset());
      continue;
    }
#endif
    if (!(*msg)->is<evo::Reading>()) {
      std::printf("unknown type 0x%016llx\n", static_cast<unsigned long long>((*msg)->type_id()));
      continue;
    }
    auto r = (*msg)->payload<evo::Reading>().value();
    std::printf("reading %s %.2f", r.getSensor().cStr(), r.getValue());
#if EVO_VERSION >= 2
    std::printf(" unit=%s quality=%u", r.getUnit().cStr(), static_cast<unsigned>(r.getQuality()));
#endif
    std::printf("\n");
    ++readings;
  }
  std::printf("done\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return 64;
  const std::string mode = argv[1];
  const Location where = Location::shm(argv[2]);
  const int n = std::stoi(argv[3]);
  if (mode == "send") return send(where, n);
  if (mode == "receive") return receive(where, n);
  return 64;
}
