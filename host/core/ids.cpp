#include "core/ids.hpp"

#include <array>
#include <chrono>
#include <ctime>
#include <mutex>
#include <random>

namespace sb {
namespace {

constexpr char kBase32[] = "0123456789abcdefghjkmnpqrstvwxyz";  // Crockford, lower case

uint64_t random64() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  return rng();
}

}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string new_id(std::string_view prefix) {
  // 128 bits: 48 bits of time, 80 random; 26 base32 characters (130 bits).
  const uint64_t ms = static_cast<uint64_t>(now_ms()) & ((uint64_t{1} << 48) - 1);
  const uint64_t r1 = random64();
  const uint64_t r2 = random64() & 0xFFFF;
  // high 64 bits: 48 time + 16 random; low 64 bits: random.
  const uint64_t hi = (ms << 16) | r2;
  const uint64_t lo = r1;
  std::string out(prefix);
  if (!prefix.empty()) out += '_';
  char buf[26];
  // Emit 26 symbols of 5 bits from the 128-bit value (padded with 2 zero bits at the top).
  for (int i = 25; i >= 0; --i) {
    const int bit = (25 - i) * 5;  // offset from the least significant end
    uint64_t v;
    if (bit + 5 <= 64) {
      v = (lo >> bit) & 31;
    } else if (bit >= 64) {
      v = (hi >> (bit - 64)) & 31;
    } else {
      v = ((lo >> bit) | (hi << (64 - bit))) & 31;
    }
    buf[i] = kBase32[v];
  }
  out.append(buf, 26);
  return out;
}

std::string iso8601(int64_t epoch_ms) {
  const std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(epoch_ms % 1000));
  return buf;
}

}  // namespace sb
