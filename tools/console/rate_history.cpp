#include "rate_history.hpp"

namespace ringdrop::console {

void RateHistory::sample(const ops::Inventory& inv, std::chrono::steady_clock::time_point at) {
  std::lock_guard lock(mutex_);
  std::map<std::string, Series> next;
  for (const auto& r : inv.rings) {
    const std::string label = r.where.describe();
    auto it = series_.find(label);
    Series s;
    if (it != series_.end() && r.committed >= it->second.committed) {  // else: a new ring of the same name
      s = std::move(it->second);
      const double seconds = std::chrono::duration<double>(at - s.at).count();
      s.rates.push_back(seconds > 0 ? static_cast<double>(r.committed - s.committed) / seconds : 0.0);
      if (s.rates.size() > keep_) s.rates.pop_front();
    }
    s.committed = r.committed;
    s.at = at;
    next.emplace(label, std::move(s));
  }
  series_ = std::move(next);
}

ops::Json RateHistory::to_json() const {
  std::lock_guard lock(mutex_);
  ops::Json out = ops::Json::object();
  for (const auto& [label, s] : series_) out[label] = s.rates;
  return out;
}

}  // namespace ringdrop::console
