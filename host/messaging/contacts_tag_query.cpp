#include "messaging/contacts_tag_query.hpp"

#include "core/error.hpp"

#include <cctype>

namespace sb::messaging {

namespace {

using store::TagQuery;

constexpr size_t kMaxQueryLength = 4000;

class Parser {
 public:
  Parser(std::string_view text, std::string_view field) : text_(text), field_(field) {}

  TagQuery parse() {
    skip_space();
    if (at_end()) fail("is empty; write a tag query such as tag:vip AND NOT tag:churned, or * for everyone");
    TagQuery q = parse_or();
    skip_space();
    if (!at_end()) fail("has an unexpected \"" + std::string(1, text_[pos_]) + "\"");
    return q;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::invalid_argument,
                "\"" + std::string(field_) + "\" " + what + " (at character " + std::to_string(pos_ + 1) + ")",
                {{"field", std::string(field_)}});
  }

  bool at_end() const { return pos_ >= text_.size(); }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  static bool is_word_char(char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u >= 0x80 || std::isalnum(u) || ch == '_' || ch == '-' || ch == '.' || ch == ':' || ch == '/';
  }

  // The keyword `word` (AND, OR, NOT) at the position, as a whole word.
  bool peek_keyword(std::string_view word) const {
    if (text_.size() - pos_ < word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i)
      if (std::toupper(static_cast<unsigned char>(text_[pos_ + i])) != word[i]) return false;
    const size_t end = pos_ + word.size();
    return end == text_.size() || !is_word_char(text_[end]);
  }
  bool take_keyword(std::string_view word) {
    skip_space();
    if (!peek_keyword(word)) return false;
    pos_ += word.size();
    return true;
  }

  TagQuery parse_or() {
    std::vector<TagQuery> terms{parse_and()};
    while (take_keyword("OR")) terms.push_back(parse_and());
    return terms.size() == 1 ? std::move(terms.front()) : TagQuery::any(std::move(terms));
  }

  TagQuery parse_and() {
    std::vector<TagQuery> terms{parse_not()};
    for (;;) {
      if (take_keyword("AND")) {
        terms.push_back(parse_not());
        continue;
      }
      skip_space();
      // Juxtaposition is AND: "vip berlin".
      if (at_end() || text_[pos_] == ')' || peek_keyword("OR")) break;
      terms.push_back(parse_not());
    }
    return terms.size() == 1 ? std::move(terms.front()) : TagQuery::all(std::move(terms));
  }

  TagQuery parse_not() {
    if (take_keyword("NOT")) return TagQuery::negation(parse_not());
    return parse_atom();
  }

  TagQuery parse_atom() {
    skip_space();
    if (at_end()) fail("ends where a tag was expected");
    const char ch = text_[pos_];
    if (ch == '(') {
      ++pos_;
      if (++depth_ > 16) fail("nests parentheses deeper than 16 levels");
      TagQuery q = parse_or();
      skip_space();
      if (at_end() || text_[pos_] != ')') fail("lacks a closing \")\"");
      ++pos_;
      --depth_;
      return q;
    }
    if (ch == '*') {
      ++pos_;
      return TagQuery::everyone();
    }
    if (peek_keyword("AND") || peek_keyword("OR")) fail("has an operator where a tag was expected");
    if (text_.size() - pos_ >= 4 && (text_.substr(pos_, 4) == "tag:" || text_.substr(pos_, 4) == "TAG:")) pos_ += 4;
    return TagQuery::has(parse_tag());
  }

  std::string parse_tag() {
    if (at_end()) fail("ends where a tag was expected");
    std::string tag;
    if (text_[pos_] == '"') {
      ++pos_;
      for (;;) {
        if (at_end()) fail("has a quoted tag without its closing quote");
        char ch = text_[pos_++];
        if (ch == '"') break;
        if (ch == '\\') {
          if (at_end()) fail("has a quoted tag without its closing quote");
          ch = text_[pos_++];
        }
        tag.push_back(ch);
      }
      if (tag.empty()) fail("names an empty tag");
      return tag;
    }
    while (!at_end() && is_word_char(text_[pos_])) tag.push_back(text_[pos_++]);
    if (tag.empty()) fail("has \"" + std::string(1, text_[pos_]) + "\" where a tag was expected");
    return tag;
  }

  std::string_view text_;
  std::string_view field_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

store::TagQuery parse_tag_query(std::string_view text, std::string_view field) {
  if (text.size() > kMaxQueryLength)
    throw Error(ErrorCode::invalid_argument,
                "\"" + std::string(field) + "\" is longer than " + std::to_string(kMaxQueryLength) + " characters",
                {{"field", std::string(field)}});
  return Parser(text, field).parse();
}

}  // namespace sb::messaging
