#include "ringdrop/ring_dead_letters.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <limits>

#include "core/posix_file.hpp"
#include "ring/dead_letter_sink.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/spsc_ring.hpp"

namespace ringdrop {

Result<RingDeadLetters> RingDeadLetters::open(const Location& ring, std::string dir) {
  auto store = detail::open_dead_letter_store(ring, dir, false);
  if (!store) return store.error();
  return RingDeadLetters(ring, std::move(*store));
}

Result<RingDeadLetters> RingDeadLetters::create(const Location& ring, std::string dir) {
  auto store = detail::open_dead_letter_store(ring, dir, true);
  if (!store) return store.error();
  return RingDeadLetters(ring, std::move(*store));
}

Result<std::string> RingDeadLetters::put(std::span<const std::byte> message, uint32_t attempts,
                                         std::string_view reason, std::string_view who, RingKind kind) {
  const DropHeaders headers{{std::string(drop_header::source), ring_.describe()},
                            {std::string(drop_header::source_kind), to_string(kind)}};
  return channel_.put_dead_letter(message, headers, attempts, reason, who);
}

Result<std::vector<DeadLetter>> RingDeadLetters::list() const { return channel_.dead_letters(); }

namespace {

// A dead letter's bytes: its file, only if a regular one.
Result<std::vector<std::byte>> read_payload(const DeadLetter& d) {
  auto fd = detail::open_regular(AT_FDCWD, d.path, O_RDONLY, d.path);
  if (!fd) return fd.error();
  auto text = detail::read_small(fd->get(), std::numeric_limits<size_t>::max(), detail::Overlong::refuse, d.path);
  if (!text) return text.error();
  const auto* b = reinterpret_cast<const std::byte*>(text->data());
  return std::vector<std::byte>(b, b + text->size());
}

}  // namespace

Result<std::vector<std::byte>> RingDeadLetters::payload(std::string_view id) const {
  auto d = channel_.dead_letter(id);
  if (!d) return d.error();
  return read_payload(*d);
}

namespace {

template <typename Producer>
std::error_code send_back(const Location& ring, std::span<const std::byte> bytes, std::chrono::nanoseconds timeout) {
  auto tx = Producer::open(ring, OpenMode::open);
  if (!tx) return tx.error();
  return tx->send(bytes, timeout);
}

}  // namespace

std::error_code RingDeadLetters::requeue(std::string_view id, std::chrono::nanoseconds timeout) {
  auto d = channel_.dead_letter(id);
  if (!d) return d.error();
  auto bytes = read_payload(*d);
  if (!bytes) return bytes.error();
  const auto kind = d->headers.find(drop_header::source_kind);
  const bool spsc = kind != d->headers.end() && kind->second == to_string(RingKind::spsc);
  const std::error_code ec = spsc ? send_back<SpscProducer>(ring_, *bytes, timeout)
                                  : send_back<MpmcProducer>(ring_, *bytes, timeout);
  if (ec) return ec;
  return channel_.purge(id);
}

std::error_code RingDeadLetters::purge(std::string_view id) { return channel_.purge(id); }

}  // namespace ringdrop
