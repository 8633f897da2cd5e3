// The shape every document reader produces: paragraphs with collapsed
// whitespace, separated by "\n\n", under a stack of open headings.
#include "knowledge/document_formats.hpp"

#include <array>
#include <utility>

namespace sb::knowledge::detail {

namespace {

// Bytes that start whitespace or might: ASCII blanks and controls, and the
// lead bytes of U+00A0 and U+2028, U+2029, U+202F.
constexpr auto kMayStartWhitespace = [] {
  std::array<bool, 256> table{};
  for (int byte = 0; byte <= 0x20; ++byte) table[byte] = true;
  table[0x7F] = table[0xC2] = table[0xE2] = true;
  return table;
}();

// The length of the whitespace character at p (0 if it is none): ASCII
// blanks and controls, and the no-break, line and paragraph separators
// that HTML entities and word processors put into text.
inline size_t whitespace_length(const char* p, const char* end) {
  const auto byte = static_cast<unsigned char>(*p);
  if (!kMayStartWhitespace[byte]) return 0;
  if (byte <= 0x20 || byte == 0x7F) return 1;
  const auto next = [&](ptrdiff_t k) { return end - p > k ? static_cast<unsigned char>(p[k]) : 0; };
  if (byte == 0xC2) return next(1) == 0xA0 ? 2 : 0;                                // U+00A0
  if (next(1) == 0x80 && (next(2) == 0xA8 || next(2) == 0xA9 || next(2) == 0xAF)) {  // U+2028, U+2029, U+202F
    return 3;
  }
  return 0;
}

// Appends `text` to `out` with runs of whitespace as one space, none at the
// start of `out`; a trailing run is remembered in `pending_space`.
void append_collapsed(std::string& out, std::string_view text, bool& pending_space) {
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    if (const size_t blank = whitespace_length(p, end); blank != 0) {
      pending_space = true;
      p += blank;
      continue;
    }
    const char* const word = p;
    do {
      ++p;
      while (p < end && !kMayStartWhitespace[static_cast<unsigned char>(*p)]) ++p;
    } while (p < end && whitespace_length(p, end) == 0);
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.append(word, static_cast<size_t>(p - word));
  }
}

}  // namespace

std::string collapse_whitespace(std::string_view text) {
  std::string out;
  bool pending_space = false;
  append_collapsed(out, text, pending_space);
  return out;
}

void SectionBuilder::add_text(std::string_view text) { append_collapsed(paragraph_, text, pending_space_); }

void SectionBuilder::end_paragraph() {
  pending_space_ = false;
  if (paragraph_.empty()) return;
  if (!section_text_.empty()) section_text_ += "\n\n";
  section_text_ += paragraph_;
  paragraph_.clear();
}

void SectionBuilder::heading(int level, std::string_view text) {
  std::string collapsed = collapse_whitespace(text);
  end_paragraph();
  if (collapsed.empty()) return;
  end_section();
  while (!open_headings_.empty() && open_headings_.back().level >= level) open_headings_.pop_back();
  if (level < top_heading_level_) {
    top_heading_level_ = level;
    first_top_heading_ = collapsed;
  }
  open_headings_.push_back({level, std::move(collapsed)});
}

void SectionBuilder::start_page(int page) {
  end_section();
  page_ = page;
}

void SectionBuilder::end_section() {
  end_paragraph();
  if (section_text_.empty()) return;
  Section section;
  section.headings.reserve(open_headings_.size());
  for (const auto& open : open_headings_) section.headings.push_back(open.text);
  section.text = std::move(section_text_);
  section.page = page_;
  sections_.push_back(std::move(section));
  section_text_.clear();
}

std::vector<Section> SectionBuilder::finish() {
  end_section();
  return std::move(sections_);
}

bool starts_list_item(std::string_view line, size_t* marker_length) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  const auto blank_at = [&](size_t k) { return k < line.size() && (line[k] == ' ' || line[k] == '\t'); };
  size_t after_marker = 0;
  if (i < line.size() && (line[i] == '-' || line[i] == '*' || line[i] == '+') && blank_at(i + 1)) {
    after_marker = i + 1;
  } else if (line.substr(i, 3) == "\xE2\x80\xA2" && blank_at(i + 3)) {  // U+2022 bullet
    after_marker = i + 3;
  } else {
    size_t digits = 0;
    while (i + digits < line.size() && digits < 10 && line[i + digits] >= '0' && line[i + digits] <= '9') ++digits;
    if (digits == 0 || digits > 9) return false;
    const size_t delimiter = i + digits;
    if (delimiter >= line.size() || (line[delimiter] != '.' && line[delimiter] != ')') || !blank_at(delimiter + 1)) {
      return false;
    }
    after_marker = delimiter + 1;
  }
  if (marker_length != nullptr) {
    while (blank_at(after_marker)) ++after_marker;
    *marker_length = after_marker;
  }
  return true;
}

}  // namespace sb::knowledge::detail
