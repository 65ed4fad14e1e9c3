#include "scope.hpp"

#include "ringdrop/error.hpp"

namespace ringdrop::console {

Result<ops::DeadLetterStore> Scope::store(std::string_view label) const {
  for (const auto& root : options_.channels) {
    if (root == label) return ops::DeadLetterStore::of_channel(root);
  }
  if (label.substr(0, 4) == "shm:" || label.substr(0, 5) == "file:") {
    ops::Inventory inv;
    ops::scan_shm(options_.shm_dir, inv);
    for (const auto& path : options_.ring_paths) {
      if (auto r = ops::inspect_ring(Location::file(path))) inv.rings.push_back(std::move(*r));
    }
    for (const auto& r : inv.rings) {
      if (r.where.describe() == label) return ops::DeadLetterStore::of_ring(r.where);
    }
  }
  return detail::fail(errc::not_found, "no ring or channel '" + std::string(label) + "' in the console's scope");
}

std::vector<ops::DeadLetterStore> Scope::stores(const ops::Inventory& inv,
                                                std::vector<ops::Unreadable>& unreadable) const {
  std::vector<ops::DeadLetterStore> out;
  const auto add = [&](Result<ops::DeadLetterStore> s, const std::string& name) {
    if (s) {
      out.push_back(std::move(*s));
    } else {
      unreadable.push_back({name, s.error().message()});
    }
  };
  for (const auto& r : inv.rings) {
    if (r.dead_letters > 0) add(ops::DeadLetterStore::of_ring(r.where), r.where.describe());
  }
  for (const auto& c : options_.channels) add(ops::DeadLetterStore::of_channel(c), c);
  return out;
}

}  // namespace ringdrop::console
