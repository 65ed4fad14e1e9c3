#include "dead_letter_store.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <cstring>
#include <iterator>

#include "ringdrop/error.hpp"

namespace ringdrop::ops {

Result<DeadLetterStore> DeadLetterStore::of_channel(const std::string& root) {
  DropOptions o;
  o.create = false;
  auto ch = DropChannel::open(root, o);
  if (!ch) return ch.error();
  DeadLetterStore s;
  s.label_ = root;
  s.root_ = root;
  s.channel_.emplace(std::move(*ch));
  return s;
}

Result<DeadLetterStore> DeadLetterStore::of_ring(const Location& ring) {
  DeadLetterStore s;
  s.label_ = ring.describe();
  s.is_ring_ = true;
  auto dl = RingDeadLetters::open(ring);
  if (dl) {
    s.root_ = dl->dir();
    s.ring_.emplace(std::move(*dl));
    return s;  // its dead letters outlive the ring
  }
  if (dl.error() != errc::not_found) return dl.error();
  // No store: fine for a ring that never had a dead letter, but the ring
  // must then be one (a typo, or another program's segment, is an error).
  auto seg = Segment::inspect(ring);
  if (!seg) {
    if (seg.error() == errc::not_found) {
      return detail::fail(errc::not_found, "no ring " + ring.describe() + ", and no dead letters of one");
    }
    return seg.error();
  }
  return s;
}

std::error_code DeadLetterStore::check_id(std::string_view id) const {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string_view::npos ||
      id.find('\0') != std::string_view::npos) {
    return detail::fail(errc::invalid_argument, "'" + std::string(id) + "' is not a dead letter id (of " + label_ + ")");
  }
  return {};
}

Result<std::vector<DeadLetter>> DeadLetterStore::list() const {
  if (ring_) return ring_->list();
  if (channel_) return channel_->dead_letters();
  return std::vector<DeadLetter>{};  // a ring that never had one
}

Result<DeadLetter> DeadLetterStore::find(std::string_view id) const {
  if (auto ec = check_id(id)) return ec;
  if (channel_) return channel_->dead_letter(id);
  auto all = list();
  if (!all) return all.error();
  for (auto& d : *all) {
    if (d.id == id) return std::move(d);
  }
  return detail::fail(errc::not_found, "no dead letter " + std::string(id) + " of " + label_);
}

Result<std::vector<std::byte>> DeadLetterStore::body(std::string_view id) const {
  if (auto ec = check_id(id)) return ec;
  if (ring_) return ring_->payload(id);
  auto d = find(id);
  if (!d) return d.error();
  struct stat st{};
  if (::lstat(d->path.c_str(), &st) != 0) return detail::fail(errc::not_found, d->path + " vanished");
  if (!S_ISREG(st.st_mode)) return detail::fail(errc::unsafe_file, d->path + " is not a regular file");
  std::ifstream in(d->path, std::ios::binary);
  if (!in) return detail::fail(errc::not_found, "cannot read " + d->path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

std::error_code DeadLetterStore::requeue(std::string_view id, std::chrono::nanoseconds timeout) {
  if (auto ec = check_id(id)) return ec;
  if (ring_) return ring_->requeue(id, timeout);
  if (channel_) return channel_->requeue(id);
  return detail::fail(errc::not_found, "no dead letter " + std::string(id) + " of " + label_);
}

std::error_code DeadLetterStore::purge(std::string_view id) {
  if (auto ec = check_id(id)) return ec;
  if (ring_) return ring_->purge(id);
  if (channel_) return channel_->purge(id);
  return detail::fail(errc::not_found, "no dead letter " + std::string(id) + " of " + label_);
}

Result<std::string> DeadLetterStore::move_to(std::string_view id, DropChannel& dest) {
  auto d = find(id);
  if (!d) return d.error();
  DropHeaders headers = d->headers;
  headers.erase("published-at");  // the new id carries the new time
  headers["requeued-from"] = label_ + "/" + d->id;
  // One rename, when the dead letter's file and the channel share a file
  // system (publish_file refuses otherwise, and moves nothing).
  auto moved = dest.publish_file(d->path, headers);
  if (moved) {
    std::error_code ec;  // what is left of it: best effort, as a purge's
    std::filesystem::remove(root_ + "/failed/" + d->id + ".reason", ec);
    std::filesystem::remove(root_ + "/state/meta/" + d->id, ec);
    return moved;
  }
  if (moved.error() != errc::invalid_argument) return moved.error();
  auto bytes = body(id);
  if (!bytes) return bytes.error();
  auto published = dest.publish(*bytes, headers);
  if (!published) return published.error();
  if (auto ec = purge(id)) return ec;
  return published;
}

}  // namespace ringdrop::ops
