#pragma once
// Splits a document's text into the passages that are embedded, indexed and
// cited: on headings first (a chunk never spans two sections), then on
// sentences, with the last sentences of a chunk repeated at the start of the
// next (overlap) so that an answer cut by a boundary is still found whole.
//
// Pure functions: no state, safe on any thread.
#include "knowledge/document_text.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sb::knowledge {

struct ChunkOptions {
  size_t target_chars = 900;   // a chunk ends at the first sentence end past this size
  size_t max_chars = 1400;     // never longer: a longer sentence is cut between words (a longer
                               // word between UTF-8 characters); under 4 counts as 4
  size_t overlap_chars = 180;  // sentences of the previous chunk's end repeated, up to this much
                               // (never all of it, and fewer where max_chars would be passed)
};

struct Chunk {
  int position = 0;     // 0, 1, 2, ... in document order
  std::string heading;  // the section's heading path joined with " > "; "" before the first heading
  std::string text;     // the passage itself (what is shown and cited)
  int page = 0;         // Section::page of the section it comes from
};

// The chunks of `doc`, in order. A section shorter than target_chars is one
// chunk; short sections are not merged (a heading is a real boundary).
// Overlap never crosses sections. Empty text gives no chunk. A chunk's text
// is a slice of its section's text, from a sentence's start to a
// sentence's end (paragraph breaks inside it kept); sizes are in bytes.
std::vector<Chunk> chunk_document(const ExtractedText& doc, const ChunkOptions& options = {});

// The sentences of `text`, each a view into it, without leading and
// trailing whitespace. A sentence ends at ., ! or ? (optionally followed by
// closing quotes or brackets) before whitespace, at a paragraph break
// ("\n\n"), or at a line that starts a list item; common abbreviations
// ("e.g.", "i.e.", "Mr.", "Dr.", "etc." before a lower-case word, "No. 5"),
// decimals (3.50) and initials ("J. R. R.") do not end one; nor does a
// period before a lower-case word, or a list's "1." at a sentence's start.
// The Chinese and Japanese full stops 。！？ end one without a space.
std::vector<std::string_view> split_sentences(std::string_view text);

}  // namespace sb::knowledge
