// Which format an upload is, and the dispatch to its reader; plain text is
// read here (the other readers have a file each).
#include "knowledge/document_text.hpp"

#include "core/error.hpp"
#include "core/text.hpp"
#include "knowledge/document_formats.hpp"

#include <algorithm>
#include <cctype>

namespace sb::knowledge {

namespace {

// The media type without parameters ("; charset=utf-8") or case.
std::string media_type_of(std::string_view content_type) {
  return ascii_lower(trim_ascii(content_type.substr(0, content_type.find(';'))));
}

std::optional<DocumentFormat> format_of_media_type(const std::string& type) {
  if (type == "text/plain") return DocumentFormat::text;
  if (type == "text/markdown" || type == "text/x-markdown") return DocumentFormat::markdown;
  if (type == "text/html" || type == "application/xhtml+xml") return DocumentFormat::html;
  if (type == "application/pdf" || type == "application/x-pdf") return DocumentFormat::pdf;
  return std::nullopt;
}

std::optional<DocumentFormat> format_of_filename(std::string_view filename) {
  const size_t slash = filename.find_last_of("/\\");
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  const size_t dot = filename.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string extension = ascii_lower(filename.substr(dot + 1));
  if (extension == "txt" || extension == "text") return DocumentFormat::text;
  if (extension == "md" || extension == "markdown") return DocumentFormat::markdown;
  if (extension == "html" || extension == "htm") return DocumentFormat::html;
  if (extension == "pdf") return DocumentFormat::pdf;
  return std::nullopt;
}

std::optional<DocumentFormat> format_of_bytes(std::string_view bytes) {
  bytes = detail::without_utf8_bom(bytes);
  while (!bytes.empty() && std::isspace(static_cast<unsigned char>(bytes.front()))) bytes.remove_prefix(1);
  if (bytes.substr(0, 5) == "%PDF-") return DocumentFormat::pdf;
  if (starts_with_ascii_ci(bytes, "<!doctype html") || starts_with_ascii_ci(bytes, "<html")) {
    return DocumentFormat::html;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(DocumentFormat format) {
  switch (format) {
    case DocumentFormat::text:
      return "text";
    case DocumentFormat::markdown:
      return "markdown";
    case DocumentFormat::html:
      return "html";
    case DocumentFormat::pdf:
      return "pdf";
  }
  return "unknown";
}

std::optional<DocumentFormat> format_from_string(std::string_view name) {
  for (const auto format : {DocumentFormat::text, DocumentFormat::markdown, DocumentFormat::html, DocumentFormat::pdf}) {
    if (to_string(format) == name) return format;
  }
  return std::nullopt;
}

std::optional<DocumentFormat> detect_format(std::string_view content_type, std::string_view filename,
                                            std::string_view bytes) {
  const auto by_name = format_of_filename(filename);
  if (const auto by_type = format_of_media_type(media_type_of(content_type))) {
    // Servers and browsers often label Markdown text/plain (raw files on
    // GitHub, for one): the name tells it apart.
    if (*by_type == DocumentFormat::text && by_name == DocumentFormat::markdown) return by_name;
    return by_type;
  }
  if (by_name) return by_name;
  return format_of_bytes(bytes);
}

size_t ExtractedText::characters() const {
  size_t total = 0;
  for (const auto& section : sections) total += section.text.size();
  return total;
}

ExtractedText extract_text(DocumentFormat format, std::string_view bytes) {
  if (bytes.empty()) throw Error(ErrorCode::invalid_argument, detail::kEmptyFile);
  ExtractedText extracted;
  switch (format) {
    case DocumentFormat::text:
      extracted = detail::extract_plain_text(bytes);
      break;
    case DocumentFormat::markdown:
      extracted = detail::extract_markdown(bytes);
      break;
    case DocumentFormat::html:
      extracted = detail::extract_html(bytes);
      break;
    case DocumentFormat::pdf:
      extracted = detail::extract_pdf(bytes);
      break;
    default:
      throw Error(ErrorCode::invalid_argument, "unknown document format");
  }
  if (extracted.sections.empty()) throw Error(ErrorCode::invalid_argument, detail::kNoText);
  return extracted;
}

namespace detail {

// Plain text is one section without headings: paragraphs end at blank
// lines, and a line that starts a list item starts a paragraph of its own
// so that its sentence is not run into the previous item.
ExtractedText extract_plain_text(std::string_view bytes) {
  const std::string text = decode_text_file(bytes);
  SectionBuilder builder;
  builder.reserve(text.size());
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::string_view line = next_line(rest);
    if (is_blank(line)) {
      builder.end_paragraph();
      continue;
    }
    if (starts_list_item(line)) builder.end_paragraph();
    builder.add_text(line);
    builder.add_text(" ");
  }
  ExtractedText extracted;
  extracted.sections = builder.finish();
  return extracted;
}

}  // namespace detail

}  // namespace sb::knowledge
