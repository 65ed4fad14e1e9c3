// inventory.hpp — everything ringdrop has on this host, in one look: the
// rings in /dev/shm (and file-backed ones named), the drop channels named,
// and the registered services. Nothing is attached to, created or removed.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "channel_view.hpp"
#include "ring_view.hpp"
#include "ringdrop/service_registry.hpp"

namespace ringdrop::ops {

struct InventoryOptions {
  std::filesystem::path shm_dir = "/dev/shm";  ///< where shm segments appear
  std::vector<std::string> ring_paths;         ///< file-backed rings
  std::vector<std::string> channels;           ///< drop channel roots
  std::filesystem::path registry = ServiceRegistry::default_directory();
};

/// A name that looks like ours but could not be read, and why.
struct Unreadable {
  std::string name;
  std::string why;
};

struct Inventory {
  std::vector<RingView> rings;           ///< sorted by name
  std::vector<ChannelView> channels;     ///< in the order named
  std::vector<ServiceEntry> services;    ///< live and dead (ServiceEntry::alive)
  std::vector<Unreadable> unreadable;    ///< rings, channels and the registry that failed
  size_t not_permitted = 0;              ///< shm entries this user may not open (not shown)
};

Inventory take_inventory(const InventoryOptions& options);

/// Every ring in `shm_dir`, with what could not be read. Other programs'
/// segments (no ringdrop magic) are left out.
void scan_shm(const std::filesystem::path& shm_dir, Inventory& into);

}  // namespace ringdrop::ops
