// ringdrop/circuit_breaker.hpp — stop calling a service that keeps failing.
//
// A client that sends request after request to a server that has died or
// hangs waits out a full timeout for each of them. A circuit breaker (one
// per client and service) notices the run of failures and makes further
// calls fail at once with errc::circuit_open, for a cool-down; then it lets
// one trial call through, whose outcome decides whether traffic resumes.
//
//   CircuitBreaker breaker({.failure_threshold = 5, .cool_down = 1s});
//   if (auto ec = breaker.admit()) return ec;       // errc::circuit_open
//   auto reply = call(request, 200ms);              // the real call
//   breaker.record(reply.error());                  // {} on success
//
// States:
//
//   closed     calls go through. `failure_threshold` consecutive failures
//              open it.
//   open       admit() rejects every call (circuit_open) until `cool_down`
//              has passed since it opened; the next admit() then makes it
//              half_open and admits that call as the trial.
//   half_open  exactly one trial is out; admit() rejects every other call.
//              The trial's success closes the breaker; its failure opens it
//              again for another cool-down. A trial whose outcome is never
//              recorded (a caller that lost it) is given up after another
//              `cool_down`, and the next admit() becomes the new trial, so a
//              lost outcome cannot keep the breaker shut for good.
//
// What is a failure: only an outcome that says the service did not answer —
// errc::timed_out (no reply in time) and errc::peer_gone (the server died).
// Success, and every other error (remote_error, bad_message, unknown_type,
// deadline_exceeded...: the service answered, even if with an error), count
// as success. See is_failure().
//
// Time is the caller's: admit() and record() take the current time point of
// the monotonic Clock (defaulting to Clock::now()), so tests and simulations
// drive it explicitly.
//
// Thread safety: none. A breaker belongs to one client used by one thread,
// which calls record() exactly once, in order, for each call admit() let
// through (and never for a rejected one).
#pragma once

#include <chrono>
#include <cstdint>
#include <system_error>

#include "ringdrop/export.hpp"
#include "ringdrop/wait.hpp"

namespace ringdrop {

struct CircuitBreakerOptions {
  /// Consecutive failures that open the breaker; 0 disables it (admit()
  /// always says yes; outcomes are still counted).
  uint32_t failure_threshold = 5;
  /// How long an open breaker rejects calls before it admits a trial.
  std::chrono::nanoseconds cool_down = std::chrono::seconds(1);
};

enum class CircuitState : uint8_t { closed, open, half_open };

/// "closed", "open" or "half-open".
RINGDROP_API const char* to_string(CircuitState state) noexcept;

/// What a breaker has seen since it was made.
struct CircuitStats {
  CircuitState state = CircuitState::closed;
  uint32_t consecutive_failures = 0;  ///< the current run (0 after a success)
  uint64_t opened = 0;                ///< times it opened (re-opening after a failed trial included)
  uint64_t rejected = 0;              ///< calls admit() refused with circuit_open
  uint64_t trials = 0;                ///< trial calls admitted while half_open
  uint64_t failures = 0;              ///< outcomes recorded as failures
  uint64_t successes = 0;             ///< outcomes recorded as successes
};

class RINGDROP_API CircuitBreaker {
 public:
  explicit CircuitBreaker(CircuitBreakerOptions options = {}) noexcept;

  /// Whether to send a call now: {} to send it (then record() its outcome),
  /// or errc::circuit_open to fail fast without sending it. An open breaker
  /// whose cool-down has passed becomes half_open here and admits this call
  /// as its one trial.
  std::error_code admit(Clock::time_point now = Clock::now());

  /// The outcome of a call admit() let through: {} or an error. Failures
  /// (is_failure) extend the run and may open the breaker; anything else
  /// ends the run. While half_open, this is the trial's outcome: success
  /// closes the breaker, failure opens it again from `now`. While open (a
  /// call admitted before it opened answers late), only counters change.
  void record(std::error_code outcome, Clock::time_point now = Clock::now()) noexcept;

  CircuitStats stats() const noexcept;
  const CircuitBreakerOptions& options() const noexcept { return options_; }

  /// True for the outcomes that count against the service: errc::timed_out
  /// and errc::peer_gone.
  static bool is_failure(std::error_code outcome) noexcept;

 private:
  bool cooled_down(Clock::time_point now) const noexcept;
  std::error_code reject();
  void trip(Clock::time_point now) noexcept;
  void on_failure(Clock::time_point now) noexcept;
  void on_success() noexcept;

  CircuitBreakerOptions options_;
  CircuitStats stats_;
  /// When it last opened, or when the current trial was admitted.
  Clock::time_point since_{};
};

}  // namespace ringdrop
