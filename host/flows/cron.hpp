#pragma once
// Cron schedules in a workspace's IANA time zone.
//
// Syntax: five fields, minute hour day-of-month month day-of-week, each `*`,
// a number, a range `a-b`, a list `a,b,c`, a step `*/n` or `a-b/n`; months
// may be JAN..DEC and weekdays SUN..SAT (case-insensitive), weekday 0 and 7
// both Sunday (and "FRI-SUN" ends at 7); `a/n` means `a-max/n`. As in Vixie
// cron, when both day-of-month and day-of-week are restricted (do not start
// with `*`) a day matching either fires; otherwise a day must match both.
// Also @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually.
//
// Times are evaluated as local wall-clock times in the zone: a time skipped
// by a DST jump does not fire that day; a time repeated by a DST fall-back
// fires once (at its first occurrence).
//
// Zones come from the system tz database (/usr/share/zoneinfo, package
// tzdata), read once on first use; every function here is thread-safe. The
// zoneinfo files list transitions up to 2037, so later DST changes are not
// known (times after 2037 use the zone's last listed offset).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::flows {

class CronSchedule {
 public:
  // Throws sb::Error(invalid_argument) naming the bad field
  // ("cron: hour '25' is out of range 0-23").
  static CronSchedule parse(std::string_view expression);

  // The first firing time strictly after `after_ms` (epoch ms) in time zone
  // `timezone` (IANA name; throws invalid_argument "unknown time zone 'X'"),
  // as epoch ms; nullopt if none within the next 5 years (5 * 366 days).
  std::optional<int64_t> next_after(int64_t after_ms, const std::string& timezone) const;

  const std::string& expression() const { return expression_; }

 private:
  std::string expression_;
  uint64_t minutes_ = 0;  // bit i: minute i
  uint32_t hours_ = 0;
  uint32_t days_ = 0;     // bit d: day of month d (1..31)
  uint16_t months_ = 0;   // bit m: month m (1..12)
  uint8_t weekdays_ = 0;  // bit w: weekday w (0 = Sunday)
  bool days_restricted_ = false, weekdays_restricted_ = false;
};

// True when `timezone` names a zone in the system's tz database.
bool is_valid_timezone(const std::string& timezone);

// A moment as the wall clock of a time zone shows it.
struct LocalTime {
  int year, month, day, hour, minute, second;
  int weekday;  // 1 = Monday .. 7 = Sunday (ISO)
  int64_t utc_offset_seconds;
};
// Throws sb::Error(invalid_argument) for an unknown zone.
LocalTime local_time(int64_t epoch_ms, const std::string& timezone);

}  // namespace sb::flows
