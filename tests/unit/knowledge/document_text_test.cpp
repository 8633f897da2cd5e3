// A document's bytes turned into text under its headings: which format an
// upload is, what each format's reader keeps and drops, and the reasons a
// file is refused. Fixtures: tests/data/knowledge/files/ (README.md there
// says how each was made).
#include "knowledge/document_text.hpp"

#include "core/error.hpp"
#include "knowledge/chunker.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using sb::ErrorCode;
using sb::knowledge::detect_format;
using sb::knowledge::DocumentFormat;
using sb::knowledge::extract_text;
using sb::knowledge::ExtractedText;
using sb::knowledge::format_from_string;
using sb::knowledge::Section;

namespace {

std::string fixture(const std::string& name) {
  const std::string path = SB_SOURCE_DIR "/tests/data/knowledge/files/" + name;
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The message of the invalid_argument error that extracting `bytes` throws.
std::string refusal(DocumentFormat format, std::string_view bytes) {
  try {
    extract_text(format, bytes);
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    return e.what();
  }
  FAIL("the document was not refused");
  return {};
}

std::vector<std::string> headings(std::initializer_list<const char*> names) { return {names.begin(), names.end()}; }

}  // namespace

// ---- Format detection ---------------------------------------------------

TEST_CASE("the content type tells the format, whatever its parameters and case", "[knowledge][document-text]") {
  CHECK(detect_format("text/plain; charset=utf-8", "", "") == DocumentFormat::text);
  CHECK(detect_format("Text/Markdown", "", "") == DocumentFormat::markdown);
  CHECK(detect_format("text/x-markdown", "notes", "") == DocumentFormat::markdown);
  CHECK(detect_format(" text/html ;charset=ISO-8859-1", "", "") == DocumentFormat::html);
  CHECK(detect_format("application/xhtml+xml", "", "") == DocumentFormat::html);
  CHECK(detect_format("application/pdf", "", "") == DocumentFormat::pdf);
  // The type wins over a name that says otherwise.
  CHECK(detect_format("application/pdf", "report.html", "<html>") == DocumentFormat::pdf);
}

TEST_CASE("Markdown labelled text/plain is told apart by its name", "[knowledge][document-text]") {
  CHECK(detect_format("text/plain", "README.md", "# Title") == DocumentFormat::markdown);
  CHECK(detect_format("text/plain", "notes.txt", "# Title") == DocumentFormat::text);
  CHECK(detect_format("text/plain", "", "# Title") == DocumentFormat::text);
}

TEST_CASE("a generic content type defers to the file name's extension", "[knowledge][document-text]") {
  CHECK(detect_format("application/octet-stream", "faq.MD", "") == DocumentFormat::markdown);
  CHECK(detect_format("", "docs/guide.markdown", "") == DocumentFormat::markdown);
  CHECK(detect_format("", "C:\\Users\\ana\\notes.TXT", "") == DocumentFormat::text);
  CHECK(detect_format("", "notes.text", "") == DocumentFormat::text);
  CHECK(detect_format("", "index.htm", "") == DocumentFormat::html);
  CHECK(detect_format("", "index.html", "") == DocumentFormat::html);
  CHECK(detect_format("application/octet-stream", "Manual.Pdf", "") == DocumentFormat::pdf);
}

TEST_CASE("without a telling type or name the first bytes tell the format", "[knowledge][document-text]") {
  CHECK(detect_format("application/octet-stream", "upload", "%PDF-1.7\n...") == DocumentFormat::pdf);
  CHECK(detect_format("", "", "\xEF\xBB\xBF  \n<!DOCTYPE html><html>") == DocumentFormat::html);
  CHECK(detect_format("", "page", "<HTML><body>hi</body></HTML>") == DocumentFormat::html);
  CHECK(detect_format("", "", "<!doctype HTML>") == DocumentFormat::html);
}

TEST_CASE("detection gives nothing when neither type, name nor bytes tell", "[knowledge][document-text]") {
  CHECK_FALSE(detect_format("", "", "").has_value());
  CHECK_FALSE(detect_format("application/octet-stream", "archive.zip", "PK\x03\x04").has_value());
  CHECK_FALSE(detect_format("image/png", "photo", "\x89PNG\r\n").has_value());
  CHECK_FALSE(detect_format("", "no-extension", "just some words").has_value());
}

TEST_CASE("formats are named text, markdown, html and pdf", "[knowledge][document-text]") {
  for (const auto format : {DocumentFormat::text, DocumentFormat::markdown, DocumentFormat::html, DocumentFormat::pdf}) {
    CHECK(format_from_string(to_string(format)) == format);
  }
  CHECK(to_string(DocumentFormat::markdown) == "markdown");
  CHECK_FALSE(format_from_string("docx").has_value());
  CHECK_FALSE(format_from_string("PDF").has_value());
}

// ---- Plain text ---------------------------------------------------------

TEST_CASE("plain text is one section of paragraphs split on blank lines", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::text,
                                "\xEF\xBB\xBF"
                                "First line\r\nstill   the first\tparagraph.\r\n"
                                "  \r\n\r\n"
                                "Second paragraph.\n"
                                "- a list item\n"
                                "- another item\n"
                                "\n\n\n"
                                "Old Mac line\rends.");
  REQUIRE(doc.sections.size() == 1);
  CHECK(doc.sections[0].headings.empty());
  CHECK(doc.sections[0].page == 0);
  CHECK(doc.title.empty());
  CHECK(doc.sections[0].text ==
        "First line still the first paragraph.\n\n"
        "Second paragraph.\n\n- a list item\n\n- another item\n\n"
        "Old Mac line ends.");
  CHECK(doc.characters() == doc.sections[0].text.size());
}

TEST_CASE("a UTF-16 text file with a byte order mark is read as text", "[knowledge][document-text]") {
  // "Olá\r\n" in UTF-16LE with its BOM, as Windows Notepad saves "Unicode".
  const std::string utf16le("\xFF\xFEO\0l\0\xE1\0\r\0\n\0", 12);
  const auto doc = extract_text(DocumentFormat::text, utf16le);
  REQUIRE(doc.sections.size() == 1);
  CHECK(doc.sections[0].text == "Ol\xC3\xA1");
}

TEST_CASE("text that is not UTF-8 is refused", "[knowledge][document-text]") {
  const std::string reason = "the file is not valid UTF-8 text";
  CHECK(refusal(DocumentFormat::text, "caf\xE9 au lait") == reason);             // Latin-1
  CHECK(refusal(DocumentFormat::text, "bad \xC3\x28 pair") == reason);            // a lead byte without its tail
  CHECK(refusal(DocumentFormat::text, "overlong \xC0\xAF slash") == reason);      // an overlong "/"
  CHECK(refusal(DocumentFormat::text, "surrogate \xED\xA0\x80 half") == reason);  // U+D800
  CHECK(refusal(DocumentFormat::text, "cut at the end \xE2\x82") == reason);
  CHECK(refusal(DocumentFormat::text, std::string("binary\0file", 11)) == reason);
  CHECK(refusal(DocumentFormat::markdown, "# Caf\xE9") == reason);
  // Every well-formed sequence passes, up to four bytes.
  CHECK_NOTHROW(extract_text(DocumentFormat::text, "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"));
}

TEST_CASE("an empty file and a file of only whitespace are refused with their reasons", "[knowledge][document-text]") {
  for (const auto format : {DocumentFormat::text, DocumentFormat::markdown, DocumentFormat::html, DocumentFormat::pdf}) {
    CHECK(refusal(format, "") == "the file is empty");
  }
  CHECK(refusal(DocumentFormat::text, " \r\n\t\n ") == "the document holds no text");
  CHECK(refusal(DocumentFormat::markdown, "#\n\n---\n<!-- only a comment -->\n") == "the document holds no text");
  CHECK(refusal(DocumentFormat::html, "<html><head><script>var x;</script></head><body> </body></html>") ==
        "the document holds no text");
}

// ---- Markdown -----------------------------------------------------------

TEST_CASE("Markdown headings give each section its heading path", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::markdown, fixture("guide.md"));
  CHECK(doc.title == "Shop guide");
  REQUIRE(doc.sections.size() == 4);
  CHECK(doc.sections[0].headings == headings({"Shop guide"}));
  CHECK(doc.sections[1].headings == headings({"Shop guide", "Opening hours"}));
  // A setext heading (underlined with dashes) is level 2: it replaces the
  // level-2 heading above it; the ### after it nests under it.
  CHECK(doc.sections[2].headings == headings({"Shop guide", "Holidays"}));
  CHECK(doc.sections[3].headings == headings({"Shop guide", "Holidays", "Prices"}));
  for (const Section& section : doc.sections) CHECK(section.page == 0);
}

TEST_CASE("Markdown is reduced to the text a reader sees", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::markdown, fixture("guide.md"));
  REQUIRE(doc.sections.size() == 4);
  // Front matter dropped; emphasis markers and link targets gone.
  CHECK(doc.sections[0].text ==
        "Welcome to the Corner Shop. This guide answers the usual questions; see our website for more.");
  // List markers and check boxes gone, each item a paragraph of its own.
  CHECK(doc.sections[1].text ==
        "Monday to Friday: 9:00 to 18:00\n\nSaturday: 10:00 to 14:00\n\nClosed on Sundays");
  // An HTML comment is no text.
  CHECK(doc.sections[2].text == "We close on public holidays.");
  // Table rows are paragraphs with their cells; a code block's text stays
  // (its "# comment" is no heading); an image gives its alt text; a quote
  // its text, with autolinks and entities as a reader sees them; a link
  // reference definition nothing.
  CHECK(doc.sections[3].text ==
        "Item | Price\n\nCoffee | 2.50\n\nCake | 3.10\n\n"
        "# not a heading: a comment in a code block echo \"open\"\n\n"
        "A photo of the shop front\n\n"
        "Questions? Write to help@example.com & we answer within a day.");
}

TEST_CASE("Markdown headings nest by level: deeper nests, same or higher replaces", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::markdown,
                                "Intro before any heading.\n"
                                "## Delivery ##\nShipping.\n"
                                "### Abroad\nSpain.\n"
                                "## Returns\nThirty days.\n"
                                "# Second part\nMore.\n"
                                "####### seven hashes is text\n"
                                "#hashtag is text too\n");
  REQUIRE(doc.sections.size() == 5);
  CHECK(doc.sections[0].headings.empty());
  CHECK(doc.sections[0].text == "Intro before any heading.");
  CHECK(doc.sections[1].headings == headings({"Delivery"}));
  CHECK(doc.sections[2].headings == headings({"Delivery", "Abroad"}));
  CHECK(doc.sections[3].headings == headings({"Returns"}));
  CHECK(doc.sections[4].headings == headings({"Second part"}));
  CHECK(doc.sections[4].text == "More. ####### seven hashes is text #hashtag is text too");
  // The first heading of the outermost level present is the title.
  CHECK(doc.title == "Second part");
}

TEST_CASE("Markdown inline markup goes, the characters it looks like stay", "[knowledge][document-text]") {
  const auto text_of = [](const std::string& markdown) {
    const auto doc = extract_text(DocumentFormat::markdown, markdown);
    REQUIRE(doc.sections.size() == 1);
    return doc.sections[0].text;
  };
  CHECK(text_of("Run `make_all --fast` now.") == "Run make_all --fast now.");
  CHECK(text_of("Use snake_case_names and 5 * 3 = 15.") == "Use snake_case_names and 5 * 3 = 15.");
  CHECK(text_of("A *lone star and a lone_underscore.") == "A *lone star and a lone_underscore.");
  CHECK(text_of("***Very** important* and ~~old~~ new.") == "Very important and old new.");
  CHECK(text_of("Escaped \\*stars\\* and \\[brackets\\].") == "Escaped *stars* and [brackets].");
  CHECK(text_of("See [the *docs*][docs] and [a [nested] link](http://x.y/(z)).") ==
        "See the docs and a [nested] link.");
  CHECK(text_of("Footnote[^1] here.") == "Footnote here.");
  CHECK(text_of("If a < b and c > d then <span class=\"x\">tagged</span><br>done.") ==
        "If a < b and c > d then tagged done.");
  CHECK(text_of("Caf&eacute; &#233; &#x20AC; &amp;c.") == "Caf&eacute; \xC3\xA9 \xE2\x82\xAC &c.");
}

TEST_CASE("Markdown links nested without end, or brackets that never close, are read in linear time",
          "[knowledge][document-text]") {
  // 100,000 nested links once took the stack (a reducer per level); a line
  // of 200,000 "[" took minutes (each scanned the rest of the line).
  std::string nested;
  for (int i = 0; i < 100000; ++i) nested += "[";
  nested += "a";
  for (int i = 0; i < 100000; ++i) nested += "](x)";
  const auto deep = extract_text(DocumentFormat::markdown, nested);
  REQUIRE(deep.sections.size() == 1);
  CHECK(deep.sections[0].text.find('a') != std::string::npos);

  const auto open = extract_text(DocumentFormat::markdown, std::string(200000, '[') + " text");
  REQUIRE(open.sections.size() == 1);
  CHECK(open.sections[0].text == std::string(200000, '[') + " text");
}

TEST_CASE("Markdown comments, scripts and code fences span lines", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::markdown,
                                "Before <!-- a comment\nover two lines --> after.\n\n"
                                "<script>\nvar hidden = 1;\n</script>\n\n"
                                "~~~~\n## code, not a heading\n~~~\nstill code\n~~~~\n\n"
                                "End.");
  REQUIRE(doc.sections.size() == 1);
  CHECK(doc.sections[0].headings.empty());
  CHECK(doc.sections[0].text == "Before after.\n\n## code, not a heading ~~~ still code\n\nEnd.");
}

// ---- HTML ---------------------------------------------------------------

TEST_CASE("HTML headings give each section its heading path", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::html, fixture("page.html"));
  CHECK(doc.title == "Corner Shop \xE2\x80\x93 Help");  // &ndash; decoded
  REQUIRE(doc.sections.size() == 4);
  CHECK(doc.sections[0].headings == headings({"Help centre"}));
  CHECK(doc.sections[1].headings == headings({"Help centre", "Delivery"}));
  CHECK(doc.sections[2].headings == headings({"Help centre", "Delivery", "Abroad"}));
  CHECK(doc.sections[3].headings == headings({"Help centre", "Prices"}));
}

TEST_CASE("HTML text has entities decoded, whitespace collapsed and blocks as paragraphs",
          "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::html, fixture("page.html"));
  REQUIRE(doc.sections.size() == 4);
  CHECK(doc.sections[0].text ==
        "Welcome to the help centre of the Corner Shop. We answer every question within a day.");
  CHECK(doc.sections[1].text == "Orders leave the warehouse on weekdays & arrive in 2\xE2\x80\x93" "3 days.");
  CHECK(doc.sections[2].text == "We ship to Spain, France and Portugal.\n\nSpain: 5 days\n\nFrance: 4 days");
  CHECK(doc.sections[3].text == "Item | Price\n\nCoffee | \xE2\x82\xAC" "2.50");
}

TEST_CASE("HTML page furniture, code and hidden elements are dropped", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::html, fixture("page.html"));
  std::string all;
  for (const Section& section : doc.sections) all += section.text + "\n";
  for (const char* dropped : {"tracking", "font-family", "Site menu", "Privacy", "enable JavaScript",
                              "Secret draft"}) {
    CHECK(all.find(dropped) == std::string::npos);
  }
}

TEST_CASE("an article's own header stays while the page's header goes", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::html,
                                "<body><header>Logo</header><article><header><h1>Returns policy</h1>"
                                "<p>Updated in May</p></header><p>Thirty days.</p></article></body>");
  REQUIRE(doc.sections.size() == 1);
  CHECK(doc.title == "Returns policy");  // no <title>: the first top-level heading
  CHECK(doc.sections[0].headings == headings({"Returns policy"}));
  CHECK(doc.sections[0].text == "Updated in May\n\nThirty days.");
}

TEST_CASE("HTML headings of inline pieces keep their words whole", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::html, "<h2>Opening <em>hour</em>s\n and <b>days</b></h2><p>Daily.</p>");
  REQUIRE(doc.sections.size() == 1);
  CHECK(doc.sections[0].headings == headings({"Opening hours and days"}));
  CHECK(doc.title == "Opening hours and days");
}

TEST_CASE("HTML that is not UTF-8 is read as Windows-1252", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::html, "<p>Caf\xE9 \x80" "5 \x93quoted\x94</p>");
  REQUIRE(doc.sections.size() == 1);
  CHECK(doc.sections[0].text == "Caf\xC3\xA9 \xE2\x82\xAC" "5 \xE2\x80\x9Cquoted\xE2\x80\x9D");
}

TEST_CASE("HTML nested hundreds of elements deep is read", "[knowledge][document-text]") {
  std::string html = "<body>";
  for (int i = 0; i < 450; ++i) html += "<div><span>";
  html += "deep <p>text";
  for (int i = 0; i < 450; ++i) html += "</span></div>";
  html += "<ul><li>one<li>two<li>three</ul>";
  const auto doc = extract_text(DocumentFormat::html, html);
  REQUIRE(doc.sections.size() == 1);
  CHECK(doc.sections[0].text == "deep\n\ntext\n\none\n\ntwo\n\nthree");
}

TEST_CASE("HTML nested over a thousand elements deep is refused", "[knowledge][document-text]") {
  // Gumbo's time grows with the depth for every element: 20,000 nested
  // divs would take seconds, a megabyte of them minutes.
  std::string html = "<body><script>var s = '<div><div><div>';</script><!-- <div><div> -->";
  for (int i = 0; i < 1001; ++i) html += "<div>";
  CHECK(refusal(DocumentFormat::html, html) == "the HTML is nested too deeply to be read");
  // Tags that close themselves or need no end tag do not nest.
  std::string flat = "<body>";
  for (int i = 0; i < 5000; ++i) flat += "<p>paragraph<br><img src=x.png><li>item<div/></div>";
  CHECK_NOTHROW(extract_text(DocumentFormat::html, flat));
}

// ---- PDF ----------------------------------------------------------------

TEST_CASE("a PDF gives a section per page, with its title and no guessed headings", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::pdf, fixture("text.pdf"));
  CHECK(doc.title == "Shop Guide");
  REQUIRE(doc.sections.size() == 2);
  CHECK(doc.sections[0].page == 1);
  CHECK(doc.sections[1].page == 2);
  CHECK(doc.sections[0].headings.empty());
  CHECK(doc.sections[1].headings.empty());
  // Lines of a block are joined, blocks are paragraphs, a word hyphenated
  // across lines is whole again, WinAnsi "é" is UTF-8.
  CHECK(doc.sections[0].text ==
        "Opening hours\n\n"
        "The shop is open from Monday to Friday, from nine in the morning to six in the evening. "
        "On Saturdays it opens at ten.\n\n"
        "The caf\xC3\xA9 on the first floor serves homemade lemon cake.");
  CHECK(doc.sections[1].text == "Returns\n\nGoods can be returned within 30 days with the receipt.");
}

TEST_CASE("a PDF that needs a password is refused as encrypted", "[knowledge][document-text]") {
  CHECK(refusal(DocumentFormat::pdf, fixture("encrypted.pdf")) == "the PDF is encrypted");
}

TEST_CASE("a PDF encrypted only to restrict permissions is read", "[knowledge][document-text]") {
  const auto doc = extract_text(DocumentFormat::pdf, fixture("permissions-only.pdf"));
  REQUIRE(doc.sections.size() == 2);
  CHECK(doc.sections[1].text == "Returns\n\nGoods can be returned within 30 days with the receipt.");
}

TEST_CASE("a damaged PDF and bytes that are no PDF are refused as damaged", "[knowledge][document-text]") {
  CHECK(refusal(DocumentFormat::pdf, fixture("damaged.pdf")) == "the PDF is damaged or not a PDF");
  CHECK(refusal(DocumentFormat::pdf, "hello, I am plain text") == "the PDF is damaged or not a PDF");
  CHECK(refusal(DocumentFormat::pdf, fixture("page.html")) == "the PDF is damaged or not a PDF");
}

TEST_CASE("a PDF of images without a text layer holds no text", "[knowledge][document-text]") {
  CHECK(refusal(DocumentFormat::pdf, fixture("image-only.pdf")) == "the document holds no text");
}

// ---- Throughput ---------------------------------------------------------

namespace {

// About `bytes` of English-like prose in paragraphs, with a heading every
// few paragraphs in the syntax of `format`.
std::string generated_document(DocumentFormat format, size_t bytes) {
  static const char* const kSentences[] = {
      "The shop opens at nine in the morning and closes at six in the evening. ",
      "Orders placed before noon leave the warehouse on the same day, e.g. by courier. ",
      "Dr. Silva answers questions about allergies; write to her at the usual address. ",
      "A coffee costs 2.50 and a slice of cake costs 3.10, taxes included! ",
      "Could the parcel be late? It happens when the weather is bad, etc. and we say so. ",
  };
  std::string out;
  out.reserve(bytes + 1024);
  if (format == DocumentFormat::html) out += "<!DOCTYPE html><html><head><title>Generated</title></head><body>";
  for (size_t paragraph = 0; out.size() < bytes; ++paragraph) {
    if (paragraph % 8 == 0) {
      const std::string heading = "Section " + std::to_string(paragraph / 8);
      if (format == DocumentFormat::markdown) out += "## " + heading + "\n\n";
      if (format == DocumentFormat::html) out += "<h2>" + heading + "</h2>\n";
    }
    if (format == DocumentFormat::html) out += "<p>";
    for (size_t s = 0; s < 6; ++s) {
      out += kSentences[(paragraph + s) % 5];
      if (s == 2) out += format == DocumentFormat::html ? "<b>bold</b> words and <a href=\"/x\">a link</a>\n" : "**bold** words\n";
    }
    out += format == DocumentFormat::html ? "</p>\n" : "\n\n";
  }
  if (format == DocumentFormat::html) out += "</body></html>";
  return out;
}

}  // namespace

TEST_CASE("text, Markdown and HTML are extracted and chunked at tens of MB/s (prints the rates)",
          "[knowledge][document-text][throughput]") {
  constexpr size_t kBytes = 4 << 20;
  for (const auto format : {DocumentFormat::text, DocumentFormat::markdown, DocumentFormat::html}) {
    const std::string input = generated_document(format, kBytes);
    extract_text(format, input);  // warm-up: the first touch of fresh memory is not the reader's cost

    // CPU time, not wall-clock time: the machine may be shared.
    const std::clock_t started = std::clock();
    const ExtractedText doc = extract_text(format, input);
    const std::clock_t extracted = std::clock();
    const auto chunks = sb::knowledge::chunk_document(doc);
    const std::clock_t chunked = std::clock();

    const auto megabytes_per_second = [&](std::clock_t from, std::clock_t to) {
      const double seconds = std::max(1e-6, static_cast<double>(to - from) / CLOCKS_PER_SEC);
      return static_cast<int>(static_cast<double>(input.size()) / (1 << 20) / seconds);
    };
    std::cout << "[throughput] " << to_string(format) << ": " << input.size() / (1 << 20) << " MB, extraction "
              << megabytes_per_second(started, extracted) << " MB/s, chunking " << megabytes_per_second(extracted, chunked)
              << " MB/s of input (CPU time), " << chunks.size() << " chunks\n";
    // What was measured is the real work: the text is there and every chunk within the bounds.
    CHECK(doc.characters() > input.size() / 2);
    REQUIRE_FALSE(chunks.empty());
    for (const auto& chunk : chunks) REQUIRE(chunk.text.size() <= sb::knowledge::ChunkOptions{}.max_chars);
    if (format != DocumentFormat::text) CHECK(chunks.back().heading.rfind("Section ", 0) == 0);
  }
}
