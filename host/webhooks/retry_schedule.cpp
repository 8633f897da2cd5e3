#include "webhooks/retry_schedule.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

namespace sb::webhooks {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

RetrySchedule RetrySchedule::standard() {
  RetrySchedule s;
  s.delays = {milliseconds(0), seconds(5), minutes(5), minutes(30), hours(2), hours(5), hours(10), hours(10)};
  return s;
}

RetrySchedule RetrySchedule::parse(const std::string& text) {
  RetrySchedule s;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const long long ms = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || end == item.c_str() || *end != '\0' || ms < 0)
      throw Error(ErrorCode::invalid_argument,
                  "a webhook retry schedule is a comma-separated list of delays in milliseconds, not \"" + text + "\"");
    s.delays.push_back(milliseconds(ms));
  }
  if (s.delays.empty()) throw Error(ErrorCode::invalid_argument, "a webhook retry schedule needs one delay at least");
  return s;
}

std::optional<int64_t> next_attempt_at(const RetrySchedule& schedule, int64_t attempts_so_far, int64_t now,
                                       double unit) {
  if (attempts_so_far < 0 || static_cast<size_t>(attempts_so_far) >= schedule.delays.size()) return std::nullopt;
  const double base = static_cast<double>(schedule.delays[static_cast<size_t>(attempts_so_far)].count());
  const double factor = 1.0 + schedule.jitter * (2.0 * std::clamp(unit, 0.0, 1.0) - 1.0);
  return now + static_cast<int64_t>(std::llround(base * factor));
}

std::optional<int64_t> next_attempt_at(const RetrySchedule& schedule, int64_t attempts_so_far, int64_t now) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return next_attempt_at(schedule, attempts_so_far, now, std::uniform_real_distribution<double>(0.0, 1.0)(rng));
}

}  // namespace sb::webhooks
