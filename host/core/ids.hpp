#pragma once
// Identifiers and time. Ids are "<prefix>_" + 26 lowercase base32 characters:
// 48 bits of milliseconds then 80 random bits, so they sort by creation time.
#include <cstdint>
#include <string>
#include <string_view>

namespace sb {

std::string new_id(std::string_view prefix);

// Wall-clock milliseconds since the Unix epoch.
int64_t now_ms();

// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-11-23T15:08:07.123Z.
std::string iso8601(int64_t epoch_ms);

}  // namespace sb
