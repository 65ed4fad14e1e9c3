// rate_history.hpp — messages per second of each ring over the last
// minutes, for the overview's charts: its committed counter, sampled at a
// fixed interval by the console's sampler thread. A ring that disappears
// is forgotten; one that appears starts with one sample.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "inventory.hpp"
#include "ops_json.hpp"

namespace ringdrop::console {

class RateHistory {
 public:
  explicit RateHistory(size_t keep = 120) : keep_(keep) {}

  /// Adds a sample taken at `at` from the rings of `inv`.
  void sample(const ops::Inventory& inv, std::chrono::steady_clock::time_point at);
  /// {"shm:orders": [rate, ...]}, oldest first.
  ops::Json to_json() const;

 private:
  struct Series {
    uint64_t committed = 0;
    std::chrono::steady_clock::time_point at;
    std::deque<double> rates;
  };
  size_t keep_;
  mutable std::mutex mutex_;
  std::map<std::string, Series> series_;
};

}  // namespace ringdrop::console
