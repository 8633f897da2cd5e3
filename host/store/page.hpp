#pragma once
// Keyset pagination for every list the API offers: a page is "the next
// `limit` rows after the cursor", where the cursor is the sort key of the
// last row the caller saw. Unlike OFFSET, a page never repeats or skips a
// row when rows are added meanwhile, and it costs the same however deep.
//
// The api room turns a Cursor into the opaque `next_cursor` string of a
// response and back (api/pagination.hpp); repositories only see this type.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::store {

// The sort key of a row: a time (or sequence number) and the row's id to
// break ties. Lists sort by (at, id), descending unless the list says
// otherwise.
struct Cursor {
  int64_t at = 0;
  std::string id;
};

struct PageRequest {
  int64_t limit = 50;             // 1..200, checked by the api room
  std::optional<Cursor> after;    // nullopt: the first page
};

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<Cursor> next;     // nullopt: this was the last page
};

}  // namespace sb::store
