#pragma once
// A number read from a host's SQLite file, read-only, while the host runs:
// how end-to-end tests check what was (or was not) written.
#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace sb::test {

inline int64_t count(const std::filesystem::path& db, const std::string& sql) {
  SQLite::Database d(db.string(), SQLite::OPEN_READONLY);
  d.setBusyTimeout(5000);
  return d.execAndGet(sql).getInt64();
}

}  // namespace sb::test
