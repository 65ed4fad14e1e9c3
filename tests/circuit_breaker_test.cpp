// The circuit breaker's states and counters. Time is driven explicitly: every
// call gets its time point, so nothing sleeps and nothing depends on speed.
#include "ringdrop/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "ringdrop/error.hpp"

using namespace ringdrop;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1000s;  // an arbitrary "now"

CircuitBreaker breaker(uint32_t threshold, std::chrono::nanoseconds cool_down = 1s) {
  return CircuitBreaker(CircuitBreakerOptions{threshold, cool_down});
}

/// Admits and fails `n` calls at `now`.
void fail_calls(CircuitBreaker& b, int n, Clock::time_point now,
                std::error_code how = errc::timed_out) {
  for (int i = 0; i < n; ++i) {
    ASSERT_FALSE(b.admit(now)) << "call " << i << " was rejected";
    b.record(how, now);
  }
}

}  // namespace

TEST(CircuitBreaker, StartsClosedAndAdmits) {
  auto b = breaker(3);
  EXPECT_EQ(b.stats().state, CircuitState::closed);
  EXPECT_FALSE(b.admit(t0));
  b.record({}, t0);
  const auto s = b.stats();
  EXPECT_EQ(s.successes, 1u);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.opened, 0u);
}

TEST(CircuitBreaker, TheThresholdOfConsecutiveFailuresOpensIt) {
  auto b = breaker(3);
  fail_calls(b, 2, t0);
  EXPECT_EQ(b.stats().state, CircuitState::closed) << "two failures are below the threshold";
  EXPECT_EQ(b.stats().consecutive_failures, 2u);
  fail_calls(b, 1, t0, errc::peer_gone);
  EXPECT_EQ(b.stats().state, CircuitState::open);
  EXPECT_EQ(b.stats().opened, 1u);
  EXPECT_EQ(b.admit(t0), errc::circuit_open);
}

TEST(CircuitBreaker, ASuccessResetsTheRun) {
  auto b = breaker(3);
  fail_calls(b, 2, t0);
  ASSERT_FALSE(b.admit(t0));
  b.record({}, t0);
  EXPECT_EQ(b.stats().consecutive_failures, 0u);
  fail_calls(b, 2, t0);
  EXPECT_EQ(b.stats().state, CircuitState::closed) << "2 + success + 2 is no run of 3";
  fail_calls(b, 1, t0);
  EXPECT_EQ(b.stats().state, CircuitState::open);
}

TEST(CircuitBreaker, OpenRejectsAndCountsUntilTheCoolDownHasPassed) {
  auto b = breaker(1, 1s);
  fail_calls(b, 1, t0);
  for (auto at : {t0, t0 + 1ms, t0 + 999ms}) {
    const auto ec = b.admit(at);
    EXPECT_EQ(ec, errc::circuit_open);
    EXPECT_NE(last_error_detail().find("consecutive failures"), std::string::npos) << last_error_detail();
  }
  EXPECT_EQ(b.stats().rejected, 3u);
  EXPECT_EQ(b.stats().trials, 0u);
  EXPECT_EQ(b.stats().state, CircuitState::open);
}

TEST(CircuitBreaker, AfterTheCoolDownOneTrialAtATime) {
  auto b = breaker(1, 1s);
  fail_calls(b, 1, t0);
  EXPECT_FALSE(b.admit(t0 + 1s)) << "the cool-down has passed: the trial";
  EXPECT_EQ(b.stats().state, CircuitState::half_open);
  EXPECT_EQ(b.stats().trials, 1u);
  EXPECT_EQ(b.admit(t0 + 1s), errc::circuit_open) << "a second call while the trial is out";
  EXPECT_EQ(b.admit(t0 + 1500ms), errc::circuit_open);
  EXPECT_EQ(b.stats().rejected, 2u);
  EXPECT_EQ(b.stats().trials, 1u);
}

TEST(CircuitBreaker, ATrialsSuccessClosesIt) {
  auto b = breaker(2, 1s);
  fail_calls(b, 2, t0);
  ASSERT_FALSE(b.admit(t0 + 2s));
  b.record({}, t0 + 2s);
  const auto s = b.stats();
  EXPECT_EQ(s.state, CircuitState::closed);
  EXPECT_EQ(s.consecutive_failures, 0u);
  EXPECT_FALSE(b.admit(t0 + 2s));
  EXPECT_FALSE(b.admit(t0 + 2s)) << "closed: every call goes through";
}

TEST(CircuitBreaker, ATrialsFailureReopensItForAnotherCoolDown) {
  auto b = breaker(1, 1s);
  fail_calls(b, 1, t0);
  const auto trial_at = t0 + 5s;
  ASSERT_FALSE(b.admit(trial_at));
  b.record(errc::timed_out, trial_at + 100ms);  // the trial timed out
  EXPECT_EQ(b.stats().state, CircuitState::open);
  EXPECT_EQ(b.stats().opened, 2u);
  EXPECT_EQ(b.admit(trial_at + 1s), errc::circuit_open) << "the new cool-down runs from the failure";
  EXPECT_FALSE(b.admit(trial_at + 1100ms)) << "a new trial after it";
  EXPECT_EQ(b.stats().trials, 2u);
}

TEST(CircuitBreaker, ATrialWhoseOutcomeIsNeverRecordedIsGivenUpAfterACoolDown) {
  auto b = breaker(1, 1s);
  fail_calls(b, 1, t0);
  ASSERT_FALSE(b.admit(t0 + 1s));                              // trial 1, never recorded
  EXPECT_EQ(b.admit(t0 + 1999ms), errc::circuit_open);
  EXPECT_FALSE(b.admit(t0 + 2s)) << "trial 1 is presumed lost; trial 2";
  EXPECT_EQ(b.stats().trials, 2u);
  b.record({}, t0 + 2s);
  EXPECT_EQ(b.stats().state, CircuitState::closed);
}

TEST(CircuitBreaker, ThresholdZeroDisablesIt) {
  auto b = breaker(0);
  fail_calls(b, 100, t0);
  const auto s = b.stats();
  EXPECT_EQ(s.state, CircuitState::closed);
  EXPECT_EQ(s.opened, 0u);
  EXPECT_EQ(s.rejected, 0u);
  EXPECT_EQ(s.failures, 100u) << "outcomes are still counted";
}

TEST(CircuitBreaker, AnAnswerWithAnErrorIsNoFailure) {
  auto b = breaker(2);
  for (errc e : {errc::remote_error, errc::bad_message, errc::unknown_type,
                 errc::deadline_exceeded}) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_FALSE(b.admit(t0)) << make_error_code(e).message();
      b.record(e, t0);
    }
  }
  const auto s = b.stats();
  EXPECT_EQ(s.state, CircuitState::closed);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.successes, 12u);
  EXPECT_EQ(s.consecutive_failures, 0u);
}

TEST(CircuitBreaker, IsFailureIsTimedOutAndPeerGoneOnly) {
  EXPECT_TRUE(CircuitBreaker::is_failure(errc::timed_out));
  EXPECT_TRUE(CircuitBreaker::is_failure(errc::peer_gone));
  EXPECT_FALSE(CircuitBreaker::is_failure({}));
  EXPECT_FALSE(CircuitBreaker::is_failure(errc::remote_error));
  EXPECT_FALSE(CircuitBreaker::is_failure(errc::circuit_open));
  EXPECT_FALSE(CircuitBreaker::is_failure(std::make_error_code(std::errc::timed_out)))
      << "only ringdrop's own codes";
}

TEST(CircuitBreaker, ALateOutcomeWhileOpenChangesOnlyCounters) {
  auto b = breaker(1, 1s);
  ASSERT_FALSE(b.admit(t0));
  ASSERT_FALSE(b.admit(t0));  // two calls out (e.g. pipelined)
  b.record(errc::timed_out, t0);
  ASSERT_EQ(b.stats().state, CircuitState::open);
  b.record({}, t0 + 10ms);  // the other one answers late
  EXPECT_EQ(b.stats().state, CircuitState::open) << "only a trial closes it";
  EXPECT_EQ(b.admit(t0 + 500ms), errc::circuit_open) << "the cool-down was not restarted or ended";
  EXPECT_FALSE(b.admit(t0 + 1s));
}

TEST(CircuitBreaker, StatsCountEverything) {
  auto b = breaker(2, 1s);
  fail_calls(b, 2, t0);                                // opened 1, failures 2
  EXPECT_EQ(b.admit(t0), errc::circuit_open);          // rejected 1
  ASSERT_FALSE(b.admit(t0 + 1s));                      // trials 1
  b.record(errc::peer_gone, t0 + 1s);                  // failures 3, opened 2
  ASSERT_FALSE(b.admit(t0 + 2s));                      // trials 2
  EXPECT_EQ(b.admit(t0 + 2s), errc::circuit_open);     // rejected 2
  b.record(errc::remote_error, t0 + 2s);               // successes 1, closed
  const auto s = b.stats();
  EXPECT_EQ(s.state, CircuitState::closed);
  EXPECT_EQ(s.consecutive_failures, 0u);
  EXPECT_EQ(s.opened, 2u);
  EXPECT_EQ(s.rejected, 2u);
  EXPECT_EQ(s.trials, 2u);
  EXPECT_EQ(s.failures, 3u);
  EXPECT_EQ(s.successes, 1u);
}

TEST(CircuitBreaker, StateNames) {
  EXPECT_STREQ(to_string(CircuitState::closed), "closed");
  EXPECT_STREQ(to_string(CircuitState::open), "open");
  EXPECT_STREQ(to_string(CircuitState::half_open), "half-open");
}
