#include "sqlite_statement.hpp"

#include "sqlite_error.hpp"

#include <sqlite3.h>

#include <climits>
#include <string>

namespace sb_sqlite {

namespace {

// The host keeps its statements in a cache for the life of the connection.
constexpr unsigned kPrepareFlags = SQLITE_PREPARE_PERSISTENT;

int checked_length(size_t len) {
  if (len > static_cast<size_t>(INT_MAX)) throw switchboard::Error(SB_ERR_INVALID_ARGUMENT, "SQL text is too long");
  return static_cast<int>(len);
}

}  // namespace

SqliteStatement::SqliteStatement(sqlite3* db, std::string_view sql) : db_(db) {
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), checked_length(sql.size()), kPrepareFlags, &stmt_, &tail);
  if (rc != SQLITE_OK) {
    throw make_error(sqlite3_extended_errcode(db_), std::string(sqlite3_errmsg(db_)) + " in: " + excerpt(sql));
  }
  if (stmt_ == nullptr) throw switchboard::Error(SB_ERR_INVALID_ARGUMENT, "the SQL holds no statement");

  // What follows the first statement must compile to nothing (blanks,
  // comments, semicolons); a second statement would silently never run.
  std::string_view rest = tail ? sql.substr(static_cast<size_t>(tail - sql.data())) : std::string_view();
  while (!rest.empty()) {
    sqlite3_stmt* extra = nullptr;
    const char* next = nullptr;
    rc = sqlite3_prepare_v2(db_, rest.data(), checked_length(rest.size()), &extra, &next);
    bool more = rc != SQLITE_OK || extra != nullptr;
    sqlite3_finalize(extra);
    if (more) {
      sqlite3_finalize(stmt_);
      throw switchboard::Error(SB_ERR_INVALID_ARGUMENT,
                               "only one statement may be prepared at a time, got more in: " + excerpt(sql));
    }
    if (next == nullptr || next == rest.data()) break;
    rest.remove_prefix(static_cast<size_t>(next - rest.data()));
  }
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::reset() {
  // sqlite3_reset repeats the error of the last step, which was already
  // reported by that step: rewinding itself cannot fail.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void SqliteStatement::check_bind(int rc, int index) {
  if (rc == SQLITE_OK) return;
  throw make_error(rc, "parameter " + std::to_string(index) + ": " + sqlite3_errmsg(db_));
}

void SqliteStatement::bind_null(int index) { check_bind(sqlite3_bind_null(stmt_, index), index); }

void SqliteStatement::bind_int64(int index, int64_t value) {
  check_bind(sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(value)), index);
}

void SqliteStatement::bind_double(int index, double value) {
  check_bind(sqlite3_bind_double(stmt_, index, value), index);
}

void SqliteStatement::bind_text(int index, std::string_view value) {
  // A NULL pointer would bind SQL NULL: an empty string must stay a string.
  const char* data = value.data() ? value.data() : "";
  check_bind(sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8), index);
}

void SqliteStatement::bind_blob(int index, const void* data, size_t len) {
  if (len == 0) {
    check_bind(sqlite3_bind_zeroblob(stmt_, index, 0), index);
    return;
  }
  check_bind(sqlite3_bind_blob64(stmt_, index, data, len, SQLITE_TRANSIENT), index);
}

bool SqliteStatement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw last_error(db_);
}

int SqliteStatement::column_count() { return sqlite3_column_count(stmt_); }

std::string_view SqliteStatement::column_name(int col) {
  const char* name = sqlite3_column_name(stmt_, col);
  return name ? std::string_view(name) : std::string_view();
}

int SqliteStatement::column_type(int col) {
  switch (sqlite3_column_type(stmt_, col)) {
    case SQLITE_INTEGER: return SB_SQL_INTEGER;
    case SQLITE_FLOAT: return SB_SQL_REAL;
    case SQLITE_TEXT: return SB_SQL_TEXT;
    case SQLITE_BLOB: return SB_SQL_BLOB;
    default: return SB_SQL_NULL;
  }
}

int64_t SqliteStatement::column_int64(int col) { return sqlite3_column_int64(stmt_, col); }

double SqliteStatement::column_double(int col) { return sqlite3_column_double(stmt_, col); }

std::string_view SqliteStatement::column_text(int col) {
  // Text first, then its length: the documented order that avoids a
  // conversion invalidating the pointer.
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  int len = sqlite3_column_bytes(stmt_, col);
  return text ? std::string_view(text, static_cast<size_t>(len)) : std::string_view();
}

std::string_view SqliteStatement::column_blob(int col) {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  int len = sqlite3_column_bytes(stmt_, col);
  return data ? std::string_view(data, static_cast<size_t>(len)) : std::string_view();
}

}  // namespace sb_sqlite
