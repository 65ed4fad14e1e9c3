// drop_watch.hpp — inotify on new/ and incoming/ (or one directory), as a hint.
//
// Events name files that appeared in new/ (renamed or linked in) and say
// that incoming/ changed. A queue overflow (IN_Q_OVERFLOW) means events were
// dropped: the caller rescans. Nothing depends on an event arriving; the
// periodic scan finds whatever the events missed.
#pragma once

#include <string>
#include <vector>

#include "drop/drop_tree.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/wait.hpp"

namespace ringdrop::detail {

class Watch {
 public:
  struct Events {
    std::vector<std::string> ready;  ///< names that appeared in new/
    bool incoming = false;           ///< something happened in incoming/
    bool overflow = false;           ///< events were lost: rescan everything
    bool broken = false;             ///< reading failed: stop using inotify
  };

  static Result<Watch> open(const DropTree& t);
  /// Watches directory `d` alone: Events::ready names what appears in it.
  static Result<Watch> open(const DropTree& t, Dir d);
  Watch(Watch&& other) noexcept;
  Watch& operator=(Watch&& other) noexcept;
  ~Watch();

  /// Reads the pending events without blocking.
  Events drain();
  /// Waits until an event is pending or `until` passes (true: readable).
  bool wait(Deadline until) const;

 private:
  Watch(int fd, int ready_wd, int incoming_wd) noexcept
      : fd_(fd), ready_wd_(ready_wd), incoming_wd_(incoming_wd) {}
  int fd_ = -1, ready_wd_ = -1, incoming_wd_ = -1;
};

/// Sleeps until `until` (for consumers without inotify).
void sleep_until(Deadline until);

}  // namespace ringdrop::detail
