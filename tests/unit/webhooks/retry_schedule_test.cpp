#include "webhooks/retry_schedule.hpp"

#include "core/error.hpp"

#include <catch2/catch.hpp>

#include <set>

using sb::webhooks::next_attempt_at;
using sb::webhooks::RetrySchedule;

TEST_CASE("the standard schedule tries at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h", "[webhooks]") {
  const auto s = RetrySchedule::standard();
  REQUIRE(s.max_attempts() == 8);
  const int64_t now = 1'000'000;
  const int64_t expected[] = {0, 5'000, 300'000, 1'800'000, 7'200'000, 18'000'000, 36'000'000, 36'000'000};
  for (int64_t k = 0; k < 8; ++k) {
    INFO("after " << k << " attempts");
    CHECK(next_attempt_at(s, k, now, 0.5) == now + expected[k]);  // 0.5: no jitter
  }
  // After the eighth attempt the delivery is dead.
  CHECK_FALSE(next_attempt_at(s, 8, now, 0.5).has_value());
  CHECK_FALSE(next_attempt_at(s, 100, now, 0.5).has_value());
  // Over a day from the first attempt to the last.
  int64_t total = 0;
  for (auto d : s.delays) total += d.count();
  CHECK(total > 24 * 3600 * 1000LL);
}

TEST_CASE("retry jitter stays within ±10 % and spreads the retries", "[webhooks]") {
  const auto s = RetrySchedule::standard();
  CHECK(next_attempt_at(s, 2, 0, 0.0) == 270'000);
  CHECK(next_attempt_at(s, 2, 0, 1.0) == 330'000);
  std::set<int64_t> seen;
  for (int i = 0; i < 50; ++i) {
    const int64_t at = *next_attempt_at(s, 3, 0);
    CHECK(at >= 1'620'000);
    CHECK(at <= 1'980'000);
    seen.insert(at);
  }
  CHECK(seen.size() > 10);
}

TEST_CASE("a retry schedule is parsed from milliseconds and refused when malformed", "[webhooks]") {
  const auto s = RetrySchedule::parse("0,100,2500");
  REQUIRE(s.max_attempts() == 3);
  CHECK(s.delays[1].count() == 100);
  CHECK(s.delays[2].count() == 2500);
  CHECK_THROWS_AS(RetrySchedule::parse(""), sb::Error);
  CHECK_THROWS_AS(RetrySchedule::parse("0,five"), sb::Error);
  CHECK_THROWS_AS(RetrySchedule::parse("0,-5"), sb::Error);
  CHECK_THROWS_AS(RetrySchedule::parse("0,,5"), sb::Error);
}
