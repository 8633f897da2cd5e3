#include "sentence_splitter.hpp"

#include <algorithm>
#include <cctype>

namespace ai_local {
namespace {

constexpr std::string_view kAbbreviations[] = {"mr", "mrs", "ms", "dr", "st", "no", "nr", "vs", "approx",
                                               "tel", "inc", "ltd", "co", "jr", "sr", "prof", "fig", "ca"};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\n'; }
bool is_lower_ascii(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper_ascii(char c) { return c >= 'A' && c <= 'Z'; }
bool is_alpha_ascii(char c) { return is_lower_ascii(c) || is_upper_ascii(c); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// For an ATX heading ("## Opening hours") sets `text` to its words and
// answers true; false for any other line.
bool heading_text(std::string_view line, std::string_view& text) {
  line = trim(line);
  if (line.empty() || line.front() != '#') return false;
  std::size_t hashes = 0;
  while (hashes < line.size() && line[hashes] == '#') ++hashes;
  if (hashes > 6 || (hashes < line.size() && line[hashes] != ' ' && line[hashes] != '\t')) return false;
  text = trim(line.substr(hashes));
  while (!text.empty() && text.back() == '#') text.remove_suffix(1);
  text = trim(text);
  return true;
}

// Length of a list / quote / table marker at the start of `line` (already
// trimmed), 0 when there is none.
std::size_t marker_length(std::string_view line) {
  if (line.empty()) return 0;
  const char c = line.front();
  if ((c == '-' || c == '*' || c == '+') && line.size() > 1 && line[1] == ' ') return 2;
  if (c == '>' || c == '|') return 1;
  if (line.substr(0, 3) == "\xE2\x80\xA2") return 3;  // •
  std::size_t digits = 0;
  while (digits < line.size() && digits < 3 && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
  if (digits > 0 && digits + 1 < line.size() && (line[digits] == '.' || line[digits] == ')') &&
      line[digits + 1] == ' ') {
    return digits + 2;
  }
  return 0;
}

// Whether the line after `line` (in the same block) carries on its
// sentence because `line` ends in a comma or a semicolon.
bool line_runs_on(std::string_view line) { return !line.empty() && (line.back() == ',' || line.back() == ';'); }

// Whether the word ending just before `dot` (an index into `text`) is an
// abbreviation or an initial, after which a dot does not end a sentence.
bool dot_ends_abbreviation(std::string_view text, std::size_t dot) {
  std::size_t start = dot;
  while (start > 0 && (is_alpha_ascii(text[start - 1]) || text[start - 1] == '.')) --start;
  std::string word(text.substr(start, dot - start));
  if (word.size() == 1 && is_upper_ascii(word[0])) return true;  // an initial
  std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
  if (word.find('.') != std::string::npos) return true;  // "e.g", "i.e", "a.m"
  return std::find(std::begin(kAbbreviations), std::end(kAbbreviations), word) != std::end(kAbbreviations);
}

// Length of a sentence terminator at text[i], 0 when there is none. `hard`
// is set for terminators that end a sentence with no space after them.
std::size_t terminator_length(std::string_view text, std::size_t i, bool& hard) {
  hard = false;
  const char c = text[i];
  if (c == '.' || c == '!' || c == '?') return 1;
  const std::string_view rest = text.substr(i, 3);
  if (rest == "\xE2\x80\xA6") return 3;  // …
  hard = true;
  if (rest == "\xE3\x80\x82") return 3;                        // 。
  if (rest == "\xEF\xBC\x81" || rest == "\xEF\xBC\x9F") return 3;  // ！ ？
  return 0;
}

// Why a block started: it decides how long a label ("Shop opening hours:")
// stays in force.
enum class BlockStart {
  paragraph,  // after a blank line or a heading, or at the start
  list_item,  // a list, quote or table marker
  line,       // a new line after a short line without punctuation
};

class SentenceCollector {
 public:
  explicit SentenceCollector(std::vector<Sentence>& out) : out_(out) {}

  void set_heading(std::string_view heading) {
    heading_ = std::string(heading);
    label_.clear();
  }

  // Adds one block of text, cut into sentences.
  void add_block(std::string_view block, BlockStart start_reason) {
    pending_.clear();
    std::size_t start = 0;
    for (std::size_t i = 0; i < block.size(); ++i) {
      bool hard = false;
      const std::size_t term = terminator_length(block, i, hard);
      if (term == 0) continue;
      std::size_t end = i + term;
      // Runs of terminators, closing quotes or brackets and emphasis marks
      // ("?**") stay with the sentence.
      while (end < block.size() && (block[end] == '.' || block[end] == '!' || block[end] == '?' ||
                                    block[end] == '"' || block[end] == '\'' || block[end] == ')' ||
                                    block[end] == ']' || block[end] == '*' || block[end] == '_')) {
        ++end;
      }
      if (!hard) {
        if (end < block.size() && !is_space(block[end])) continue;  // "3.50", "example.com"
        std::size_t next = end;
        while (next < block.size() && is_space(block[next])) ++next;
        if (next < block.size() && is_lower_ascii(block[next])) continue;  // "e.g. the"
        if (block[i] == '.' && dot_ends_abbreviation(block, i)) continue;
      }
      add_sentence(block.substr(start, end - start));
      start = end;
      i = end - 1;
    }
    add_sentence(block.substr(start));

    // A one-word sentence ("Yes.", "Often.") is kept with the sentence after
    // it: alone it says nothing.
    for (std::size_t k = 0; k + 1 < pending_.size();) {
      if (pending_[k].find(' ') == std::string::npos) {
        pending_[k] += ' ' + pending_[k + 1];
        pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(k) + 1);
      } else {
        ++k;
      }
    }
    // A prose paragraph ends the list a label introduced.
    if (start_reason == BlockStart::paragraph) label_.clear();
    std::string new_label;
    if (!pending_.empty() && pending_.back().back() == ':') {
      new_label = std::move(pending_.back());
      pending_.pop_back();
    }
    for (std::string& text : pending_) {
      out_.push_back(Sentence{std::move(text), heading_, label_, out_.size(), blocks_});
    }
    if (!pending_.empty()) ++blocks_;
    if (!new_label.empty()) label_ = std::move(new_label);
  }

 private:
  void add_sentence(std::string_view raw) {
    std::string text;
    text.reserve(raw.size());
    bool pending_space = false;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const char c = raw[i];
      // Markdown's strong emphasis ("**Yes.**") would show as asterisks in a
      // chat message.
      if ((c == '*' || c == '_') && i + 1 < raw.size() && raw[i + 1] == c) {
        ++i;
        continue;
      }
      if (is_space(c) || c == '|') {
        pending_space = !text.empty();
        continue;
      }
      if (pending_space) text.push_back(' ');
      pending_space = false;
      text.push_back(c);
    }
    // Cut an over-long sentence at a space, so an answer stays readable.
    std::string_view rest = text;
    while (rest.size() > kMaxSentenceBytes) {
      std::size_t cut = rest.rfind(' ', kMaxSentenceBytes);
      if (cut == std::string_view::npos || cut == 0) cut = rest.find(' ', kMaxSentenceBytes);
      if (cut == std::string_view::npos) break;
      push(rest.substr(0, cut));
      rest.remove_prefix(cut + 1);
    }
    push(rest);
  }

  void push(std::string_view text) {
    text = trim(text);
    if (!text.empty()) pending_.emplace_back(text);
  }

  std::vector<Sentence>& out_;
  std::vector<std::string> pending_;  // the sentences of the block being added
  std::string heading_;
  std::string label_;
  std::size_t blocks_ = 0;  // blocks that produced a sentence so far
};

}  // namespace

std::vector<Sentence> split_sentences(std::string_view passage) {
  std::vector<Sentence> sentences;
  SentenceCollector collector(sentences);
  std::string block;
  BlockStart block_start = BlockStart::paragraph;
  BlockStart next_start = BlockStart::paragraph;  // for the block after a flush
  std::string_view previous_line;
  auto flush = [&] {
    if (!block.empty()) collector.add_block(block, block_start);
    block.clear();
    previous_line = {};
  };
  std::size_t pos = 0;
  while (pos <= passage.size()) {
    std::size_t eol = passage.find('\n', pos);
    if (eol == std::string_view::npos) eol = passage.size();
    const std::string_view line = trim(passage.substr(pos, eol - pos));
    pos = eol + 1;

    std::string_view heading;
    if (line.empty()) {
      flush();
      next_start = BlockStart::paragraph;
    } else if (heading_text(line, heading)) {
      flush();
      next_start = BlockStart::paragraph;
      collector.set_heading(heading);
    } else {
      const std::size_t marker = marker_length(line);
      const bool continues =
          !block.empty() && marker == 0 && (is_lower_ascii(line.front()) || line_runs_on(previous_line));
      if (!continues) {
        const bool after_line = !block.empty();
        flush();
        block_start = marker > 0 ? BlockStart::list_item : after_line ? BlockStart::line : next_start;
        next_start = BlockStart::line;
      }
      if (!block.empty()) block.push_back(' ');
      block.append(trim(line.substr(marker)));
      previous_line = line;
    }
  }
  flush();
  return sentences;
}

}  // namespace ai_local
