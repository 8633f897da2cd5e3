#pragma once
// When to try a request again and how long to wait first: the call's
// deadline (the request's "timeout_ms" budget, retries included), the
// exponential backoff with jitter, and the server's Retry-After header.
// Stateless apart from a thread-local random generator: thread-safe.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace openai {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// The moment by which a whole call (every attempt and every wait) is over.
class Deadline {
 public:
  explicit Deadline(Millis budget) : budget_(budget), at_(Clock::now() + budget) {}
  // Milliseconds left (0 once passed).
  int64_t remaining_ms() const;
  bool passed() const { return Clock::now() >= at_; }
  Millis budget() const { return budget_; }

 private:
  Millis budget_;
  Clock::time_point at_;
};

// The wait before retry number `retry` (0 for the first retry): 500 ms
// doubling, capped at 8 s, each drawn uniformly from the upper half of that
// range so that clients that failed together do not retry together.
Millis backoff_delay(int retry);

// A Retry-After value: delay-seconds ("2", tolerating a fraction) or an
// HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", as of `now`); nullopt when it
// is neither. A date in the past is a wait of 0.
std::optional<Millis> parse_retry_after(std::string_view value,
                                        std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace openai
