#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "drop/drop_counters.hpp"
#include "drop/drop_dead_letter.hpp"
#include "drop/drop_name.hpp"
#include "drop/drop_receipt.hpp"
#include "drop/drop_settle.hpp"
#include "ringdrop/drop_consumer.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop {

using detail::Dir;

namespace {

std::error_code settled_already() {
  return detail::fail(errc::invalid_argument, "the claim was already settled");
}

/// A rename out of work/ that found nothing: the lease had expired and the
/// message was taken back.
std::error_code lease_lost_or(std::error_code ec, const std::string& id) {
  if (ec != errc::not_found) return ec;
  return detail::fail(errc::lease_lost, "message " + id + " was no longer claimed by this consumer");
}

}  // namespace

// --- MappedFile ---------------------------------------------------------------

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

// --- DropClaim ----------------------------------------------------------------

DropClaim::DropClaim(std::shared_ptr<detail::DropConsumerState> state, std::string id,
                     uint32_t attempt, std::string work_name, int fd, uint64_t size,
                     DropHeaders headers, std::chrono::system_clock::time_point lease_end) noexcept
    : state_(std::move(state)), id_(std::move(id)), attempt_(attempt),
      work_name_(std::move(work_name)), fd_(fd), size_(size), headers_(std::move(headers)),
      lease_end_(lease_end) {}

DropClaim::DropClaim(DropClaim&& o) noexcept
    : state_(std::move(o.state_)), id_(std::move(o.id_)), attempt_(o.attempt_),
      work_name_(std::move(o.work_name_)), fd_(std::exchange(o.fd_, -1)), size_(o.size_),
      headers_(std::move(o.headers_)), lease_end_(o.lease_end_) {}

DropClaim& DropClaim::operator=(DropClaim&& o) noexcept {
  if (this != &o) {
    this->~DropClaim();
    new (this) DropClaim(std::move(o));
  }
  return *this;
}

DropClaim::~DropClaim() {
  if (!settled()) {
    try {
      (void)nack("abandoned: the claim was dropped without ack, nack or reject");
    } catch (...) {  // out of memory: the lease will bring the message back
    }
  }
  close_fd();  // when even the nack failed, the lease will bring it back
}

void DropClaim::close_fd() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

std::string DropClaim::path() const { return state_->tree->path(Dir::work, work_name_); }

Result<std::vector<std::byte>> DropClaim::read() const {
  if (settled()) return settled_already();
  std::vector<std::byte> out(size_);
  std::size_t got = 0;
  for (;;) {
    if (got == out.size()) out.resize(out.size() + 64 * 1024);  // the file grew
    const ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return detail::fs_error(errno, "read", path());
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<MappedFile> DropClaim::map() const {
  if (settled()) return settled_already();
  struct stat st{};
  if (::fstat(fd_, &st) != 0) return detail::fs_error(errno, "stat", path());
  if (st.st_size == 0) return MappedFile{};
  const auto size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) return detail::fs_error(errno, "mmap", path());
  return MappedFile(static_cast<const std::byte*>(p), size);
}

std::error_code DropClaim::extend(std::chrono::milliseconds lease) {
  if (settled()) return settled_already();
  const detail::DropTree& t = *state_->tree;
  const auto length = lease.count() > 0 ? lease : t.options.lease;
  const int64_t end = detail::wall_ms() + length.count();
  std::string renamed = detail::work_name(id_, attempt_, state_->consumer_id, end);
  if (renamed != work_name_) {
    if (auto ec = detail::move_entry(t, Dir::work, work_name_, Dir::work, renamed)) {
      if (ec == errc::not_found) close_fd();
      return lease_lost_or(ec, id_);
    }
    work_name_ = std::move(renamed);
  }
  lease_end_ = std::chrono::system_clock::time_point(std::chrono::milliseconds(end));
  return {};
}

std::error_code DropClaim::ack() {
  if (settled()) return settled_already();
  const detail::DropTree& t = *state_->tree;
  const std::string key = detail::message_key(headers_, id_);
  // A producer's key first: other messages carry it too, and once it is
  // recorded none of them is processed again, whatever happens next.
  const bool own_key = key != id_;
  if (own_key) {
    if (auto ec = detail::record_key(t, key)) return ec;
  }
  const auto ec = detail::finish_message(t, id_, attempt_, work_name_);
  if (ec && ec != errc::not_found) return ec;  // still claimed: the caller may retry
  close_fd();
  if (!ec) {
    detail::DropCounters::add(state_->counters.acked);
    detail::write_receipt(t, id_, headers_, "processed");
    return {};
  }
  // The lease was lost: the file went back to new/ (or to another consumer)
  // and is a second copy of what was just processed. Record the id so that
  // copy is skipped. (When the removal succeeds there is no other copy, so
  // an id needs no record: that spares a file per message.)
  if (!own_key) (void)detail::record_key(t, key);
  return lease_lost_or(ec, id_);
}

std::error_code DropClaim::nack(std::string_view reason) {
  if (settled()) return settled_already();
  const detail::DropTree& t = *state_->tree;
  if (attempt_ >= t.options.max_attempts) {
    return settle_to_failed(std::string(reason) + " (gave up after " + std::to_string(attempt_) +
                            " attempts)");
  }
  const int64_t not_before = detail::wall_ms() + detail::retry_delay(t.options, attempt_).count();
  const auto ec = detail::move_entry(t, Dir::work, work_name_, Dir::retry,
                                     detail::retry_name(id_, attempt_, not_before));
  if (ec && ec != errc::not_found) return ec;
  close_fd();
  if (!ec) detail::DropCounters::add(state_->counters.nacked);
  return lease_lost_or(ec, id_);
}

std::error_code DropClaim::reject(std::string_view reason) {
  if (settled()) return settled_already();
  return settle_to_failed(reason);
}

std::error_code DropClaim::settle_to_failed(std::string_view reason) {
  const auto ec = detail::move_to_failed(
      *state_->tree, {Dir::work, work_name_, id_, attempt_, std::string(reason), state_->consumer_id});
  if (ec && ec != errc::not_found) return ec;
  close_fd();
  if (!ec) detail::DropCounters::add(state_->counters.dead_lettered);
  return lease_lost_or(ec, id_);
}

}  // namespace ringdrop
