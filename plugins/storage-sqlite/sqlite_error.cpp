#include "sqlite_error.hpp"

#include <sqlite3.h>

namespace sb_sqlite {

namespace {
constexpr size_t kExcerptChars = 160;
}

sb_status status_for(int extended_code) {
  switch (extended_code) {
    // Only key uniqueness is a conflict the caller can act on (the row is
    // already there); NOT NULL, CHECK and FOREIGN KEY mean bad input.
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
      return SB_ERR_CONFLICT;
    default:
      break;
  }
  switch (extended_code & 0xFF) {
    case SQLITE_CONSTRAINT:
    case SQLITE_ERROR:  // syntax errors, unknown tables and columns
    case SQLITE_MISUSE:
    case SQLITE_RANGE:  // parameter index out of range
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return SB_ERR_INVALID_ARGUMENT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return SB_ERR_BUSY;
    case SQLITE_INTERRUPT:
      return SB_ERR_TIMEOUT;
    // The file cannot be used right now (disk full, permissions, I/O):
    // an operator can fix it and a retry may then succeed.
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_PROTOCOL:
      return SB_ERR_UNAVAILABLE;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return SB_ERR_PERMANENT;
    default:
      return SB_ERR_INTERNAL;
  }
}

switchboard::Error make_error(int extended_code, const std::string& message) {
  return switchboard::Error(status_for(extended_code), message.empty() ? sqlite3_errstr(extended_code) : message);
}

switchboard::Error last_error(sqlite3* db) { return make_error(sqlite3_extended_errcode(db), sqlite3_errmsg(db)); }

std::string excerpt(std::string_view sql) {
  while (!sql.empty() && (sql.front() == ' ' || sql.front() == '\n' || sql.front() == '\t')) sql.remove_prefix(1);
  if (sql.size() <= kExcerptChars) return std::string(sql);
  return std::string(sql.substr(0, kExcerptChars)) + "...";
}

}  // namespace sb_sqlite
