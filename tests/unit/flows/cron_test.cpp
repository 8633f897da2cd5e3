// Cron schedules: the syntax (fields, names, aliases, the Vixie day rule),
// the next firing time in a time zone (across DST, leap days, year ends), the
// errors, and the wall clock of a zone.
#include "flows/cron.hpp"

#include "core/error.hpp"
#include "support/error_code.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using sb::ErrorCode;
using sb::flows::CronSchedule;
using sb::flows::is_valid_timezone;
using sb::flows::local_time;
using sb::test::code_of;

namespace {

// Epoch ms of a UTC wall-clock time.
int64_t utc(int year, unsigned month, unsigned day, int hour = 0, int minute = 0, int second = 0) {
  using namespace std::chrono;
  const sys_days date{std::chrono::year{year} / month / day};
  return duration_cast<milliseconds>((date + hours{hour} + minutes{minute} + seconds{second}).time_since_epoch())
      .count();
}

std::optional<int64_t> next(const std::string& expression, int64_t after, const std::string& zone = "UTC") {
  return CronSchedule::parse(expression).next_after(after, zone);
}

std::string parse_error(const std::string& expression) {
  try {
    CronSchedule::parse(expression);
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    return e.what();
  }
  FAIL("'" << expression << "' parsed");
  return {};
}

}  // namespace

TEST_CASE("a step fires on every multiple and strictly after the given time", "[flows][cron]") {
  CHECK(next("*/15 * * * *", utc(2026, 1, 9, 10, 7)) == utc(2026, 1, 9, 10, 15));
  CHECK(next("*/15 * * * *", utc(2026, 1, 9, 10, 45)) == utc(2026, 1, 9, 11, 0));
  CHECK(next("*/15 * * * *", utc(2026, 1, 9, 10, 15)) == utc(2026, 1, 9, 10, 30));
  CHECK(next("*/15 * * * *", utc(2026, 1, 9, 10, 15) - 1) == utc(2026, 1, 9, 10, 15));
  CHECK(next("* * * * *", utc(2026, 1, 9, 10, 15, 30)) == utc(2026, 1, 9, 10, 16));
  // "5/15" runs from 5 to the end of the field.
  CHECK(next("5/15 * * * *", utc(2026, 1, 9, 10, 36)) == utc(2026, 1, 9, 10, 50));
  CHECK(next("5/15 * * * *", utc(2026, 1, 9, 10, 51)) == utc(2026, 1, 9, 11, 5));
}

TEST_CASE("ranges, lists and stepped ranges select exactly their values", "[flows][cron]") {
  CHECK(next("0 1-5 * * *", utc(2026, 1, 9, 5, 0)) == utc(2026, 1, 10, 1, 0));
  CHECK(next("0 1-5 * * *", utc(2026, 1, 9, 3, 0)) == utc(2026, 1, 9, 4, 0));
  CHECK(next("10,20,40 * * * *", utc(2026, 1, 9, 3, 20)) == utc(2026, 1, 9, 3, 40));
  CHECK(next("0 8-18/4 * * *", utc(2026, 1, 9, 12, 0)) == utc(2026, 1, 9, 16, 0));
  CHECK(next("0 8-18/4 * * *", utc(2026, 1, 9, 16, 0)) == utc(2026, 1, 10, 8, 0));
}

TEST_CASE("weekdays by number or name skip the weekend", "[flows][cron]") {
  // 2026-01-09 is a Friday, 2026-01-12 a Monday.
  const int64_t friday_after_nine = utc(2026, 1, 9, 10, 0);
  CHECK(next("0 9 * * MON-FRI", friday_after_nine) == utc(2026, 1, 12, 9, 0));
  CHECK(next("0 9 * * 1-5", friday_after_nine) == utc(2026, 1, 12, 9, 0));
  CHECK(next("0 9 * * mon-fri", friday_after_nine) == utc(2026, 1, 12, 9, 0));
  CHECK(next("0 9 * * sat,Sun", friday_after_nine) == utc(2026, 1, 10, 9, 0));
  // Weekday 7 and 0 are both Sunday; a range may end at SUN.
  CHECK(next("0 9 * * 7", friday_after_nine) == utc(2026, 1, 11, 9, 0));
  CHECK(next("0 9 * * 0", friday_after_nine) == utc(2026, 1, 11, 9, 0));
  CHECK(next("0 9 * * SAT-SUN", friday_after_nine) == utc(2026, 1, 10, 9, 0));
  CHECK(next("0 9 * * 6-7", utc(2026, 1, 11, 10, 0)) == utc(2026, 1, 17, 9, 0));
}

TEST_CASE("month names select months", "[flows][cron]") {
  CHECK(next("0 0 1 JAN,jul *", utc(2026, 2, 1)) == utc(2026, 7, 1));
  CHECK(next("0 0 1 Jan-Mar *", utc(2026, 3, 1)) == utc(2027, 1, 1));
  CHECK(next("0 0 15 */6 *", utc(2026, 2, 1)) == utc(2026, 7, 15));
}

TEST_CASE("aliases are the classic crontab schedules", "[flows][cron]") {
  const int64_t after = utc(2026, 1, 9, 10, 30);  // a Friday
  CHECK(next("@hourly", after) == utc(2026, 1, 9, 11, 0));
  CHECK(next("@daily", after) == utc(2026, 1, 10));
  CHECK(next("@midnight", after) == utc(2026, 1, 10));
  CHECK(next("@weekly", after) == utc(2026, 1, 11));  // Sunday
  CHECK(next("@monthly", after) == utc(2026, 2, 1));
  CHECK(next("@yearly", after) == utc(2027, 1, 1));
  CHECK(next("@ANNUALLY", after) == utc(2027, 1, 1));
  CHECK(CronSchedule::parse("@daily").expression() == "@daily");
}

TEST_CASE("a restricted day-of-month and day-of-week fire on either (Vixie rule)", "[flows][cron]") {
  // The 13th or any Friday: Fri 2026-01-02, Fri 01-09, Tue 01-13, Fri 01-16.
  CHECK(next("0 0 13 * FRI", utc(2026, 1, 1)) == utc(2026, 1, 2));
  CHECK(next("0 0 13 * FRI", utc(2026, 1, 9)) == utc(2026, 1, 13));
  CHECK(next("0 0 13 * FRI", utc(2026, 1, 13)) == utc(2026, 1, 16));
  // A day field starting with '*' does not restrict: odd days that are Fridays.
  CHECK(next("0 0 */2 * FRI", utc(2026, 1, 1)) == utc(2026, 1, 9));
  // Only one day field restricted: that one decides alone.
  CHECK(next("0 0 13 * *", utc(2026, 1, 1)) == utc(2026, 1, 13));
}

TEST_CASE("Feb 29 fires only in leap years", "[flows][cron]") {
  CHECK(next("0 0 29 2 *", utc(2026, 1, 1)) == utc(2028, 2, 29));
  CHECK(next("0 0 29 2 *", utc(2028, 2, 29)) == utc(2032, 2, 29));
  // The 31st skips the months that do not have one.
  CHECK(next("0 12 31 * *", utc(2026, 3, 31, 13, 0)) == utc(2026, 5, 31, 12, 0));
}

TEST_CASE("Dec 31 rolls over into the next year", "[flows][cron]") {
  CHECK(next("30 23 31 12 *", utc(2026, 12, 31, 23, 30)) == utc(2027, 12, 31, 23, 30));
  CHECK(next("0 0 * * *", utc(2026, 12, 31, 23, 59)) == utc(2027, 1, 1));
  CHECK(next("59 23 * * *", utc(2026, 12, 31, 23, 58)) == utc(2026, 12, 31, 23, 59));
}

TEST_CASE("a schedule that never fires has no next time, and says so quickly", "[flows][cron]") {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) {
    CHECK_FALSE(next("0 0 30 2 *", utc(2026, 1, 1)).has_value());
    CHECK_FALSE(next("0 0 31 4,6,9,11 *", utc(2026, 1, 1)).has_value());
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  // Feb 29 2100 is no leap day: 2096 to 2104 is beyond five years.
  CHECK_FALSE(next("0 0 29 2 *", utc(2096, 3, 1)).has_value());
}

TEST_CASE("times are wall-clock times of the time zone", "[flows][cron]") {
  CHECK(next("0 9 * * *", utc(2026, 1, 9), "America/New_York") == utc(2026, 1, 9, 14, 0));   // EST
  CHECK(next("0 9 * * *", utc(2026, 7, 9), "America/New_York") == utc(2026, 7, 9, 13, 0));   // EDT
  CHECK(next("0 9 * * *", utc(2026, 1, 9), "Europe/Berlin") == utc(2026, 1, 9, 8, 0));       // CET
  CHECK(next("0 9 * * *", utc(2026, 7, 9), "Asia/Kolkata") == utc(2026, 7, 9, 3, 30));       // +05:30
  // Local midnight of Saturday in Tokyo is still Friday in UTC.
  CHECK(next("0 0 * * SAT", utc(2026, 1, 9), "Asia/Tokyo") == utc(2026, 1, 9, 15, 0));
}

TEST_CASE("a time skipped by spring-forward does not fire that day", "[flows][cron]") {
  // New York: 2026-03-08 02:00 EST jumps to 03:00 EDT.
  CHECK(next("30 2 * * *", utc(2026, 3, 7, 8, 0), "America/New_York") == utc(2026, 3, 9, 6, 30));
  CHECK(next("0 3 * * *", utc(2026, 3, 7, 9, 0), "America/New_York") == utc(2026, 3, 8, 7, 0));
  CHECK(next("*/30 * * * *", utc(2026, 3, 8, 6, 30), "America/New_York") == utc(2026, 3, 8, 7, 0));
  // Berlin: 2026-03-29 02:00 CET jumps to 03:00 CEST.
  CHECK(next("30 2 * * *", utc(2026, 3, 28, 2, 0), "Europe/Berlin") == utc(2026, 3, 30, 0, 30));
  CHECK(next("0 3 * * *", utc(2026, 3, 28, 3, 0), "Europe/Berlin") == utc(2026, 3, 29, 1, 0));
}

TEST_CASE("a time repeated by fall-back fires once, at its first occurrence", "[flows][cron]") {
  // New York: 2026-11-01 02:00 EDT falls back to 01:00 EST; 01:30 happens at
  // 05:30 UTC (EDT) and again at 06:30 UTC (EST).
  const int64_t first = utc(2026, 11, 1, 5, 30);
  CHECK(next("30 1 * * *", utc(2026, 11, 1, 4, 0), "America/New_York") == first);
  CHECK(next("30 1 * * *", first, "America/New_York") == utc(2026, 11, 2, 6, 30));
  // From inside the repeated hour, the repeated times are not fired again.
  CHECK(next("*/30 * * * *", first, "America/New_York") == utc(2026, 11, 1, 7, 0));
  CHECK(next("*/30 * * * *", utc(2026, 11, 1, 6, 15), "America/New_York") == utc(2026, 11, 1, 7, 0));
  // Berlin: 2026-10-25 03:00 CEST falls back to 02:00 CET.
  const int64_t berlin_first = utc(2026, 10, 25, 0, 30);
  CHECK(next("30 2 * * *", utc(2026, 10, 24, 23, 0), "Europe/Berlin") == berlin_first);
  CHECK(next("30 2 * * *", berlin_first, "Europe/Berlin") == utc(2026, 10, 26, 1, 30));
}

TEST_CASE("bad expressions name the field and the value", "[flows][cron]") {
  CHECK(parse_error("0 25 * * *") == "cron: hour '25' is out of range 0-23");
  CHECK(parse_error("60 * * * *") == "cron: minute '60' is out of range 0-59");
  CHECK(parse_error("* * 0 * *") == "cron: day-of-month '0' is out of range 1-31");
  CHECK(parse_error("* * 32 * *") == "cron: day-of-month '32' is out of range 1-31");
  CHECK(parse_error("* * * 13 *") == "cron: month '13' is out of range 1-12");
  CHECK(parse_error("* * * * 8") == "cron: day-of-week '8' is out of range 0-7");
  CHECK(parse_error("* * * * 99999999999999999999") == "cron: day-of-week '99999999999999999999' is out of range 0-7");
  CHECK_THAT(parse_error("x * * * *"), Catch::Contains("minute 'x'"));
  CHECK_THAT(parse_error("MON * * * *"), Catch::Contains("minute 'MON'"));
  CHECK_THAT(parse_error("1x * * * *"), Catch::Contains("minute '1x' is not a number"));
  CHECK_THAT(parse_error("* * * FOO *"), Catch::Contains("month 'FOO'"));
  CHECK_THAT(parse_error("* * * * MONDAY"), Catch::Contains("day-of-week 'MONDAY'"));
  CHECK_THAT(parse_error("*/0 * * * *"), Catch::Contains("minute step"));
  CHECK_THAT(parse_error("*/x * * * *"), Catch::Contains("minute step 'x'"));
  CHECK_THAT(parse_error("5-1 * * * *"), Catch::Contains("minute range '5-1'"));
  CHECK_THAT(parse_error("1,,2 * * * *"), Catch::Contains("minute"));
  CHECK_THAT(parse_error("* * * *"), Catch::Contains("expected 5 fields"));
  CHECK_THAT(parse_error("* * * * * *"), Catch::Contains("got 6"));
  CHECK_THAT(parse_error("   "), Catch::Contains("empty"));
  CHECK_THAT(parse_error("@reboot"), Catch::Contains("'@reboot'"));
}

TEST_CASE("an unknown time zone is an invalid argument naming it", "[flows][cron]") {
  const CronSchedule schedule = CronSchedule::parse("0 9 * * *");
  CHECK(code_of([&] { schedule.next_after(0, "Mars/Olympus"); }) == ErrorCode::invalid_argument);
  CHECK_THROWS_WITH(schedule.next_after(0, "Mars/Olympus"), "unknown time zone 'Mars/Olympus'");
  CHECK(code_of([] { local_time(0, "Nowhere"); }) == ErrorCode::invalid_argument);

  CHECK(is_valid_timezone("America/New_York"));
  CHECK(is_valid_timezone("Europe/Berlin"));
  CHECK(is_valid_timezone("UTC"));
  CHECK_FALSE(is_valid_timezone("Mars/Olympus"));
  CHECK_FALSE(is_valid_timezone(""));
  CHECK_FALSE(is_valid_timezone("localtime"));
  CHECK_FALSE(is_valid_timezone("zone.tab"));
  CHECK_FALSE(is_valid_timezone("../../etc/passwd"));
}

TEST_CASE("local_time gives the zone's wall clock with an ISO weekday", "[flows][cron]") {
  // 2026-03-08 07:30:45 UTC is Sunday 03:30:45 EDT in New York.
  const auto ny = local_time(utc(2026, 3, 8, 7, 30, 45) + 999, "America/New_York");
  CHECK(ny.year == 2026);
  CHECK(ny.month == 3);
  CHECK(ny.day == 8);
  CHECK(ny.hour == 3);
  CHECK(ny.minute == 30);
  CHECK(ny.second == 45);
  CHECK(ny.weekday == 7);
  CHECK(ny.utc_offset_seconds == -4 * 3600);

  // Monday 2026-01-12 23:30 UTC is already Tuesday in Berlin.
  const auto berlin = local_time(utc(2026, 1, 12, 23, 30), "Europe/Berlin");
  CHECK(berlin.day == 13);
  CHECK(berlin.hour == 0);
  CHECK(berlin.weekday == 2);
  CHECK(berlin.utc_offset_seconds == 3600);

  const auto monday = local_time(utc(2026, 1, 12, 12, 0), "UTC");
  CHECK(monday.weekday == 1);
  CHECK(monday.utc_offset_seconds == 0);

  const auto before_epoch = local_time(-1, "UTC");
  CHECK(before_epoch.year == 1969);
  CHECK(before_epoch.second == 59);
}

TEST_CASE("schedules in many zones can be computed from several threads at once", "[flows][cron]") {
  const std::vector<std::string> zones = {"America/Chicago", "Europe/Paris", "Australia/Sydney",
                                          "Asia/Tehran", "America/Sao_Paulo", "Pacific/Auckland"};
  const CronSchedule schedule = CronSchedule::parse("15 9 * * MON-FRI");
  std::vector<std::vector<int64_t>> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round)
        for (const std::string& zone : zones)
          results[t].push_back(schedule.next_after(utc(2026, 1, 1) + round * 86'400'000LL, zone).value_or(-1));
    });
  for (std::thread& thread : threads) thread.join();
  for (size_t t = 1; t < results.size(); ++t) CHECK(results[t] == results[0]);
  CHECK(results[0].size() == 120);
  CHECK(std::find(results[0].begin(), results[0].end(), -1) == results[0].end());
}
