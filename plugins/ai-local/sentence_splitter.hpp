#pragma once
// Cuts a passage (plain text or Markdown, as the host's chunker left it)
// into the sentences an extractive answer may quote.
//
// Lines are first grouped into blocks: a blank line, a Markdown heading, a
// list item, a quote or a table row starts a new block. Any other line
// continues its block only when it starts with a lower-case letter or the
// line before ends in a comma or semicolon (wrapped prose); otherwise it is
// a unit of its own (the lines of a price list or of an address). Prose
// wrapped just before a capitalised word is cut there, the price of not
// running list lines together.
// Blocks are then cut after ". ", "! ", "? ", "…" and the CJK full stops,
// except where the next word starts with a lower-case letter ("e.g. the")
// or the dot ends a common abbreviation or an initial ("Dr. Silva",
// "J. Smith"). A sentence longer than kMaxSentenceBytes is cut at a space;
// a one-word sentence ("Yes.") is joined to the next one of its block.
//
// Headings are not sentences: each sentence remembers the nearest heading
// above it instead, which the scorer uses as context. Nor are labels, the
// last sentence of a block when it ends with a colon ("Shop opening
// hours:", "The options are:"): the blocks after it carry it as their
// label until a heading or a new prose paragraph (a block after a blank
// line that is not a list item).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ai_local {

struct Sentence {
  std::string text;     // list, quote and table markers dropped, runs of white space made one space
  std::string heading;  // the nearest Markdown heading above, "" when none
  std::string label;    // the label ("...:") that introduced its list, "" when none
  std::size_t index = 0;  // 0-based position among the passage's sentences
  std::size_t block = 0;  // 0-based index of its block (paragraph, list item, ...) in the passage
};

inline constexpr std::size_t kMaxSentenceBytes = 600;

std::vector<Sentence> split_sentences(std::string_view passage);

}  // namespace ai_local
