// scope.hpp — what the console may show and touch: the rings in /dev/shm
// this user may open, the file-backed rings and drop channels named at
// start, and the registered services (their request rings are rings).
//
// A store is asked for by its label ("shm:orders", "file:/srv/r", or a
// channel's root as it was named). The label is only compared with the
// labels of this scope, never opened as a path: a request cannot reach a
// directory that was not named at start, with ".." or otherwise.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dead_letter_store.hpp"
#include "inventory.hpp"

namespace ringdrop::console {

class Scope {
 public:
  explicit Scope(ops::InventoryOptions options) : options_(std::move(options)) {}

  ops::Inventory inventory() const { return ops::take_inventory(options_); }

  /// The dead letters of the ring or channel labelled `label`. Errors:
  /// not_found (no such store in this scope), and those of
  /// DeadLetterStore::of_ring / of_channel.
  Result<ops::DeadLetterStore> store(std::string_view label) const;

  /// Every ring of `inv` with dead letters and every channel named; what
  /// could not be opened is added to `unreadable`.
  std::vector<ops::DeadLetterStore> stores(const ops::Inventory& inv, std::vector<ops::Unreadable>& unreadable) const;

 private:
  ops::InventoryOptions options_;
};

}  // namespace ringdrop::console
