#pragma once
// When a webhook delivery is tried again (docs/api.md "Outbound webhooks"):
// attempt 1 at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
// 10 h (eight attempts over about 27 h), each delay but the first spread
// by ±10 % jitter so that the deliveries of an endpoint that came back do
// not all arrive in the same second. After the last attempt a delivery is
// dead (it can still be replayed from the API).
//
// Immutable values: safe from any thread.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::webhooks {

struct RetrySchedule {
  // delays[k]: wait before attempt k + 1 (delays[0] before the first).
  std::vector<std::chrono::milliseconds> delays;
  double jitter = 0.1;  // each delay * (1 ± jitter)

  static RetrySchedule standard();
  // "0,5000,300000": delays in milliseconds (invalid_argument otherwise).
  static RetrySchedule parse(const std::string& text);
  size_t max_attempts() const { return delays.size(); }
};

// When the attempt after `attempts_so_far` attempts is due, `now` in ms;
// nullopt once the schedule is spent (the delivery is dead). `unit` in
// [0, 1) picks the jitter (0.5 = none); the sender draws it at random,
// tests pass it.
std::optional<int64_t> next_attempt_at(const RetrySchedule& schedule, int64_t attempts_so_far, int64_t now,
                                       double unit);

// The same with a random jitter.
std::optional<int64_t> next_attempt_at(const RetrySchedule& schedule, int64_t attempts_so_far, int64_t now);

}  // namespace sb::webhooks
