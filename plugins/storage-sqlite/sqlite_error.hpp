#pragma once
// Turns SQLite result codes into the plugin ABI's status codes, so that the
// host can tell a duplicate key (conflict) from a locked file (busy) from a
// bad statement (invalid argument) without knowing SQLite.
#include <switchboard/plugin.hpp>

#include <string>
#include <string_view>

struct sqlite3;

namespace sb_sqlite {

// The sb_status for an SQLite (extended) result code.
sb_status status_for(int extended_code);

// Builds the error to throw for `extended_code` with `message` (SQLite's
// own text, plus whatever context helps; the host already names the call).
switchboard::Error make_error(int extended_code, const std::string& message);

// The same, with the code and message of the last failure on `db`.
switchboard::Error last_error(sqlite3* db);

// `sql` shortened for an error message (statements can be long).
std::string excerpt(std::string_view sql);

}  // namespace sb_sqlite
