// Chunking: sentences (and what does not end one), chunks that end at
// sentence ends past the target and never pass the maximum, overlap of
// whole sentences inside a section only, headings as hard boundaries, and
// UTF-8 never cut.
#include "knowledge/chunker.hpp"

#include "knowledge/document_formats.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

using sb::knowledge::Chunk;
using sb::knowledge::chunk_document;
using sb::knowledge::ChunkOptions;
using sb::knowledge::ExtractedText;
using sb::knowledge::Section;
using sb::knowledge::split_sentences;

namespace {

std::vector<std::string> sentences_of(std::string_view text) {
  std::vector<std::string> out;
  for (const auto sentence : split_sentences(text)) out.emplace_back(sentence);
  return out;
}

using Sentences = std::vector<std::string>;

ExtractedText document(std::vector<Section> sections) {
  ExtractedText doc;
  doc.sections = std::move(sections);
  return doc;
}

Section section(std::vector<std::string> headings, std::string text, int page = 0) {
  Section s;
  s.headings = std::move(headings);
  s.text = std::move(text);
  s.page = page;
  return s;
}

// "Sentence 0 is here and ... ." sentences of about `length` bytes, numbered.
std::string numbered_sentences(int count, size_t length, const std::string& tag = "Sentence") {
  std::string text;
  for (int i = 0; i < count; ++i) {
    std::string sentence = tag + " " + std::to_string(i) + " says";
    while (sentence.size() + 1 < length) sentence += " more";
    sentence += ".";
    if (!text.empty()) text += (i % 4 == 0) ? "\n\n" : " ";
    text += sentence;
  }
  return text;
}

bool ends_a_sentence(const std::string& text) { return !text.empty() && text.back() == '.'; }

}  // namespace

// ---- Sentences ----------------------------------------------------------

TEST_CASE("sentences end at . ! and ? before whitespace, trimmed", "[knowledge][chunking]") {
  CHECK(sentences_of("  One. Two!  Three?\tFour") == Sentences{"One.", "Two!", "Three?", "Four"});
  CHECK(sentences_of("Wait... What?! Yes.") == Sentences{"Wait...", "What?!", "Yes."});
  CHECK(sentences_of("") == Sentences{});
  CHECK(sentences_of(" \n\n ") == Sentences{});
}

TEST_CASE("closing quotes and brackets stay with the sentence they close", "[knowledge][chunking]") {
  CHECK(sentences_of("He said \"Stop.\" Then he left.") == Sentences{"He said \"Stop.\"", "Then he left."});
  CHECK(sentences_of("(See the map.) It is near.") == Sentences{"(See the map.)", "It is near."});
  CHECK(sentences_of("Sie sagte \xE2\x80\x9Cja.\xE2\x80\x9D Dann ging sie.") ==
        Sentences{"Sie sagte \xE2\x80\x9Cja.\xE2\x80\x9D", "Dann ging sie."});
}

TEST_CASE("abbreviations do not end a sentence", "[knowledge][chunking]") {
  CHECK(sentences_of("Bring a document, e.g. a passport. Then wait.") ==
        Sentences{"Bring a document, e.g. a passport.", "Then wait."});
  CHECK(sentences_of("Only one, i.e. The Last, remains. Next.") == Sentences{"Only one, i.e. The Last, remains.", "Next."});
  CHECK(sentences_of("Ask Dr. Silva or Mr. Jones. They know.") == Sentences{"Ask Dr. Silva or Mr. Jones.", "They know."});
  CHECK(sentences_of("Apples, pears, etc. are sold here. Come.") == Sentences{"Apples, pears, etc. are sold here.", "Come."});
  CHECK(sentences_of("It is in room No. 5 upstairs. Knock.") == Sentences{"It is in room No. 5 upstairs.", "Knock."});
  // "etc." before a capital and "No." before a word do end one.
  CHECK(sentences_of("We sell fruit etc. The rest is online.") == Sentences{"We sell fruit etc.", "The rest is online."});
  CHECK(sentences_of("Is it open? No. It opens at ten.") == Sentences{"Is it open?", "No.", "It opens at ten."});
}

TEST_CASE("decimals and initials do not end a sentence", "[knowledge][chunking]") {
  CHECK(sentences_of("A coffee costs 3.50 today. Tea is 2.") == Sentences{"A coffee costs 3.50 today.", "Tea is 2."});
  CHECK(sentences_of("J. R. R. Tolkien wrote it. J.R.R. Tolkien did.") ==
        Sentences{"J. R. R. Tolkien wrote it.", "J.R.R. Tolkien did."});
  CHECK(sentences_of("Version 2.0.1 is out. Update.") == Sentences{"Version 2.0.1 is out.", "Update."});
}

TEST_CASE("paragraph breaks and list items end a sentence without punctuation", "[knowledge][chunking]") {
  CHECK(sentences_of("Opening hours\n\nMonday to Friday\n \nSaturday") ==
        Sentences{"Opening hours", "Monday to Friday", "Saturday"});
  CHECK(sentences_of("We need:\n- flour\n- sugar\n  2. eggs\nand a line\nthat goes on") ==
        Sentences{"We need:", "- flour", "- sugar", "2. eggs\nand a line\nthat goes on"});
  // A list's number at the start of a sentence is not a sentence.
  CHECK(sentences_of("1. Preheat the oven. 2. Mix.") == Sentences{"1. Preheat the oven.", "2. Mix."});
}

TEST_CASE("Chinese and Japanese full stops end a sentence without a space", "[knowledge][chunking]") {
  CHECK(sentences_of("\xE4\xBD\xA0\xE5\xA5\xBD\xE3\x80\x82\xE5\x86\x8D\xE8\xA7\x81\xEF\xBC\x81") ==
        Sentences{"\xE4\xBD\xA0\xE5\xA5\xBD\xE3\x80\x82", "\xE5\x86\x8D\xE8\xA7\x81\xEF\xBC\x81"});
}

TEST_CASE("sentences are views into the text they come from", "[knowledge][chunking]") {
  const std::string text = "First one. Second one.";
  const auto sentences = split_sentences(text);
  REQUIRE(sentences.size() == 2);
  CHECK(sentences[1].data() == text.data() + 11);
}

// ---- Chunks -------------------------------------------------------------

TEST_CASE("a short section is one chunk with its heading path and page", "[knowledge][chunking]") {
  const auto chunks = chunk_document(document({section({"Help", "Delivery", "Abroad"}, "We ship to Spain.", 3)}));
  REQUIRE(chunks.size() == 1);
  CHECK(chunks[0].position == 0);
  CHECK(chunks[0].heading == "Help > Delivery > Abroad");
  CHECK(chunks[0].text == "We ship to Spain.");
  CHECK(chunks[0].page == 3);
}

TEST_CASE("a heading is a chunk boundary: short sections are not merged", "[knowledge][chunking]") {
  const auto chunks = chunk_document(document({section({}, "Before any heading."), section({"Hours"}, "Open at nine."),
                                               section({"Hours", "Sundays"}, "Closed.")}));
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].heading.empty());
  CHECK(chunks[0].text == "Before any heading.");
  CHECK(chunks[1].heading == "Hours");
  CHECK(chunks[1].text == "Open at nine.");
  CHECK(chunks[2].heading == "Hours > Sundays");
  CHECK(chunks[2].text == "Closed.");
}

TEST_CASE("chunks end at the first sentence end past the target and never pass the maximum",
          "[knowledge][chunking]") {
  const ChunkOptions options{300, 450, 0};
  const std::string text = numbered_sentences(60, 70);
  const auto chunks = chunk_document(document({section({"S"}, text)}), options);
  REQUIRE(chunks.size() > 5);
  for (size_t i = 0; i < chunks.size(); ++i) {
    INFO("chunk " << i << ": " << chunks[i].text);
    CHECK(chunks[i].text.size() <= options.max_chars);
    CHECK(ends_a_sentence(chunks[i].text));
    if (i + 1 < chunks.size()) {
      CHECK(chunks[i].text.size() > options.target_chars);
      // One sentence less would not have passed the target.
      const size_t last_sentence = chunks[i].text.rfind("Sentence ");
      CHECK(last_sentence <= options.target_chars + 2);  // + the break before it
    }
  }
  // Without overlap the chunks are the section's text, cut at sentence ends.
  std::string joined;
  for (const auto& chunk : chunks) joined += chunk.text + " ";
  CHECK(sb::knowledge::detail::collapse_whitespace(joined) == sb::knowledge::detail::collapse_whitespace(text));
}

TEST_CASE("a chunk keeps the paragraph breaks of its text", "[knowledge][chunking]") {
  const auto chunks = chunk_document(document({section({}, "First paragraph.\n\nSecond paragraph.")}));
  REQUIRE(chunks.size() == 1);
  CHECK(chunks[0].text == "First paragraph.\n\nSecond paragraph.");
}

TEST_CASE("overlap repeats the last whole sentences of the previous chunk, up to overlap_chars",
          "[knowledge][chunking]") {
  const ChunkOptions options{300, 450, 150};
  const auto chunks = chunk_document(document({section({}, numbered_sentences(60, 70))}), options);
  REQUIRE(chunks.size() > 5);
  for (size_t i = 1; i < chunks.size(); ++i) {
    INFO("chunk " << i - 1 << ": " << chunks[i - 1].text << "\nchunk " << i << ": " << chunks[i].text);
    const auto previous = split_sentences(chunks[i - 1].text);
    const auto current = split_sentences(chunks[i].text);
    // Sentences of 70 bytes: two fit in 150 bytes with the space between, three do not.
    REQUIRE(previous.size() > 2);
    REQUIRE(current.size() > 2);
    CHECK(current[0] == previous[previous.size() - 2]);
    CHECK(current[1] == previous[previous.size() - 1]);
    CHECK(current[2] != previous[previous.size() - 1]);
    CHECK(chunks[i].text.size() <= options.max_chars);
  }
}

TEST_CASE("overlap never crosses into the next section", "[knowledge][chunking]") {
  const ChunkOptions options{300, 450, 150};
  const auto chunks = chunk_document(
      document({section({"One"}, numbered_sentences(20, 70, "Alpha")), section({"Two"}, numbered_sentences(20, 70, "Beta"))}),
      options);
  bool seen_two = false;
  for (const auto& chunk : chunks) {
    if (chunk.heading == "Two") {
      CHECK(chunk.text.find("Alpha") == std::string::npos);
      if (!seen_two) CHECK(chunk.text.rfind("Beta 0 says", 0) == 0);
      seen_two = true;
    } else {
      CHECK(chunk.text.find("Beta") == std::string::npos);
    }
  }
  CHECK(seen_two);
}

TEST_CASE("overlap gives way rather than push a chunk past the maximum", "[knowledge][chunking]") {
  const ChunkOptions options{100, 150, 100};
  // Short sentences, then one of 140 bytes: with the overlap before it, it would not fit.
  const std::string long_sentence = "Long " + std::string(130, 'x') + " end.";
  const auto chunks = chunk_document(
      document({section({}, "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi. "
                            "Rho sigma tau. " + long_sentence)}),
      options);
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[1].text == long_sentence);
  for (const auto& chunk : chunks) CHECK(chunk.text.size() <= options.max_chars);
}

TEST_CASE("a sentence longer than the maximum is cut between words", "[knowledge][chunking]") {
  std::string monster;
  for (int i = 0; i < 600; ++i) monster += "word" + std::to_string(1000 + i) + " ";
  monster += "end.";
  const ChunkOptions options{150, 200, 50};
  const auto chunks = chunk_document(document({section({}, "A short one. " + monster)}), options);
  REQUIRE(chunks.size() > 10);
  std::string rejoined;
  for (const auto& chunk : chunks) {
    INFO(chunk.text);
    CHECK(chunk.text.size() <= options.max_chars);
    CHECK(chunk.text.front() != ' ');
    CHECK(chunk.text.back() != ' ');
    rejoined += chunk.text + " ";
  }
  // Every word whole: pieces of a long sentence do not overlap, so the
  // words come back once each, in order.
  CHECK(sb::knowledge::detail::collapse_whitespace(rejoined) == "A short one. " + monster);
}

TEST_CASE("a word longer than the maximum is cut between UTF-8 characters, never inside one",
          "[knowledge][chunking]") {
  std::string word;
  for (int i = 0; i < 1000; ++i) word += (i % 3 == 0) ? "\xE2\x82\xAC" : "\xC3\xA9";  // € and é, no spaces
  const ChunkOptions options{80, 101, 20};
  const auto chunks = chunk_document(document({section({}, word)}), options);
  REQUIRE(chunks.size() > 10);
  std::string rejoined;
  for (size_t i = 0; i < chunks.size(); ++i) {
    CHECK(chunks[i].text.size() <= options.max_chars);
    if (i + 1 < chunks.size()) CHECK(chunks[i].text.size() >= options.max_chars - 2);  // backed off a character at most
    CHECK(sb::knowledge::detail::is_valid_utf8(chunks[i].text));
    rejoined += chunks[i].text;
  }
  CHECK(rejoined == word);
}

TEST_CASE("positions count the chunks of the whole document from 0", "[knowledge][chunking]") {
  const ChunkOptions options{300, 450, 100};
  const auto chunks = chunk_document(
      document({section({"A"}, numbered_sentences(15, 70)), section({"B"}, "Short."), section({"C"}, numbered_sentences(15, 70))}),
      options);
  REQUIRE(chunks.size() > 4);
  for (size_t i = 0; i < chunks.size(); ++i) CHECK(chunks[i].position == static_cast<int>(i));
}

TEST_CASE("a document without text gives no chunk", "[knowledge][chunking]") {
  CHECK(chunk_document(ExtractedText{}).empty());
  CHECK(chunk_document(document({section({"Empty"}, "  \n\n ")})).empty());
}

TEST_CASE("chunking runs at tens of MB/s (prints the rate)", "[knowledge][chunking][throughput]") {
  std::vector<Section> sections;
  size_t bytes = 0;
  for (int i = 0; bytes < (16u << 20); ++i) {
    sections.push_back(section({"Part " + std::to_string(i)}, numbered_sentences(40, 90)));
    bytes += sections.back().text.size();
  }
  const ExtractedText doc = document(std::move(sections));
  // CPU time, not wall-clock time: the machine may be shared.
  const std::clock_t started = std::clock();
  const auto chunks = chunk_document(doc);
  const double seconds = std::max(1e-6, static_cast<double>(std::clock() - started) / CLOCKS_PER_SEC);
  std::cout << "[throughput] chunking: " << bytes / (1 << 20) << " MB in " << static_cast<int>(seconds * 1000)
            << " ms of CPU, " << static_cast<int>(static_cast<double>(bytes) / (1 << 20) / seconds) << " MB/s, "
            << chunks.size() << " chunks\n";
  REQUIRE_FALSE(chunks.empty());
  CHECK(chunks.back().position == static_cast<int>(chunks.size()) - 1);
}
