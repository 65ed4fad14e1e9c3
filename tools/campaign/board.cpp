// board.cpp — the shared board of a campaign (campaign.hpp), and kind names.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "campaign.hpp"

namespace campaign {

namespace {
const char* const kNames[kKinds] = {"spsc", "mpmc-redeliver", "mpmc-drop", "broadcast-block",
                                    "broadcast-overwrite", "drop"};

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}
}  // namespace

const char* kind_name(Kind k) noexcept { return kNames[static_cast<unsigned>(k)]; }

bool kind_named(std::string_view name, Kind& out) noexcept {
  for (unsigned i = 0; i < kKinds; ++i) {
    if (name == kNames[i]) {
      out = static_cast<Kind>(i);
      return true;
    }
  }
  return false;
}

Board Board::create(const std::string& path, uint64_t log_capacity) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("create " + path);
  Board b;
  b.bytes_ = sizeof(BoardHeader) + log_capacity * sizeof(Entry);
  // Sparse on tmpfs: only the pages written take memory.
  if (::ftruncate(fd, static_cast<off_t>(b.bytes_)) != 0) fail("size " + path);
  void* p = ::mmap(nullptr, b.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) fail("map " + path);
  b.header_ = static_cast<BoardHeader*>(p);
  b.header_->log_capacity = log_capacity;
  b.header_->magic = kBoardMagic;
  return b;
}

Board Board::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) fail("open " + path);
  Board b;
  BoardHeader probe;
  if (::pread(fd, &probe, sizeof probe.magic + sizeof probe.log_capacity, 0) !=
          static_cast<ssize_t>(sizeof probe.magic + sizeof probe.log_capacity) ||
      probe.magic != kBoardMagic) {
    errno = EINVAL;
    fail("board " + path);
  }
  b.bytes_ = sizeof(BoardHeader) + probe.log_capacity * sizeof(Entry);
  void* p = ::mmap(nullptr, b.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) fail("map " + path);
  b.header_ = static_cast<BoardHeader*>(p);
  return b;
}

Board::Board(Board&& o) noexcept
    : header_(std::exchange(o.header_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

Board& Board::operator=(Board&& o) noexcept {
  if (this != &o) {
    this->~Board();
    header_ = std::exchange(o.header_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

Board::~Board() {
  if (header_ != nullptr) ::munmap(header_, bytes_);
}

Entry* Board::append() noexcept {
  const uint64_t i = header_->log_next.fetch_add(1, std::memory_order_relaxed);
  if (i >= header_->log_capacity) {
    header_->log_full.store(1, std::memory_order_relaxed);
    return nullptr;
  }
  return log() + i;
}

}  // namespace campaign
