#include "ringdrop/ring_dead_letters.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

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

Result<std::vector<DeadLetter>> RingDeadLetters::list() const { return channel_.dead_letters(); }

Result<std::vector<std::byte>> RingDeadLetters::payload(std::string_view id) const {
  auto d = channel_.dead_letter(id);
  if (!d) return d.error();
  const detail::Fd fd(::open(d->path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return detail::fs_error(errno, "open", d->path);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return detail::fs_error(errno, "fstat", d->path);
  if (!S_ISREG(st.st_mode)) return detail::fail(errc::unsafe_file, d->path + " is not a regular file");
  std::vector<std::byte> bytes(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return detail::fs_error(errno, "read", d->path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return bytes;
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
  auto bytes = payload(id);
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
