// Markdown reduced to text under its headings, line by line: ATX and
// setext headings open sections; paragraphs, list items and table rows
// become paragraphs; emphasis, links, images, code, escapes, entities and
// inline HTML are reduced to the text a reader sees. Not a full CommonMark
// parser: nesting rules that only change rendering (not the words) are
// ignored.
#include "core/error.hpp"
#include "core/text.hpp"
#include "knowledge/document_formats.hpp"

#include <array>
#include <cctype>
#include <optional>

namespace sb::knowledge::detail {

namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\v'; }
bool is_ascii_punctuation(char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; }
// Letters and digits; a non-ASCII byte is taken for a letter.
bool is_word_byte(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || (c & 0x80) != 0; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
  return text;
}

// A line of one repeated character (3 or more, spaces allowed between when
// `spaced`), as thematic breaks and setext underlines are.
bool is_rule_of(std::string_view content, char mark, bool spaced, size_t minimum) {
  size_t marks = 0;
  for (const char c : trim(content)) {
    if (c == mark) {
      ++marks;
    } else if (!(spaced && is_ascii_space(c))) {
      return false;
    }
  }
  return marks >= minimum;
}

// "| --- | :---: |": a table's delimiter row.
bool is_delimiter_row(std::string_view content) {
  bool pipe = false, dash = false;
  for (const char c : content) {
    if (c == '|') {
      pipe = true;
    } else if (c == '-') {
      dash = true;
    } else if (c != ':' && !is_ascii_space(c)) {
      return false;
    }
  }
  return pipe && dash;
}

// The cells of a table row joined with " | " (outer pipes and empty cells
// dropped).
std::string table_row(std::string_view row) {
  std::string out;
  while (!row.empty()) {
    const size_t pipe = row.find('|');
    const std::string_view cell = trim(row.substr(0, pipe));
    if (!cell.empty()) {
      if (!out.empty()) out += " | ";
      out += cell;
    }
    if (pipe == std::string_view::npos) break;
    row.remove_prefix(pipe + 1);
  }
  return out;
}

std::optional<char32_t> named_entity(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, char32_t>, 20> kEntities{{
      {"amp", '&'},       {"lt", '<'},         {"gt", '>'},         {"quot", '"'},       {"apos", '\''},
      {"nbsp", 0xA0},     {"copy", 0xA9},      {"reg", 0xAE},       {"trade", 0x2122},   {"hellip", 0x2026},
      {"mdash", 0x2014},  {"ndash", 0x2013},   {"lsquo", 0x2018},   {"rsquo", 0x2019},   {"ldquo", 0x201C},
      {"rdquo", 0x201D},  {"euro", 0x20AC},    {"middot", 0xB7},    {"times", 0xD7},     {"deg", 0xB0},
  }};
  for (const auto& [entity, code_point] : kEntities) {
    if (entity == name) return code_point;
  }
  return std::nullopt;
}

// Decodes the entity at text[at] == '&' into `out`; the bytes it took, or 0.
size_t decode_entity(std::string_view text, size_t at, std::string& out) {
  const size_t semicolon = text.find(';', at + 1);
  if (semicolon == std::string_view::npos || semicolon - at > 12 || semicolon == at + 1) return 0;
  const std::string_view body = text.substr(at + 1, semicolon - at - 1);
  std::optional<char32_t> code_point;
  if (body[0] == '#') {
    const bool hex = body.size() > 1 && (body[1] == 'x' || body[1] == 'X');
    const std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    char32_t value = 0;
    for (const char c : digits) {
      const int digit = std::isdigit(static_cast<unsigned char>(c))    ? c - '0'
                        : hex && std::isxdigit(static_cast<unsigned char>(c)) ? std::tolower(c) - 'a' + 10
                                                                               : -1;
      if (digit < 0) return 0;
      value = value * (hex ? 16 : 10) + static_cast<char32_t>(digit);
    }
    code_point = value == 0 ? char32_t{0xFFFD} : value;
  } else {
    code_point = named_entity(body);
  }
  if (!code_point) return 0;
  append_utf8(out, *code_point);
  return semicolon - at + 1;
}

// The position after the bracket that closes the one at text[open], or npos.
// With `budget`, each byte looked at spends one, and none left is npos: a
// line of brackets that never close costs linear time, not quadratic.
size_t matching_bracket(std::string_view text, size_t open, char opening, char closing, size_t* budget = nullptr) {
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    if (budget && (*budget)-- == 0) {
      *budget = 0;
      return std::string_view::npos;
    }
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == opening) {
      ++depth;
    } else if (text[i] == closing && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// Reduces one line's inline Markdown to its text. `in_comment` carries an
// HTML comment that is still open at the end of the line.
class InlineReducer {
 public:
  InlineReducer(std::string_view text, std::string& out, bool& in_comment)
      : InlineReducer(text, out, in_comment, own_budget_, 0) {
    own_budget_ = 8 * text.size() + 65536;
  }

 private:
  // Links nest at most this deep (a label is reduced by a nested reducer);
  // a deeper "[" is text, so that no line can exhaust the stack.
  static constexpr int kMaxLinkNesting = 32;

  InlineReducer(std::string_view text, std::string& out, bool& in_comment, size_t& scan_budget, int depth)
      : text_(text), out_(out), in_comment_(in_comment), scan_budget_(scan_budget), depth_(depth) {
    // The last place each emphasis character could close a run: an opening
    // run without one after it is a literal character.
    for (size_t i = text_.size(); i-- > 1;) {
      const char c = text_[i];
      if ((c == '*' || c == '_' || c == '~') && !is_ascii_space(text_[i - 1])) {
        auto& last = last_closer_[index_of(c)];
        if (last == std::string_view::npos) last = i;
      }
    }
  }

 public:
  void run() {
    static constexpr auto kSpecial = [] {
      std::array<bool, 256> special{};
      for (const unsigned char c : std::string_view("\\`![<&*_~")) special[c] = true;
      return special;
    }();
    size_t i = 0;
    while (i < text_.size() && !in_comment_) {
      const size_t plain = i;
      while (i < text_.size() && !kSpecial[static_cast<unsigned char>(text_[i])]) ++i;
      out_.append(text_.substr(plain, i - plain));
      if (i < text_.size()) i = special(i);
    }
  }

 private:
  static size_t index_of(char c) { return c == '*' ? 0 : c == '_' ? 1 : 2; }

  // Handles the special character at text_[i]; the position after it.
  size_t special(size_t i) {
    const char c = text_[i];
    switch (c) {
      case '\\':
        if (i + 1 < text_.size() && is_ascii_punctuation(text_[i + 1])) {
          out_ += text_[i + 1];
          return i + 2;
        }
        if (i + 1 < text_.size()) out_ += '\\';  // a backslash ending a line is a line break
        return i + 1;
      case '`':
        return code_span(i);
      case '!':
        if (i + 1 < text_.size() && text_[i + 1] == '[') {
          if (const size_t end = link(i + 1); end != 0) return end;
        }
        out_ += '!';
        return i + 1;
      case '[':
        if (const size_t end = link(i); end != 0) return end;
        out_ += '[';
        return i + 1;
      case '<':
        return angle_bracket(i);
      case '&':
        if (const size_t taken = decode_entity(text_, i, out_); taken != 0) return i + taken;
        out_ += '&';
        return i + 1;
      default:
        return emphasis(i);
    }
  }

  size_t code_span(size_t i) {
    size_t ticks = 0;
    while (i + ticks < text_.size() && text_[i + ticks] == '`') ++ticks;
    for (size_t search = i + ticks; (search = text_.find('`', search)) != std::string_view::npos;) {
      size_t run = 0;
      while (search + run < text_.size() && text_[search + run] == '`') ++run;
      if (run == ticks) {
        out_.append(trim(text_.substr(i + ticks, search - i - ticks)));
        return search + run;
      }
      search += run;
    }
    out_.append(ticks, '`');
    return i + ticks;
  }

  // [text](url), [text][ref], [text][], ![alt](url) and footnote marks
  // [^1]: the text stays, the rest goes. 0 when text_[open] starts none.
  size_t link(size_t open) {
    if (depth_ >= kMaxLinkNesting) return 0;
    const size_t close = matching_bracket(text_, open, '[', ']', &scan_budget_);
    if (close == std::string_view::npos) return 0;
    const std::string_view label = text_.substr(open + 1, close - open - 2);
    if (!label.empty() && label[0] == '^') return close;  // a footnote mark
    size_t end;
    if (close < text_.size() && text_[close] == '(') {
      end = matching_bracket(text_, close, '(', ')', &scan_budget_);
    } else if (close < text_.size() && text_[close] == '[') {
      end = matching_bracket(text_, close, '[', ']', &scan_budget_);
    } else {
      return 0;
    }
    if (end == std::string_view::npos) return 0;
    bool nested_comment = false;
    InlineReducer(label, out_, nested_comment, scan_budget_, depth_ + 1).run();
    return end;
  }

  size_t angle_bracket(size_t i) {
    const std::string_view rest = text_.substr(i);
    if (rest.substr(0, 4) == "<!--") {
      const size_t end = rest.find("-->", 4);
      if (end == std::string_view::npos) {
        in_comment_ = true;
        return text_.size();
      }
      return i + end + 3;
    }
    const size_t close = rest.find('>');
    if (close == std::string_view::npos || close < 2) {
      out_ += '<';
      return i + 1;
    }
    const std::string_view inside = rest.substr(1, close - 1);
    const bool autolink = inside.find_first_of(" \t<") == std::string_view::npos &&
                          (inside.find("://") != std::string_view::npos ||
                           inside.substr(0, 7) == "mailto:" || inside.find('@') != std::string_view::npos);
    if (autolink) {
      out_ += inside;
      return i + close + 1;
    }
    // An HTML tag: a name, then nothing, "/" or attributes ("a < b and
    // c > d" is not one).
    size_t name_end = inside[0] == '/' ? 1 : 0;
    const size_t name_start = name_end;
    while (name_end < inside.size() && (std::isalnum(static_cast<unsigned char>(inside[name_end])) || inside[name_end] == '-')) {
      ++name_end;
    }
    const std::string_view after_name = inside.substr(name_end);
    if (name_end > name_start && std::isalpha(static_cast<unsigned char>(inside[name_start])) &&
        (after_name.empty() || after_name[0] == '/' ||
         (is_ascii_space(after_name[0]) && after_name.find('=') != std::string_view::npos))) {
      if (starts_with_ascii_ci(inside.substr(name_start), "br")) out_ += ' ';
      return i + close + 1;
    }
    out_ += '<';
    return i + 1;
  }

  // *, _ and ~~ runs that open or close emphasis are dropped; the rest stay.
  size_t emphasis(size_t i) {
    const char c = text_[i];
    size_t run = 0;
    while (i + run < text_.size() && text_[i + run] == c) ++run;
    const size_t end = i + run;
    const bool space_before = i == 0 || is_ascii_space(text_[i - 1]);
    const bool space_after = end == text_.size() || is_ascii_space(text_[end]);
    const bool intraword = i > 0 && end < text_.size() && is_word_byte(text_[i - 1]) && is_word_byte(text_[end]);
    bool literal = (space_before && space_after) || (c == '~' && run < 2) || (c == '_' && intraword);
    // Counted in characters: "***a** b*" opens three and closes two, then one.
    auto& open = open_characters_[index_of(c)];
    if (!literal) {
      if (open > 0 && !space_before) {
        open = open > run ? open - run : 0;  // closes
      } else if (!space_after && last_closer_[index_of(c)] != std::string_view::npos &&
                 last_closer_[index_of(c)] >= end) {
        open += run;  // opens, and something closes it later on the line
      } else {
        literal = true;
      }
    }
    if (literal) out_.append(run, c);
    return end;
  }

  std::string_view text_;
  std::string& out_;
  bool& in_comment_;
  size_t own_budget_ = 0;  // the line's, in the outermost reducer
  size_t& scan_budget_;    // bytes bracket matching may still look at on this line
  int depth_ = 0;          // links around this label
  std::array<size_t, 3> last_closer_{std::string_view::npos, std::string_view::npos, std::string_view::npos};
  std::array<size_t, 3> open_characters_{};
};

class MarkdownReader {
 public:
  explicit MarkdownReader(std::string_view text) : rest_(text) {}

  ExtractedText read() {
    skip_front_matter();
    while (!rest_.empty()) read_line(next_line(rest_));
    end_block();
    ExtractedText extracted;
    extracted.sections = builder_.finish();
    extracted.title = builder_.first_top_heading();
    return extracted;
  }

 private:
  enum class Block { none, paragraph, list_item };

  // YAML (---) or TOML (+++) metadata at the top of the file is not text.
  void skip_front_matter() {
    std::string_view rest = rest_;
    const std::string_view first = next_line(rest);
    if (first != "---" && first != "+++") return;
    while (!rest.empty()) {
      const std::string_view line = trim(next_line(rest));
      if (line == first || (first == "---" && line == "...")) {
        rest_ = rest;
        return;
      }
    }
  }

  void read_line(std::string_view line) {
    if (in_fence_) {
      const std::string_view content = trim(line);
      if (content.size() >= fence_length_ && is_rule_of(content, fence_char_, false, fence_length_)) {
        in_fence_ = false;
        builder_.end_paragraph();
      } else {
        builder_.add_text(line);
        builder_.add_text(" ");
      }
      return;
    }
    if (!raw_html_end_.empty()) {
      if (contains_ignoring_case(line, raw_html_end_)) raw_html_end_ = {};
      return;
    }
    if (in_comment_) {
      const size_t end = line.find("-->");
      if (end == std::string_view::npos) return;
      in_comment_ = false;
      line.remove_prefix(end + 3);
      if (is_blank(line)) return;
    }

    // Block quotes read as the text they quote.
    std::string_view content = line;
    for (;;) {
      const size_t blank = content.find_first_not_of(" \t");
      if (blank == std::string_view::npos || indent_of(content) > 3 || content[blank] != '>') break;
      content.remove_prefix(blank + 1);
    }
    const size_t indent = indent_of(content);
    content = trim(content);

    if (content.empty()) {
      end_block();
      in_table_ = false;
      return;
    }
    if (indent <= 3 && read_block_start(content)) return;

    if (is_delimiter_row(content)) {
      if (block_ == Block::paragraph && paragraph_lines_ == 1 && paragraph_.find('|') != std::string::npos) {
        paragraph_ = table_row(paragraph_);  // the header row above it
        end_block();
        in_table_ = true;
        return;
      }
      if (in_table_ || block_ == Block::none) {
        in_table_ = true;
        return;
      }
    }
    size_t marker_length = 0;
    if (starts_list_item(content, &marker_length)) {
      end_block();
      std::string_view item = content.substr(marker_length);
      if (item.size() >= 4 && item[0] == '[' && (item[1] == ' ' || item[1] == 'x' || item[1] == 'X') &&
          item[2] == ']' && is_ascii_space(item[3])) {
        item = trim(item.substr(4));  // a task list's check box
      }
      block_ = Block::list_item;
      InlineReducer(item, paragraph_, in_comment_).run();
      paragraph_lines_ = 1;
      return;
    }
    if (content.find('|') != std::string_view::npos && (in_table_ || content[0] == '|')) {
      end_block();
      std::string reduced;
      InlineReducer(content, reduced, in_comment_).run();
      paragraph_ = table_row(reduced);
      end_block();
      in_table_ = true;
      return;
    }
    in_table_ = false;
    if (block_ == Block::none) block_ = Block::paragraph;
    if (!paragraph_.empty()) paragraph_ += '\n';
    InlineReducer(content, paragraph_, in_comment_).run();
    ++paragraph_lines_;
  }

  // Fences, headings, rules, raw HTML blocks and link reference
  // definitions; whether `content` was one.
  bool read_block_start(std::string_view content) {
    if (content.substr(0, 3) == "```" || content.substr(0, 3) == "~~~") {
      const char fence = content[0];
      size_t length = 0;
      while (length < content.size() && content[length] == fence) ++length;
      if (fence == '~' || content.find('`', length) == std::string_view::npos) {
        end_block();
        in_fence_ = true;
        fence_char_ = fence;
        fence_length_ = length;
        return true;
      }
    }
    if (content[0] == '#') {
      size_t level = 0;
      while (level < content.size() && content[level] == '#') ++level;
      if (level <= 6 && (level == content.size() || is_ascii_space(content[level]))) {
        end_block();
        builder_.heading(static_cast<int>(level), reduce(atx_heading_text(content.substr(level))));
        return true;
      }
    }
    if (block_ == Block::paragraph && !paragraph_.empty()) {
      const int setext_level = is_rule_of(content, '=', false, 1) ? 1 : is_rule_of(content, '-', false, 1) ? 2 : 0;
      if (setext_level != 0) {
        builder_.heading(setext_level, paragraph_);
        paragraph_.clear();
        paragraph_lines_ = 0;
        block_ = Block::none;
        return true;
      }
    }
    if (is_rule_of(content, '-', true, 3) || is_rule_of(content, '*', true, 3) || is_rule_of(content, '_', true, 3)) {
      end_block();
      return true;
    }
    for (const std::string_view tag : {"script", "style"}) {
      if (content.size() > tag.size() + 1 && content[0] == '<' && starts_with_ascii_ci(content.substr(1), tag)) {
        end_block();
        const std::string_view end_tag = tag == "script" ? "</script>" : "</style>";
        if (!contains_ignoring_case(content, end_tag)) raw_html_end_ = end_tag;
        return true;
      }
    }
    if (block_ != Block::paragraph && content[0] == '[' && content.size() > 1 && content[1] != '^') {
      const size_t close = matching_bracket(content, 0, '[', ']');
      if (close != std::string_view::npos && close < content.size() && content[close] == ':') return true;
    }
    return false;
  }

  // "## Title ##" -> "Title".
  static std::string_view atx_heading_text(std::string_view text) {
    text = trim(text);
    size_t end = text.size();
    while (end > 0 && text[end - 1] == '#') --end;
    if (end == 0 || is_ascii_space(text[end - 1])) text = trim(text.substr(0, end));
    return text;
  }

  std::string reduce(std::string_view text) {
    std::string out;
    InlineReducer(text, out, in_comment_).run();
    return out;
  }

  void end_block() {
    if (!paragraph_.empty()) {
      builder_.add_text(paragraph_);
      builder_.end_paragraph();
      paragraph_.clear();
    }
    block_ = Block::none;
    paragraph_lines_ = 0;
  }

  static size_t indent_of(std::string_view line) {
    size_t columns = 0;
    for (const char c : line) {
      if (c == ' ') {
        ++columns;
      } else if (c == '\t') {
        columns += 4 - columns % 4;
      } else {
        break;
      }
    }
    return columns;
  }

  static bool contains_ignoring_case(std::string_view text, std::string_view lower_needle) {
    for (size_t i = 0; i + lower_needle.size() <= text.size(); ++i) {
      if (starts_with_ascii_ci(text.substr(i), lower_needle)) return true;
    }
    return false;
  }

  std::string_view rest_;
  SectionBuilder builder_;
  std::string paragraph_;  // the open block's reduced text
  Block block_ = Block::none;
  size_t paragraph_lines_ = 0;
  bool in_fence_ = false;
  char fence_char_ = '`';
  size_t fence_length_ = 0;
  bool in_table_ = false;
  bool in_comment_ = false;
  std::string_view raw_html_end_;  // "</script>" or "</style>" inside such a block
};

}  // namespace

ExtractedText extract_markdown(std::string_view bytes) {
  const std::string text = decode_text_file(bytes);
  return MarkdownReader(text).read();
}

}  // namespace sb::knowledge::detail
