#pragma once
// How repositories run the keyset pages of page.hpp, newest first: the SQL
// tail that starts after the cursor and fetches one row more than asked (so
// that a page knows whether another may follow), and the cut of the fetched
// rows into a Page. Shared by the store's and the flows' repositories; the
// api room only sees Page and Cursor.
#include "core/error.hpp"
#include "store/database.hpp"
#include "store/page.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::store::keyset {

// The api room allows 1..200; the store refuses only what it cannot run.
constexpr int64_t kMaxLimit = 1000;

// Appends, to SQL that already has a WHERE clause,
//   AND <at> <= ? AND (<at> < ? OR <id> < ?) ORDER BY <at> DESC, <id> DESC LIMIT ?
// with the cursor's values and page.limit + 1. The first page uses the
// cursor (INT64_MAX, ""), which every row is after, so that both kinds of
// page share one statement text (one prepared statement). The `<at> <= ?`
// term is implied by the next one; it is there so that the planner seeks an
// index on (..., <at>) to the cursor instead of filtering from its top.
// Throws sb::Error(invalid_argument) for a limit outside 1..kMaxLimit.
inline void append_page_desc(std::string& sql, Params& params, std::string_view at_column,
                             std::string_view id_column, const PageRequest& page) {
  if (page.limit < 1 || page.limit > kMaxLimit) {
    throw Error(ErrorCode::invalid_argument,
                "a page holds 1 to " + std::to_string(kMaxLimit) + " rows, not " + std::to_string(page.limit));
  }
  const std::string at(at_column);
  const std::string id(id_column);
  sql += " AND " + at + " <= ? AND (" + at + " < ? OR " + id + " < ?) ORDER BY " + at + " DESC, " + id +
         " DESC LIMIT ?";
  const int64_t after_at = page.after ? page.after->at : std::numeric_limits<int64_t>::max();
  const std::string after_id = page.after ? page.after->id : std::string();
  params.emplace_back(after_at);
  params.emplace_back(after_at);
  params.emplace_back(after_id);
  params.emplace_back(page.limit + 1);
}

// The page of `rows` fetched by a statement ending in append_page_desc():
// at most page.limit items, and `next` = the last item's key when a row
// more was fetched. `key(const T&)` returns the item's Cursor.
template <class T, class KeyFn>
Page<T> cut(std::vector<T> rows, const PageRequest& page, KeyFn&& key) {
  Page<T> out;
  if (static_cast<int64_t>(rows.size()) > page.limit) {
    rows.resize(static_cast<size_t>(page.limit));
    out.next = key(rows.back());
  }
  out.items = std::move(rows);
  return out;
}

// `text` as a LIKE pattern that matches it literally (with ESCAPE '\').
inline std::string like_literal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    if (ch == '\\' || ch == '%' || ch == '_') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace sb::store::keyset
