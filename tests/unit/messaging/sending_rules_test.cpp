// Sending rules as pure logic over a controlled clock: budgets per second,
// minute and day (in the workspace's zone), warm-up, spacing, quiet hours
// and the circuit breaker; and parsing with errors that name the field.
#include "messaging/sending_rules.hpp"


#include <catch2/catch.hpp>

using nlohmann::json;
using sb::messaging::LocalTime;
using sb::messaging::parse_sending_rules;
using sb::messaging::RuleGate;
using sb::messaging::SendingRules;

namespace {

// 2026-12-04 12:00:00 UTC.
constexpr int64_t kNoonUtc = 1796385600000;
constexpr int64_t kHour = 3600 * 1000;

RuleGate gate_of(const json& rules, const std::string& tz = "UTC", std::optional<int64_t> warmup = std::nullopt) {
  return RuleGate(parse_sending_rules(rules), LocalTime(tz), warmup);
}

std::string parse_error(const json& rules) {
  try {
    parse_sending_rules(rules);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("sending rules parse with defaults and name the field that is wrong", "[messaging][rules]") {
  const SendingRules none = parse_sending_rules(json::object());
  CHECK_FALSE(none.enabled);
  CHECK_FALSE(none.cold.per_minute);
  const SendingRules r = parse_sending_rules(
      {{"enabled", true}, {"cold", {{"per_minute", 30}}}, {"quiet_hours", {{"start", "22:30"}, {"end", "07:15"}}}});
  CHECK(r.cold.per_minute == 30);
  CHECK(r.quiet_hours.enabled);
  CHECK(r.quiet_hours.start_minute == 22 * 60 + 30);
  CHECK(r.quiet_hours.end_minute == 7 * 60 + 15);
  // What comes out parses to the same rules.
  CHECK(sb::messaging::to_json(parse_sending_rules(sb::messaging::to_json(r))) == sb::messaging::to_json(r));

  CHECK_THAT(parse_error({{"cold", {{"per_minute", 0}}}}),
             Catch::Contains("cold.per_minute must be a positive integer"));
  CHECK_THAT(parse_error({{"cold", {{"per_hour", 5}}}}), Catch::Contains("cold.per_hour is not a known field"));
  CHECK_THAT(parse_error({{"colour", true}}), Catch::Contains("colour is not a known field"));
  CHECK_THAT(parse_error({{"quiet_hours", {{"start", "25:00"}}}}), Catch::Contains("quiet_hours.start must be"));
  CHECK_THAT(parse_error({{"spacing", {{"min_ms", 500}, {"max_ms", 100}}}}),
             Catch::Contains("spacing.max_ms must not be less than spacing.min_ms"));
  CHECK_THAT(parse_error(json::array()), Catch::Contains("must be an object"));
}

TEST_CASE("rules that are off let everything through", "[messaging][rules]") {
  RuleGate gate = gate_of({{"enabled", false}, {"cold", {{"per_second", 1}}}});
  for (int i = 0; i < 10; ++i) gate.sent("cold", kNoonUtc);
  CHECK(gate.allow("cold", kNoonUtc, 50).count == 50);
}

TEST_CASE("per-second and per-minute budgets are sliding windows", "[messaging][rules]") {
  RuleGate gate = gate_of({{"enabled", true}, {"cold", {{"per_second", 2}, {"per_minute", 5}}}});
  int64_t t = kNoonUtc;
  CHECK(gate.allow("cold", t, 10).count == 2);
  gate.sent("cold", t);
  gate.sent("cold", t + 10);
  auto a = gate.allow("cold", t + 20, 10);
  CHECK(a.count == 0);
  CHECK(a.blocked_by == "per_second");
  CHECK(a.next_at == t + 1000);  // the first send leaves the window
  CHECK(gate.allow("cold", t + 1000, 10).count == 1);
  // Replies have their own budget, unlimited here.
  CHECK(gate.allow("reply", t + 20, 10).count == 10);

  gate.sent("cold", t + 1000);
  gate.sent("cold", t + 1010);
  gate.sent("cold", t + 2000);
  a = gate.allow("cold", t + 3000, 10);
  CHECK(a.count == 0);
  CHECK(a.blocked_by == "per_minute");
  CHECK(a.next_at == t + 60000);
  CHECK(gate.allow("cold", t + 60000, 10).count == 1);
}

TEST_CASE("the daily budget resets at midnight in the workspace's time zone", "[messaging][rules]") {
  // Noon UTC is 07:00 in New York (UTC-5 in December).
  RuleGate gate = gate_of({{"enabled", true}, {"cold", {{"per_day", 3}}}}, "America/New_York");
  for (int i = 0; i < 3; ++i) gate.sent("cold", kNoonUtc + i);
  auto a = gate.allow("cold", kNoonUtc + 10, 5);
  CHECK(a.count == 0);
  CHECK(a.blocked_by == "per_day");
  const int64_t ny_midnight = kNoonUtc + 17 * kHour;  // 05:00 UTC next day
  CHECK(a.next_at == ny_midnight);
  CHECK(gate.allow("cold", ny_midnight - 1, 5).count == 0);
  CHECK(gate.allow("cold", ny_midnight, 5).count == 3);
}

TEST_CASE("a restart seeds today's count so the daily budget holds", "[messaging][rules]") {
  RuleGate gate = gate_of({{"enabled", true}, {"reply", {{"per_day", 10}}}});
  LocalTime utc("UTC");
  gate.seed_today("reply", utc.day_start(kNoonUtc), 8);
  CHECK(gate.allow("reply", kNoonUtc, 5).count == 2);
}

TEST_CASE("warm-up ramps the cold cap of a new number day by day", "[messaging][rules]") {
  const int64_t started = kNoonUtc;
  RuleGate gate = gate_of(
      {{"enabled", true}, {"cold", {{"per_day", 100}}}, {"warmup", {{"enabled", true}, {"first_day", 10}, {"daily_growth", 2.0}}}},
      "UTC", started);
  CHECK(gate.cold_daily_cap(started) == 10);
  CHECK(gate.cold_daily_cap(started + 24 * kHour) == 20);
  CHECK(gate.cold_daily_cap(started + 3 * 24 * kHour) == 80);
  CHECK(gate.cold_daily_cap(started + 4 * 24 * kHour) == 100);  // the daily budget caps the ramp
  for (int i = 0; i < 10; ++i) gate.sent("cold", started + i);
  CHECK(gate.allow("cold", started + 100, 5).blocked_by == "per_day");
  CHECK(gate.allow("reply", started + 100, 5).count == 5);
}

TEST_CASE("spacing keeps a random gap between cold messages", "[messaging][rules]") {
  RuleGate gate = gate_of({{"enabled", true}, {"spacing", {{"min_ms", 400}, {"max_ms", 600}}}});
  CHECK(gate.allow("cold", kNoonUtc, 10).count == 1);  // one at a time
  gate.sent("cold", kNoonUtc);
  auto a = gate.allow("cold", kNoonUtc + 1, 10);
  CHECK(a.blocked_by == "spacing");
  REQUIRE(a.next_at);
  CHECK(*a.next_at >= kNoonUtc + 400);
  CHECK(*a.next_at <= kNoonUtc + 600);
  CHECK(gate.allow("cold", kNoonUtc + 600, 10).count == 1);
}

TEST_CASE("quiet hours hold cold messages back until they end, in local time", "[messaging][rules]") {
  // 21:00-08:00 in Madrid (UTC+1 in December): noon UTC is 13:00 there.
  const json rules = {{"enabled", true}, {"quiet_hours", {{"start", "21:00"}, {"end", "08:00"}}}};
  RuleGate gate = gate_of(rules, "Europe/Madrid");
  CHECK(gate.allow("cold", kNoonUtc, 1).count == 1);
  const int64_t ten_pm_madrid = kNoonUtc + 9 * kHour;  // 21:00 UTC
  auto a = gate.allow("cold", ten_pm_madrid, 1);
  CHECK(a.blocked_by == "quiet_hours");
  CHECK(a.next_at == kNoonUtc + 19 * kHour);  // 08:00 Madrid = 07:00 UTC next day
  CHECK(gate.allow("reply", ten_pm_madrid, 1).count == 1);  // replies are not held
  // After midnight it is still quiet, until 08:00 the same day.
  CHECK(gate.allow("cold", kNoonUtc + 15 * kHour, 1).next_at == kNoonUtc + 19 * kHour);
  CHECK(gate.allow("cold", kNoonUtc + 19 * kHour, 1).count == 1);

  json with_replies = rules;
  with_replies["quiet_hours"]["include_replies"] = true;
  RuleGate strict = gate_of(with_replies, "Europe/Madrid");
  CHECK(strict.allow("reply", ten_pm_madrid, 1).blocked_by == "quiet_hours");
}

TEST_CASE("the breaker pauses cold sending when failures rise and a probe reopens it", "[messaging][rules]") {
  RuleGate gate = gate_of({{"enabled", true},
                           {"breaker",
                            {{"window", 10}, {"min_samples", 4}, {"max_failure_ratio", 0.5}, {"cooldown_ms", 60000}}}});
  int64_t t = kNoonUtc;
  CHECK_FALSE(gate.cold_outcome(true, t));
  CHECK_FALSE(gate.cold_outcome(false, t));
  CHECK_FALSE(gate.cold_outcome(true, t));
  CHECK(gate.cold_outcome(false, t));  // 2 of 4 failed
  auto a = gate.allow("cold", t + 1, 10);
  CHECK(a.blocked_by == "breaker");
  CHECK(a.next_at == t + 60000);
  CHECK(gate.allow("reply", t + 1, 10).count == 10);  // replies go on
  CHECK(gate.state(t + 1)["breaker"]["state"] == "open");

  // After the cool-down one probe goes; it fails: open again.
  CHECK(gate.allow("cold", t + 60000, 10).count == 1);
  CHECK(gate.cold_outcome(false, t + 60000));
  CHECK(gate.allow("cold", t + 60001, 10).blocked_by == "breaker");
  // The next probe succeeds: closed, full speed.
  CHECK(gate.allow("cold", t + 120000, 10).count == 1);
  CHECK_FALSE(gate.cold_outcome(true, t + 120000));
  CHECK(gate.allow("cold", t + 120001, 10).count == 10);
  CHECK(gate.state(t + 120001)["breaker"]["state"] == "closed");
}

TEST_CASE("an unknown time zone is refused", "[messaging][rules]") {
  CHECK_THROWS_WITH(LocalTime("Mars/Olympus"), Catch::Contains("unknown time zone 'Mars/Olympus'"));
}
