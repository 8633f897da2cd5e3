#pragma once
// The text form of a tag query, as campaigns and the contacts API take it:
//
//   tag:vip AND NOT tag:churned
//   (tag:berlin OR tag:hamburg) AND tag:"early adopter"
//   vip churned            (juxtaposition is AND; "tag:" may be left out)
//   *                      (every contact)
//
// NOT binds tighter than AND, AND tighter than OR; keywords are
// case-insensitive. A tag is a word (letters, digits, _ - . : /, any
// non-ASCII) or a double-quoted string with \" and \\ escapes; to name a
// tag called "and", write tag:and.
#include "store/contact_repository.hpp"

#include <string_view>

namespace sb::messaging {

// Throws sb::Error(invalid_argument) whose message names the position
// (1-based character) and what was expected; details {"field": field}.
store::TagQuery parse_tag_query(std::string_view text, std::string_view field = "tags");

}  // namespace sb::messaging
