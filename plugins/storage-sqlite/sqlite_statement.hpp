#pragma once
// One compiled SQLite statement behind the SDK's Statement interface.
//
// This wraps sqlite3_stmt directly rather than SQLite::Statement: the ABI is
// a one-to-one pass-through, and SQLiteCpp's statement keeps state of its
// own that fights it (its reset() rethrows the previous step's error, it
// refuses to step again after SQLITE_DONE without a reset, it cannot report
// SQL left over after the first statement).
//
// Threads: used by one thread at a time, like the connection it belongs to.
#include <switchboard/plugin.hpp>

#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace sb_sqlite {

class SqliteStatement final : public switchboard::Statement {
 public:
  // Compiles exactly one statement; anything but whitespace or comments
  // after it is refused (use exec for scripts).
  SqliteStatement(sqlite3* db, std::string_view sql);
  ~SqliteStatement() override;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void reset() override;
  void bind_null(int index) override;
  void bind_int64(int index, int64_t value) override;
  void bind_double(int index, double value) override;
  void bind_text(int index, std::string_view value) override;
  void bind_blob(int index, const void* data, size_t len) override;
  bool step() override;
  int column_count() override;
  std::string_view column_name(int col) override;
  int column_type(int col) override;
  int64_t column_int64(int col) override;
  double column_double(int col) override;
  std::string_view column_text(int col) override;
  std::string_view column_blob(int col) override;

 private:
  void check_bind(int rc, int index);

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace sb_sqlite
