// PDF text through poppler's C++ library, a section per page. PDF keeps
// no paragraphs or headings, only positioned text: poppler puts the words
// in reading order and separates blocks with blank lines, which become
// paragraphs here; the lines of a block are joined.
#include "core/error.hpp"
#include "knowledge/document_formats.hpp"

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>
#include <spdlog/spdlog.h>

#include <climits>
#include <memory>
#include <mutex>

namespace sb::knowledge::detail {

namespace {

// Poppler reports what it repairs or cannot read in a damaged file on
// stderr unless told otherwise; what matters reaches the user as the
// error thrown, the details are for debugging.
void route_poppler_messages_to_log() {
  static std::once_flag once;
  std::call_once(once, [] {
    poppler::set_debug_error_function(
        [](const std::string& message, void*) { spdlog::debug("poppler: {}", message); }, nullptr);
  });
}

std::string utf8_of(const poppler::ustring& text) {
  const poppler::byte_array bytes = text.to_utf8();
  std::string out(bytes.begin(), bytes.end());
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

// Adds a page's text: blank lines end paragraphs, the lines between are
// joined (poppler has already joined words hyphenated across lines).
void add_page_text(SectionBuilder& builder, std::string_view text) {
  while (!text.empty()) {
    const std::string_view line = next_line(text);
    if (is_blank(line)) {
      builder.end_paragraph();
      continue;
    }
    builder.add_text(line);
    builder.add_text(" ");
  }
  builder.end_paragraph();
}

}  // namespace

ExtractedText extract_pdf(std::string_view bytes) {
  route_poppler_messages_to_log();
  if (bytes.size() > static_cast<size_t>(INT_MAX)) throw Error(ErrorCode::invalid_argument, kPdfDamaged);
  // Poppler reads the buffer in place; `bytes` outlives `document`.
  const std::unique_ptr<poppler::document> document(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!document) throw Error(ErrorCode::invalid_argument, kPdfDamaged);
  // Encrypted with an empty user password (only permissions restricted),
  // a PDF opens unlocked and is read; one that needs a password is not.
  if (document->is_locked()) throw Error(ErrorCode::invalid_argument, kPdfEncrypted);

  SectionBuilder builder;
  const int pages = document->pages();
  for (int index = 0; index < pages; ++index) {
    const std::unique_ptr<poppler::page> page(document->create_page(index));
    if (!page) continue;
    builder.start_page(index + 1);
    add_page_text(builder, utf8_of(page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout)));
  }
  ExtractedText extracted;
  extracted.sections = builder.finish();
  extracted.title = collapse_whitespace(utf8_of(document->get_title()));
  return extracted;
}

}  // namespace sb::knowledge::detail
