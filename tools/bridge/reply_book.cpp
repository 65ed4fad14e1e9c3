#include "reply_book.hpp"

namespace ringdrop::bridge {

void ReplyBook::put(uint64_t id, ReplyAddress to) {
  std::lock_guard lock(mutex_);
  if (to_.insert_or_assign(id, std::move(to)).second) order_.push_back(id);
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

std::optional<ReplyAddress> ReplyBook::take(uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = to_.find(id);
  if (it == to_.end()) return std::nullopt;
  ReplyAddress to = std::move(it->second);
  to_.erase(it);
  return to;
}

void ReplyBook::forget(uint64_t id) {
  std::lock_guard lock(mutex_);
  to_.erase(id);
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
