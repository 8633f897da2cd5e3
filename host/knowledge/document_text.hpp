#pragma once
// A document's bytes turned into text under its headings: plain text,
// Markdown, HTML (through gumbo) and PDF (through poppler's C++ library).
// What the chunker splits and what the knowledge base indexes.
//
// Pure functions: no state, safe on any thread.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::knowledge {

enum class DocumentFormat { text, markdown, html, pdf };

// "text", "markdown", "html", "pdf".
std::string_view to_string(DocumentFormat format);
// The inverse of to_string; nullopt for anything else.
std::optional<DocumentFormat> format_from_string(std::string_view name);

// The format of an upload, from its content type (parameters such as
// "; charset=utf-8" ignored), then its file name's extension (.txt, .text,
// .md, .markdown, .html, .htm, .pdf), then its first bytes ("%PDF-", an
// HTML doctype or <html>). A generic content type (application/octet-stream,
// empty) or one of another kind defers to the name and the bytes; text/plain
// defers to a Markdown name (.md is often served as text/plain). nullopt
// when none tells.
std::optional<DocumentFormat> detect_format(std::string_view content_type, std::string_view filename,
                                            std::string_view bytes);

// A run of text under one heading path.
struct Section {
  std::vector<std::string> headings;  // outermost first; empty before the first heading
  std::string text;                   // paragraphs separated by "\n\n", whitespace inside a paragraph collapsed
  int page = 0;                       // PDF: the 1-based page the section starts on; 0 for other formats
};

struct ExtractedText {
  std::string title;  // HTML <title>, PDF title, else the first top-level heading; may be empty
  std::vector<Section> sections;  // in document order; none is empty
  size_t characters() const;      // the bytes of text in every section
};

// Extracts the text of `bytes` read as `format`. Text and Markdown are
// UTF-8 (a byte order mark dropped) or UTF-16 with a byte order mark. Plain
// text is one section without headings; paragraphs end at blank lines and
// a line that starts a list item ("- ", "1. ") starts one. Markdown
// headings are ATX (#..######) and setext (=== / ---) lines; list markers,
// emphasis, links ([text](url) -> text), images (-> alt text), code fences
// (-> their text), entities and HTML tags inside Markdown are reduced to
// their text; front matter, comments and link definitions are dropped;
// list items and table rows ("cell | cell") are paragraphs. HTML (UTF-8,
// else read as Windows-1252): <h1>..<h6> are headings; script, style,
// noscript, template, nav, header and footer (but an <article>'s or
// <main>'s own), svg, iframe, select and the like, and elements marked
// hidden are dropped; block elements end paragraphs, table rows are
// "cell | cell" paragraphs. PDF: page by page; a line set apart and shorter
// than a sentence is not guessed to be a heading (PDF has no reliable
// headings): each page is a section with page set. "The first top-level
// heading" is the first heading of the outermost level the document uses.
//
// Throws sb::Error(invalid_argument) with a reason a user understands:
// "the file is empty", "the file is not valid UTF-8 text" (text, Markdown),
// "the PDF is encrypted" (a password is needed to open it; a PDF encrypted
// only to restrict printing or copying is read), "the PDF is damaged or not
// a PDF", "the HTML is nested too deeply to be read" (elements nested over
// 1000 deep: gumbo's time grows with the depth for every element), "the
// document holds no text" (e.g. a PDF of scanned images).
ExtractedText extract_text(DocumentFormat format, std::string_view bytes);

}  // namespace sb::knowledge
