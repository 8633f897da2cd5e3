#pragma once
// Internal to the knowledge room: what the readers of each document format
// (plain text, Markdown, HTML, PDF) share, and their entry points.
// extract_text() (document_text.cpp) picks the reader; every reader feeds
// a SectionBuilder, which owns the shape of ExtractedText (paragraphs
// separated by "\n\n", whitespace collapsed, no empty section).
//
// Pure functions and a builder local to one call: safe on any thread.
#include "knowledge/document_text.hpp"

#include "core/utf8.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sb::knowledge::detail {

// The user-facing reasons extract_text() throws with.
inline constexpr const char* kEmptyFile = "the file is empty";
inline constexpr const char* kNotUtf8 = "the file is not valid UTF-8 text";
inline constexpr const char* kPdfEncrypted = "the PDF is encrypted";
inline constexpr const char* kPdfDamaged = "the PDF is damaged or not a PDF";
inline constexpr const char* kNoText = "the document holds no text";
inline constexpr const char* kHtmlTooDeep = "the HTML is nested too deeply to be read";

using sb::is_valid_utf8;

// `bytes` with a leading UTF-8 byte order mark removed.
std::string_view without_utf8_bom(std::string_view bytes);

// The UTF-8 text of a text or Markdown file: a UTF-16 file with a byte
// order mark (what Windows calls "Unicode") is converted; anything else
// must be UTF-8 (its BOM dropped) without NUL bytes, or
// Error(invalid_argument, kNotUtf8).
std::string decode_text_file(std::string_view bytes);

// `bytes` read as Windows-1252, HTML's fallback when a page is not UTF-8.
std::string windows_1252_to_utf8(std::string_view bytes);

// Appends the UTF-8 encoding of `code_point` (U+FFFD for an invalid one).
void append_utf8(std::string& out, char32_t code_point);

// Builds ExtractedText as a reader walks a document: text is added in
// pieces, paragraphs and sections are closed on demand, and whitespace
// (ASCII, control characters and no-break spaces) collapses to one space.
class SectionBuilder {
 public:
  // Adds running text to the current paragraph.
  void add_text(std::string_view text);
  // Ends the current paragraph (no effect if it is empty).
  void end_paragraph();
  // Starts a section under `text` at `level` (1 outermost): headings at
  // the same or a deeper level are closed first. An empty heading (after
  // collapsing whitespace) changes nothing but ends the paragraph.
  void heading(int level, std::string_view text);
  // Starts a section for a new PDF page (1-based).
  void start_page(int page);
  // Room for a section of `bytes` (plain text is one big section: growing
  // it step by step would copy it over and over).
  void reserve(size_t bytes) { section_text_.reserve(bytes); }
  // The first heading of the outermost level seen, or "".
  const std::string& first_top_heading() const { return first_top_heading_; }

  // The sections (the builder is spent afterwards).
  std::vector<Section> finish();

 private:
  void end_section();

  struct OpenHeading {
    int level;
    std::string text;
  };
  std::vector<OpenHeading> open_headings_;
  std::vector<Section> sections_;
  std::string section_text_;
  std::string paragraph_;
  bool pending_space_ = false;
  int page_ = 0;
  int top_heading_level_ = 7;
  std::string first_top_heading_;
};

// `text` with whitespace collapsed and trimmed, as SectionBuilder does.
std::string collapse_whitespace(std::string_view text);

// The next line of `rest` without its ending ("\n", "\r\n" or a lone
// "\r"), removed from `rest`; call while !rest.empty().
inline std::string_view next_line(std::string_view& rest) {
  size_t end = 0;
  while (end < rest.size() && rest[end] != '\n' && rest[end] != '\r') ++end;
  const std::string_view line = rest.substr(0, end);
  size_t skip = end;
  if (skip < rest.size()) skip += (rest[skip] == '\r' && skip + 1 < rest.size() && rest[skip + 1] == '\n') ? 2 : 1;
  rest.remove_prefix(skip);
  return line;
}

// Whether `line` holds nothing but ASCII whitespace.
inline bool is_blank(std::string_view line) {
  for (const char c : line) {
    if (c != ' ' && c != '\t' && c != '\f' && c != '\v') return false;
  }
  return true;
}

// The readers: each fills title and sections, and throws the reasons above.
ExtractedText extract_plain_text(std::string_view bytes);
ExtractedText extract_markdown(std::string_view bytes);
ExtractedText extract_html(std::string_view bytes);
ExtractedText extract_pdf(std::string_view bytes);

// Whether `line` (after up to three spaces) starts a list item: "- ", "* ",
// "+ ", "• " or 1-9 digits then ". " or ") ". When it does and
// `marker_length` is given, the bytes up to the item's text are stored.
bool starts_list_item(std::string_view line, size_t* marker_length = nullptr);

}  // namespace sb::knowledge::detail
