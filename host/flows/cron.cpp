#include "flows/cron.hpp"

#include "core/error.hpp"
#include "core/time_zone.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <array>
#include <cctype>
#include <stdexcept>
#include <vector>

// Zones come from core/time_zone.hpp; everything calendar is spelled date::
// (std::chrono in C++20 declares the same names).

namespace sb::flows {

namespace {

struct FieldSpec {
  const char* name;
  int min, max;
  const std::array<const char*, 12>* names;  // names[i] is value names_base + i
  int names_base;
};

constexpr std::array<const char*, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 12> kWeekdayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI",
                                                       "SAT", nullptr, nullptr, nullptr, nullptr, nullptr};

const FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, &kMonthNames, 1},
    {"day-of-week", 0, 7, &kWeekdayNames, 0},
};

// "Within the next 5 years": a search finds nothing after this many days for a
// schedule that never fires ("0 0 30 2 *") and gives up.
constexpr int kHorizonDays = 5 * 366;

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorCode::invalid_argument, "cron: " + message);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// One value of a field: a number or (for month and weekday) a name.
int parse_value(std::string_view text, const FieldSpec& field) {
  if (text.empty()) fail(std::string(field.name) + " has an empty value");
  if (std::isdigit(static_cast<unsigned char>(text.front()))) {
    int value = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c)))
        fail(std::string(field.name) + " '" + std::string(text) + "' is not a number");
      value = value * 10 + (c - '0');
      if (value > 1000) break;  // out of range anyway; avoid overflow
    }
    if (value < field.min || value > field.max)
      fail(std::string(field.name) + " '" + std::string(text) + "' is out of range " +
           std::to_string(field.min) + "-" + std::to_string(field.max));
    return value;
  }
  if (field.names) {
    const std::string name = upper(text);
    for (size_t i = 0; i < field.names->size(); ++i)
      if ((*field.names)[i] && name == (*field.names)[i]) return field.names_base + static_cast<int>(i);
    fail(std::string(field.name) + " '" + std::string(text) + "' is not a number or a " +
         (field.names == &kMonthNames ? "month name (JAN..DEC)" : "day name (SUN..SAT)"));
  }
  fail(std::string(field.name) + " '" + std::string(text) + "' is not a number");
}

// A field ("1-5,10,*/15") as a bitset of allowed values.
uint64_t parse_field(std::string_view text, const FieldSpec& field) {
  uint64_t bits = 0;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) fail(std::string(field.name) + " '" + std::string(text) + "' has an empty list item");

    std::string_view range = item;
    int step = 1;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const std::string_view step_text = item.substr(slash + 1);
      bool digits = !step_text.empty() && step_text.size() <= 3;
      for (char c : step_text) digits = digits && std::isdigit(static_cast<unsigned char>(c));
      if (!digits) fail(std::string(field.name) + " step '" + std::string(step_text) + "' is not a number");
      step = std::stoi(std::string(step_text));
      if (step == 0) fail(std::string(field.name) + " step must be at least 1");
    }

    int low, high;
    if (range == "*") {
      low = field.min;
      high = field.max;
    } else if (const size_t dash = range.find('-'); dash != std::string_view::npos) {
      low = parse_value(range.substr(0, dash), field);
      high = parse_value(range.substr(dash + 1), field);
      // "FRI-SUN": Sunday as the end of a weekday range is day 7.
      if (field.names == &kWeekdayNames && high == 0) high = 7;
      if (low > high)
        fail(std::string(field.name) + " range '" + std::string(range) + "' goes backwards");
    } else {
      low = parse_value(range, field);
      // "5/15" means 5, 20, 35, 50: from the value to the end of the field.
      high = range.size() == item.size() ? low : field.max;
    }
    for (int v = low; v <= high; v += step) bits |= uint64_t{1} << v;

    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bits;
}

std::string_view expand_alias(std::string_view expression) {
  const std::string alias = upper(expression);
  if (alias == "@YEARLY" || alias == "@ANNUALLY") return "0 0 1 1 *";
  if (alias == "@MONTHLY") return "0 0 1 * *";
  if (alias == "@WEEKLY") return "0 0 * * 0";
  if (alias == "@DAILY" || alias == "@MIDNIGHT") return "0 0 * * *";
  if (alias == "@HOURLY") return "0 * * * *";
  fail("unknown schedule '" + std::string(expression) +
       "' (use @hourly, @daily, @weekly, @monthly, @yearly or five fields)");
}

const date::time_zone* find_zone(const std::string& timezone) { return find_time_zone(timezone); }

}  // namespace

CronSchedule CronSchedule::parse(std::string_view expression) {
  CronSchedule schedule;
  schedule.expression_ = std::string(expression);

  std::string_view text = expression;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) fail("the schedule is empty");
  if (text.front() == '@') text = expand_alias(text);

  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const size_t begin = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > begin) fields.push_back(text.substr(begin, i - begin));
  }
  if (fields.size() != 5)
    fail("expected 5 fields (minute hour day-of-month month day-of-week), got " +
         std::to_string(fields.size()));

  schedule.minutes_ = parse_field(fields[0], kFields[0]);
  schedule.hours_ = static_cast<uint32_t>(parse_field(fields[1], kFields[1]));
  schedule.days_ = static_cast<uint32_t>(parse_field(fields[2], kFields[2]));
  schedule.months_ = static_cast<uint16_t>(parse_field(fields[3], kFields[3]));
  uint64_t weekdays = parse_field(fields[4], kFields[4]);
  if (weekdays & (uint64_t{1} << 7)) weekdays = (weekdays | 1) & 0x7f;  // 7 is Sunday too
  schedule.weekdays_ = static_cast<uint8_t>(weekdays);
  // As in Vixie cron, a field that starts with '*' ("*", "*/2") does not
  // restrict, so only the other day field decides.
  schedule.days_restricted_ = fields[2].front() != '*';
  schedule.weekdays_restricted_ = fields[4].front() != '*';
  return schedule;
}

std::optional<int64_t> CronSchedule::next_after(int64_t after_ms, const std::string& timezone) const {
  const date::time_zone* zone = find_zone(timezone);
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::minutes;

  const date::sys_time<milliseconds> after{milliseconds{after_ms}};
  const auto local_after = zone->to_local(after);
  const date::local_days first_day = date::floor<date::days>(local_after);
  const auto time_of_day = local_after - first_day;
  const int after_hour = static_cast<int>(date::floor<hours>(time_of_day).count());
  const int after_minute =
      static_cast<int>(date::floor<minutes>(time_of_day - hours{after_hour}).count());

  // Local wall-clock times map to UTC without ever going backwards when each
  // ambiguous time takes its first occurrence, so a local time before the
  // local time of `after` can never be after it and is skipped unconverted.
  const date::local_days last_day = first_day + date::days{kHorizonDays};
  for (date::local_days day = first_day; day <= last_day; day += date::days{1}) {
    const date::year_month_day ymd{day};
    if (!(months_ >> static_cast<unsigned>(ymd.month()) & 1)) {
      // Jump to the first of the next month; the loop adds the one day.
      day = date::local_days{ymd.year() / ymd.month() / date::last};
      continue;
    }
    const bool day_ok = days_ >> static_cast<unsigned>(ymd.day()) & 1;
    const bool weekday_ok = weekdays_ >> date::weekday{day}.c_encoding() & 1;
    const bool fires = days_restricted_ && weekdays_restricted_ ? day_ok || weekday_ok
                                                                 : day_ok && weekday_ok;
    if (!fires) continue;

    const bool today = day == first_day;
    for (int h = today ? after_hour : 0; h < 24; ++h) {
      if (!(hours_ >> h & 1)) continue;
      for (int m = today && h == after_hour ? after_minute : 0; m < 60; ++m) {
        if (!(minutes_ >> m & 1)) continue;
        const date::local_seconds local = day + hours{h} + minutes{m};
        const date::local_info info = zone->get_info(local);
        if (info.result == date::local_info::nonexistent) continue;  // skipped by a DST jump
        // unique: first is the offset; ambiguous: first is the offset before
        // the fall-back, i.e. the earlier occurrence.
        const date::sys_seconds utc{local.time_since_epoch() - info.first.offset};
        const int64_t utc_ms = std::chrono::duration_cast<milliseconds>(utc.time_since_epoch()).count();
        if (utc_ms > after_ms) return utc_ms;
      }
    }
  }
  return std::nullopt;
}

bool is_valid_timezone(const std::string& timezone) {
  try {
    find_zone(timezone);
    return true;
  } catch (const Error& e) {
    if (e.code() == ErrorCode::invalid_argument) return false;
    throw;
  }
}

LocalTime local_time(int64_t epoch_ms, const std::string& timezone) {
  const date::time_zone* zone = find_zone(timezone);
  const date::sys_seconds moment =
      date::floor<std::chrono::seconds>(date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{epoch_ms}});
  const date::sys_info info = zone->get_info(moment);
  const date::local_seconds local{moment.time_since_epoch() + info.offset};
  const date::local_days day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<std::chrono::seconds> clock{local - day};

  LocalTime out{};
  out.year = static_cast<int>(ymd.year());
  out.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  out.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  out.hour = static_cast<int>(clock.hours().count());
  out.minute = static_cast<int>(clock.minutes().count());
  out.second = static_cast<int>(clock.seconds().count());
  out.weekday = static_cast<int>(date::weekday{day}.iso_encoding());
  out.utc_offset_seconds = info.offset.count();
  return out;
}

}  // namespace sb::flows
