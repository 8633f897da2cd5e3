#include "retry_policy.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <iomanip>
#include <locale>
#include <random>
#include <sstream>
#include <string>

namespace openai {
namespace {

constexpr int64_t kFirstBackoffMs = 500;
constexpr int64_t kMaxBackoffMs = 8000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<Millis> parse_seconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double seconds = 0;
  double scale = 0;  // 0 while in the integer part
  for (char c : s) {
    if (c == '.' && scale == 0) {
      scale = 0.1;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      if (scale == 0) {
        seconds = seconds * 10 + (c - '0');
      } else {
        seconds += (c - '0') * scale;
        scale /= 10;
      }
    } else {
      return std::nullopt;
    }
  }
  // A server asking for days is as good as refusing: the caller compares
  // the wait with its deadline anyway, so clamp instead of overflowing.
  seconds = std::min(seconds, 1e7);
  return Millis(static_cast<int64_t>(seconds * 1000 + 0.5));
}

// RFC 9110 IMF-fixdate; the obsolete forms (RFC 850, asctime) are not sent
// by the servers this plugin talks to.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s) {
  std::tm tm{};
  std::istringstream in{std::string(s)};
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
  if (in.fail()) return std::nullopt;
  std::string zone;
  in >> zone;
  if (zone != "GMT" && zone != "UTC") return std::nullopt;
  const time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

}  // namespace

int64_t Deadline::remaining_ms() const {
  const auto left = std::chrono::duration_cast<Millis>(at_ - Clock::now()).count();
  return std::max<int64_t>(0, left);
}

Millis backoff_delay(int retry) {
  int64_t ceiling = kFirstBackoffMs;
  for (int i = 0; i < retry && ceiling < kMaxBackoffMs; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, kMaxBackoffMs);
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<int64_t> pick(ceiling / 2, ceiling);
  return Millis(pick(random));
}

std::optional<Millis> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) return parse_seconds(value);
  auto at = parse_http_date(value);
  if (!at) return std::nullopt;
  if (*at <= now) return Millis(0);
  return std::chrono::duration_cast<Millis>(*at - now);
}

}  // namespace openai
