#include "sse_parser.hpp"

namespace openai {

void SseParser::feed(std::string_view piece) {
  size_t start = 0;
  if (after_cr_ && !piece.empty() && piece.front() == '\n') start = 1;
  after_cr_ = false;
  for (size_t i = start; i < piece.size(); ++i) {
    const char c = piece[i];
    if (c != '\n' && c != '\r') continue;
    partial_.append(piece.substr(start, i - start));
    line(partial_);
    partial_.clear();
    if (c == '\r') {
      if (i + 1 < piece.size()) {
        if (piece[i + 1] == '\n') ++i;
      } else {
        after_cr_ = true;
      }
    }
    start = i + 1;
  }
  partial_.append(piece.substr(start));
}

void SseParser::finish() {
  if (!partial_.empty()) {
    line(partial_);
    partial_.clear();
  }
  dispatch();
}

void SseParser::line(std::string_view text) {
  if (text.empty()) {
    dispatch();
    return;
  }
  if (text.front() == ':') return;  // a comment, e.g. a keep-alive
  const size_t colon = text.find(':');
  const std::string_view field = text.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field != "data") return;
  if (has_data_) data_.push_back('\n');
  data_.append(value);
  has_data_ = true;
}

void SseParser::dispatch() {
  if (!has_data_) return;
  std::string data = std::move(data_);
  data_.clear();
  has_data_ = false;
  on_data_(data);
}

}  // namespace openai
