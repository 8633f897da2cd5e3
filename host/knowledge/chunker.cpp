// Sections to chunks: sentences found in one pass over the bytes, then
// gathered greedily up to the target size; a chunk is a slice of its
// section's text (from its first sentence's start to its last one's end),
// so paragraph breaks inside it stay as they were.
#include "knowledge/chunker.hpp"

#include "knowledge/document_formats.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace sb::knowledge {

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t skip_space(std::string_view text, size_t at) {
  while (at < text.size() && is_space(text[at])) ++at;
  return at;
}

// Abbreviations after which a period never ends a sentence: titles before
// a name and Latin shorthands inside one.
constexpr std::array<std::string_view, 22> kNeverFinal{
    "mr", "mrs", "ms", "dr", "prof", "st", "rev", "gen", "sgt", "capt", "col", "lt", "hon", "messrs", "mme", "mlle",
    "e.g", "i.e", "cf", "vs", "viz", "approx"};
// Abbreviations before a number: "No. 5", "p. 12", "Fig. 3".
constexpr std::array<std::string_view, 16> kBeforeNumber{"no",  "nos", "nr", "vol",  "fig", "figs", "p",   "pp",
                                                          "art", "sec", "ch", "chap", "ed",  "eq",   "ref", "tel"};

// Closing quotes and brackets that may follow a sentence's final mark:
// their length at `at`, or 0.
size_t closer_length(std::string_view text, size_t at) {
  const char c = text[at];
  if (c == '"' || c == '\'' || c == ')' || c == ']') return 1;
  const std::string_view rest = text.substr(at, 3);
  if (rest == "\xE2\x80\x99" || rest == "\xE2\x80\x9D") return 3;  // ’ ”
  if (rest.substr(0, 2) == "\xC2\xBB") return 2;                   // »
  return 0;
}

// Whether the period at text[dot] (with whitespace after) ends the
// sentence that starts at text[start].
bool period_ends_sentence(std::string_view text, size_t start, size_t dot, size_t next_word) {
  // A sentence does not go on in lower case: "etc. and", "approx. five".
  if (next_word < text.size() && is_lower(text[next_word])) return false;
  // The word before the period, with inner periods ("e.g", "J.R.R").
  size_t word_start = dot;
  while (word_start > start && (std::isalnum(static_cast<unsigned char>(text[word_start - 1])) || text[word_start - 1] == '.')) {
    --word_start;
  }
  const std::string_view word = text.substr(word_start, dot - word_start);
  if (word.empty()) return true;
  if (word.size() <= 7) {
    std::array<char, 8> lower{};
    for (size_t i = 0; i < word.size(); ++i) lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(word[i])));
    const std::string_view lowered(lower.data(), word.size());
    if (std::find(kNeverFinal.begin(), kNeverFinal.end(), lowered) != kNeverFinal.end()) return false;
    if (next_word < text.size() && is_digit(text[next_word]) &&
        std::find(kBeforeNumber.begin(), kBeforeNumber.end(), lowered) != kBeforeNumber.end()) {
      return false;
    }
  }
  // Initials: "J. R. R. Tolkien", "J.R.R. Tolkien", "U.S. Army".
  bool initials = true;
  for (size_t i = 0; i < word.size(); ++i) {
    if ((i % 2 == 0 && !is_upper(word[i])) || (i % 2 == 1 && word[i] != '.')) initials = false;
  }
  if (initials) return false;
  // A list's number at the start: "1. First".
  if (word_start == start && std::all_of(word.begin(), word.end(), is_digit)) return false;
  return true;
}

// The marks that end a sentence without a space after them in Chinese and
// Japanese: 。！？ (U+3002, U+FF01, U+FF1F). Their length at `at`, or 0.
size_t ideographic_stop_length(std::string_view text, size_t at) {
  const std::string_view rest = text.substr(at, 3);
  return rest == "\xE3\x80\x82" || rest == "\xEF\xBC\x81" || rest == "\xEF\xBC\x9F" ? 3 : 0;
}

// A sentence, or a piece of one too long for a chunk, as offsets in its section.
struct Span {
  size_t begin;
  size_t end;
};

// Cuts the span [begin, end) of `text` into pieces of at most `max_chars`
// bytes, between words where it can, never inside a UTF-8 sequence.
void cut_between_words(std::string_view text, size_t begin, size_t end, size_t max_chars, std::vector<Span>& out) {
  while (end - begin > max_chars) {
    const size_t limit = begin + max_chars;  // text[limit] exists: limit < end
    size_t cut = limit;
    while (cut > begin && !is_space(text[cut])) --cut;
    size_t next;
    if (cut > begin) {
      next = skip_space(text, cut);
      while (cut > begin && is_space(text[cut - 1])) --cut;
    } else {  // one word longer than a chunk: cut it between characters
      cut = limit;
      while (cut > begin && is_continuation_byte(text[cut])) --cut;
      if (cut == begin) {  // max_chars is under one character's length
        cut = begin + 1;
        while (cut < end && is_continuation_byte(text[cut])) ++cut;
      }
      next = cut;
    }
    out.push_back({begin, cut});
    begin = next;
  }
  if (end > begin) out.push_back({begin, end});
}

std::string join_headings(const std::vector<std::string>& headings) {
  std::string joined;
  for (const auto& heading : headings) {
    if (!joined.empty()) joined += " > ";
    joined += heading;
  }
  return joined;
}

}  // namespace

std::vector<std::string_view> split_sentences(std::string_view text) {
  std::vector<std::string_view> sentences;
  size_t start = skip_space(text, 0);
  auto end_sentence = [&](size_t end, size_t next) {
    while (end > start && is_space(text[end - 1])) --end;
    if (end > start) sentences.push_back(text.substr(start, end - start));
    start = skip_space(text, next);
    return start;
  };
  static constexpr auto kInteresting = [] {
    std::array<bool, 256> interesting{};
    for (const unsigned char c : std::string_view(".!?\n\xE3\xEF")) interesting[c] = true;
    return interesting;
  }();

  size_t i = start;
  while (i < text.size()) {
    const char c = text[i];
    if (!kInteresting[static_cast<unsigned char>(c)]) {
      ++i;
      continue;
    }
    if (c == '.' || c == '!' || c == '?') {
      size_t after = i + 1;
      while (after < text.size() && (text[after] == '.' || text[after] == '!' || text[after] == '?')) ++after;
      while (after < text.size()) {
        const size_t closer = closer_length(text, after);
        if (closer == 0) break;
        after += closer;
      }
      if (after < text.size() && is_space(text[after])) {
        const size_t next_word = skip_space(text, after);
        if (c != '.' || period_ends_sentence(text, start, i, next_word)) {
          i = end_sentence(after, after);
          continue;
        }
      }
      i = after;
      continue;
    }
    if (c == '\n') {
      size_t next = i + 1;
      while (next < text.size() && (text[next] == ' ' || text[next] == '\t' || text[next] == '\r')) ++next;
      if ((next < text.size() && text[next] == '\n') || detail::starts_list_item(text.substr(i + 1))) {
        i = end_sentence(i, i + 1);
        continue;
      }
      ++i;
      continue;
    }
    if (const size_t stop = ideographic_stop_length(text, i); stop != 0) {
      size_t after = i + stop;
      while (after < text.size() && closer_length(text, after) != 0) after += closer_length(text, after);
      i = end_sentence(after, after);
      continue;
    }
    ++i;
  }
  end_sentence(text.size(), text.size());
  return sentences;
}

std::vector<Chunk> chunk_document(const ExtractedText& doc, const ChunkOptions& options) {
  // Limits under a UTF-8 character's length could not be kept.
  const size_t max_chars = std::max<size_t>(options.max_chars, 4);
  const size_t target_chars = std::min(options.target_chars, max_chars);
  std::vector<Chunk> chunks;
  std::vector<Span> pieces;
  for (const Section& section : doc.sections) {
    const std::string_view text = section.text;
    pieces.clear();
    for (const std::string_view sentence : split_sentences(text)) {
      const auto begin = static_cast<size_t>(sentence.data() - text.data());
      cut_between_words(text, begin, begin + sentence.size(), max_chars, pieces);
    }
    if (pieces.empty()) continue;
    const std::string heading = join_headings(section.headings);

    size_t first_new = 0;     // the first piece no chunk holds yet
    size_t overlap_from = 0;  // the first piece of the chunk being built
    while (first_new < pieces.size()) {
      // The overlap gives way where it would push the first new piece past the maximum.
      while (overlap_from < first_new && pieces[first_new].end - pieces[overlap_from].begin > max_chars) ++overlap_from;
      const size_t begin = pieces[overlap_from].begin;
      size_t last = first_new;
      while (last + 1 < pieces.size() && pieces[last].end - begin <= target_chars &&
             pieces[last + 1].end - begin <= max_chars) {
        ++last;
      }
      Chunk chunk;
      chunk.position = static_cast<int>(chunks.size());
      chunk.heading = heading;
      chunk.text = std::string(text.substr(begin, pieces[last].end - begin));
      chunk.page = section.page;
      chunks.push_back(std::move(chunk));

      // The next chunk starts with this one's last pieces, as many as fit
      // in overlap_chars, but never all of this chunk.
      first_new = last + 1;
      overlap_from = first_new;
      while (overlap_from > 0 && pieces[overlap_from - 1].begin > begin &&
             pieces[last].end - pieces[overlap_from - 1].begin <= options.overlap_chars) {
        --overlap_from;
      }
    }
  }
  return chunks;
}

}  // namespace sb::knowledge
