// roles.hpp — the processes a campaign runs, and the ring geometry and
// channel options that the orchestrator (which creates each ring) and the
// roles (which open it) share.
//
// A role is this same program run as
//   ringdrop-campaign --role ROLE --kind KIND --ring NAME --board PATH
//                     --slot S --incarnation I --seed X [--count N]
//                     [--timeout-ms T]
// ROLE: producer | consumer (campaign roles, run until told to stop through
// the board, killed and restarted at random), final-producer (sends N
// messages from the final slot, then leaves), final-consumer (reads until it
// has all N final messages; exit 3 if they do not come within 15 s).
// NAME is the shm name of the ring, or the drop channel's root directory.
// T: the timeout of each blocking call (reserve, read, claim), after which
// the role looks at the board and calls again; 0 or absent: the incarnation
// picks one from its seed (mostly 100 ms, a quarter 1-40 ms).
// Exit 0 when done; on anything unexpected one line on stderr and exit 1.
#pragma once

#include <chrono>
#include <cstdint>

#include "ringdrop/drop_types.hpp"

namespace campaign {

// Small rings, so they fill, wrap and block all the time.
inline constexpr uint64_t kSpscCapacity = 4096;
inline constexpr uint64_t kSpscMaxMessage = 600;
inline constexpr uint64_t kMpmcCapacity = 4096;        // 32 cells
inline constexpr uint32_t kMpmcCell = 128;
inline constexpr uint64_t kBroadcastCapacity = 8192;   // 64 cells
inline constexpr uint32_t kBroadcastCell = 128;
inline constexpr uint64_t kDropMaxMessage = 300;
inline constexpr std::chrono::milliseconds kDropLease{1000};
/// Drop producers wait while new/ and work/ hold this many messages. A
/// consumer's full scan (every scan_interval, here 100 ms) lists new/; once
/// a scan takes longer than the interval, every claim is preceded by one
/// and the channel delivers a message per scan (tens per second at 60,000
/// files with two consumers): the campaign keeps clear of that.
inline constexpr uint64_t kDropBacklog = 1000;

/// The drop channel's options, the same in every process.
ringdrop::DropOptions drop_options(bool create);

/// Runs the role named on the command line; the process's exit code.
int run_role(int argc, char** argv);

}  // namespace campaign
