#include "inventory.hpp"

#include <algorithm>

#include "ringdrop/error.hpp"

namespace ringdrop::ops {

namespace {

std::string why(std::error_code ec) {
  const std::string detail = last_error_detail();
  return detail.empty() ? ec.message() : ec.message() + ": " + detail;
}

void add_ring(const Location& where, Inventory& into, bool named) {
  auto v = inspect_ring(where);
  if (v) {
    into.rings.push_back(std::move(*v));
  } else if (v.error() == errc::permission_denied && !named) {
    ++into.not_permitted;
  } else if (v.error() != errc::foreign_segment || named) {
    into.unreadable.push_back({where.describe(), why(v.error())});
  }
}

}  // namespace

void scan_shm(const std::filesystem::path& shm_dir, Inventory& into) {
  std::error_code ec;
  std::vector<std::string> names;
  for (std::filesystem::directory_iterator it(shm_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    // POSIX semaphores live here too (sem.<name>): never a segment.
    if (n.rfind("sem.", 0) == 0 || !it->is_regular_file(ec)) continue;
    names.push_back(n);
  }
  if (ec) into.unreadable.push_back({shm_dir.string(), ec.message()});
  std::sort(names.begin(), names.end());
  for (const auto& n : names) add_ring(Location::shm(n), into, false);
}

Inventory take_inventory(const InventoryOptions& options) {
  Inventory inv;
  scan_shm(options.shm_dir, inv);
  for (const auto& p : options.ring_paths) add_ring(Location::file(p), inv, true);
  for (const auto& root : options.channels) {
    auto c = inspect_channel(root);
    if (c) {
      inv.channels.push_back(std::move(*c));
    } else {
      inv.unreadable.push_back({root, why(c.error())});
    }
  }
  std::error_code ec;
  if (std::filesystem::is_directory(options.registry, ec)) {
    auto reg = ServiceRegistry::open(options.registry);
    auto list = reg ? reg->list() : Result<std::vector<ServiceEntry>>(reg.error());
    if (list) {
      inv.services = std::move(*list);
    } else {
      inv.unreadable.push_back({options.registry.string(), why(list.error())});
    }
  }
  return inv;
}

}  // namespace ringdrop::ops
