#include "core/time_zone.hpp"

#include "core/error.hpp"

#include <exception>

namespace sb {

namespace {

const date::tzdb& tz_database() {
  try {
    return date::get_tzdb();
  } catch (const std::exception& e) {
    throw Error(ErrorCode::internal,
                "time zones: cannot read the system time zone database (/usr/share/zoneinfo; "
                "is the tzdata package installed?): " + std::string(e.what()));
  }
}

}  // namespace

const date::time_zone* find_time_zone(const std::string& timezone) {
  (void)tz_database();
  if (timezone.empty() || timezone == "localtime")
    throw Error(ErrorCode::invalid_argument, "unknown time zone '" + timezone + "'");
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(timezone);
    // Loads the zone's file now, so an unreadable one is "unknown" here and
    // not a surprise in the middle of a computation.
    (void)zone->get_info(date::sys_seconds{});
  } catch (const std::exception&) {
    throw Error(ErrorCode::invalid_argument, "unknown time zone '" + timezone + "'");
  }
  return zone;
}

}  // namespace sb
