#include "ringdrop/circuit_breaker.hpp"

#include <string>

#include "ringdrop/error.hpp"

namespace ringdrop {

const char* to_string(CircuitState state) noexcept {
  switch (state) {
    case CircuitState::closed: return "closed";
    case CircuitState::open: return "open";
    case CircuitState::half_open: return "half-open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options) noexcept : options_(options) {}

bool CircuitBreaker::is_failure(std::error_code outcome) noexcept {
  return outcome == errc::timed_out || outcome == errc::peer_gone;
}

std::error_code CircuitBreaker::admit(Clock::time_point now) {
  switch (stats_.state) {
    case CircuitState::closed:
      return {};
    case CircuitState::open:
    case CircuitState::half_open:
      // Half-open: `since_` is when the trial went out; a trial not recorded
      // within a cool-down is given up, and this call becomes the next one.
      if (!cooled_down(now)) return reject();
      stats_.state = CircuitState::half_open;
      since_ = now;
      ++stats_.trials;
      return {};
  }
  return {};
}

void CircuitBreaker::record(std::error_code outcome, Clock::time_point now) noexcept {
  if (is_failure(outcome)) {
    on_failure(now);
  } else {
    on_success();
  }
}

CircuitStats CircuitBreaker::stats() const noexcept { return stats_; }

bool CircuitBreaker::cooled_down(Clock::time_point now) const noexcept {
  // A negative cool-down is no cool-down; comparing durations (not adding
  // to `since_`) cannot overflow for any time point the caller passes.
  return now - since_ >= options_.cool_down;
}

std::error_code CircuitBreaker::reject() {
  ++stats_.rejected;
  return detail::fail(errc::circuit_open,
                      std::string("circuit ") + to_string(stats_.state) + " after " +
                          std::to_string(stats_.consecutive_failures) + " consecutive failures");
}

void CircuitBreaker::trip(Clock::time_point now) noexcept {
  stats_.state = CircuitState::open;
  since_ = now;
  ++stats_.opened;
}

void CircuitBreaker::on_failure(Clock::time_point now) noexcept {
  ++stats_.failures;
  ++stats_.consecutive_failures;
  switch (stats_.state) {
    case CircuitState::closed:
      if (options_.failure_threshold != 0 &&
          stats_.consecutive_failures >= options_.failure_threshold) {
        trip(now);
      }
      return;
    case CircuitState::half_open:
      trip(now);  // the trial failed: another full cool-down
      return;
    case CircuitState::open:
      return;  // a late answer to a call sent before it opened
  }
}

void CircuitBreaker::on_success() noexcept {
  ++stats_.successes;
  // While open, a late success of an older call does not close the breaker:
  // only a trial after the cool-down decides that.
  if (stats_.state == CircuitState::open) return;
  stats_.consecutive_failures = 0;
  stats_.state = CircuitState::closed;
}

}  // namespace ringdrop
