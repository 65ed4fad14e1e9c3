// lru_map.hpp — a small map that forgets its least recently used entry
// beyond a capacity: the RPC server's open reply rings and remembered
// replies.
#pragma once

#include <cstddef>
#include <list>
#include <unordered_map>
#include <utility>

namespace ringdrop::detail {

template <class K, class V>
class LruMap {
 public:
  explicit LruMap(size_t capacity) : capacity_(capacity) {}

  /// The value of `key` (now the most recently used), or null.
  V* find(const K& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  /// Adds or replaces `key`; forgets the least recently used entry when
  /// full. A capacity of 0 keeps nothing (and returns null).
  V* put(const K& key, V value) {
    if (capacity_ == 0) return nullptr;
    erase(key);
    if (order_.size() == capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    order_.emplace_front(key, std::move(value));
    index_[key] = order_.begin();
    return &order_.front().second;
  }

  void erase(const K& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    order_.erase(it->second);
    index_.erase(it);
  }

  size_t size() const noexcept { return order_.size(); }

 private:
  size_t capacity_;
  std::list<std::pair<K, V>> order_;  // most recently used first
  std::unordered_map<K, typename std::list<std::pair<K, V>>::iterator> index_;
};

}  // namespace ringdrop::detail
