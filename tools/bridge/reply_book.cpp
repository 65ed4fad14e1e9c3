#include "reply_book.hpp"

namespace ringdrop::bridge {

uint64_t ReplyBook::local_id(std::string_view queue, std::string_view ringdrop, std::string_view request_id) noexcept {
  // FNV-1a 64 over the three, each ended by a 0 byte (so "ab"+"c" is not
  // "a"+"bc"), then the murmur3 finaliser to spread it.
  uint64_t h = 0xcbf29ce484222325ull;
  for (std::string_view part : {queue, ringdrop, request_id}) {
    for (const char c : part) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

void ReplyBook::put(uint64_t local, ReplyAddress to) {
  std::lock_guard lock(mutex_);
  auto [it, fresh] = to_.try_emplace(local);
  it->second.to = std::move(to);
  ++it->second.replies;
  if (fresh) order_.push_back(local);
  while (to_.size() > capacity_ && !order_.empty()) {
    if (to_.erase(order_.front()) != 0) ++evicted_;
    order_.pop_front();
  }
  // Ids taken meanwhile stay in order_; once they outnumber the living
  // three to one, order_ keeps only the living (amortized: O(1) a put).
  if (order_.size() > 4 * to_.size() + 64) {
    std::deque<uint64_t> living;
    for (uint64_t i : order_) {
      if (to_.contains(i)) living.push_back(i);
    }
    order_ = std::move(living);
  }
}

void ReplyBook::drop_one(uint64_t local) {
  auto it = to_.find(local);
  if (it != to_.end() && --it->second.replies == 0) to_.erase(it);
}

std::optional<ReplyAddress> ReplyBook::take(uint64_t local) {
  std::lock_guard lock(mutex_);
  auto it = to_.find(local);
  if (it == to_.end()) return std::nullopt;
  ReplyAddress to = it->second.to;
  drop_one(local);
  return to;
}

void ReplyBook::forget(uint64_t local) {
  std::lock_guard lock(mutex_);
  drop_one(local);
}

size_t ReplyBook::size() const {
  std::lock_guard lock(mutex_);
  return to_.size();
}

uint64_t ReplyBook::evicted() const {
  std::lock_guard lock(mutex_);
  return evicted_;
}

}  // namespace ringdrop::bridge
