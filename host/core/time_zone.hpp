#pragma once
// IANA time zones from the system tz database (/usr/share/zoneinfo, package
// tzdata), through Howard Hinnant's date/tz compiled with USE_OS_TZDB=1: it
// reads the system's compiled zoneinfo files and downloads nothing.
// std::chrono in C++20 declares the same calendar names (local_days,
// year_month_day, ...), so users spell everything date::.
//
// The database is read from disk once, on first use; after that lookups
// search an immutable sorted vector, and each zone loads its own
// transitions under a std::call_once, so they are safe from any thread.
#include <date/tz.h>

#include <string>

namespace sb {

// The zone named `timezone` ("Europe/Madrid"), loaded. Throws
// sb::Error(invalid_argument) "unknown time zone '...'" for an unknown name
// (also "" and "localtime", which is the server's own zone, not an IANA
// name), and sb::Error(internal) when the database cannot be read.
const date::time_zone* find_time_zone(const std::string& timezone);

}  // namespace sb
