#include "messaging/csv.hpp"

#include <cstdint>

namespace sb::messaging {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool is_line_break(char c) { return c == '\r' || c == '\n'; }

}  // namespace

CsvReader::CsvReader(std::string_view text, char delimiter) : text_(text), delimiter_(delimiter) {
  if (text_.substr(0, kBom.size()) == kBom) pos_ = kBom.size();
}

void CsvReader::take_line_break() {
  // CRLF, LF and a lone CR are each one line break.
  if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
  ++pos_;
  ++line_;
}

void CsvReader::skip_to_line_end() {
  while (pos_ < text_.size() && !is_line_break(text_[pos_])) ++pos_;
  if (pos_ < text_.size()) take_line_break();
}

bool CsvReader::next(CsvRecord& out) {
  // Blank lines are not records.
  while (pos_ < text_.size() && is_line_break(text_[pos_])) take_line_break();
  if (pos_ >= text_.size()) return false;

  out.fields.clear();
  out.error.clear();
  out.line = line_;
  std::string field;
  for (;;) {
    // At the start of a field.
    if (pos_ < text_.size() && text_[pos_] == '"') {
      const size_t opened_line = line_;
      ++pos_;
      for (;;) {
        if (pos_ >= text_.size()) {
          out.error = "a quoted field opened on line " + std::to_string(opened_line) +
                      " is never closed (a \" is missing; the rest of the file was read as part of it)";
          out.fields.push_back(std::move(field));
          return true;
        }
        const char c = text_[pos_];
        if (c == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            field.push_back('"');
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        if (c == '\r' || c == '\n') {
          // A line break inside quotes is data; CRLF is kept as written.
          field.push_back(c);
          ++pos_;
          if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') {
            field.push_back('\n');
            ++pos_;
          }
          ++line_;
          continue;
        }
        field.push_back(c);
        ++pos_;
      }
      // After the closing quote: a delimiter, a line break or the end.
      if (pos_ < text_.size() && text_[pos_] != delimiter_ && !is_line_break(text_[pos_])) {
        out.error = "field " + std::to_string(out.fields.size() + 1) +
                    " has characters after its closing quote (a quote inside a quoted field is written \"\")";
        out.fields.push_back(std::move(field));
        skip_to_line_end();
        return true;
      }
    } else {
      while (pos_ < text_.size() && text_[pos_] != delimiter_ && !is_line_break(text_[pos_])) {
        if (text_[pos_] == '"') {
          out.error = "field " + std::to_string(out.fields.size() + 1) +
                      " has a \" but does not start with one (quote the whole field and double the quote)";
          out.fields.push_back(std::move(field));
          skip_to_line_end();
          return true;
        }
        field.push_back(text_[pos_++]);
      }
    }
    out.fields.push_back(std::move(field));
    field.clear();
    if (pos_ >= text_.size()) break;
    if (text_[pos_] == delimiter_) {
      ++pos_;
      continue;  // another field follows (possibly empty, at the line's end)
    }
    take_line_break();
    break;
  }
  for (size_t i = 0; i < out.fields.size(); ++i) {
    if (!is_valid_utf8(out.fields[i])) {
      out.error = "field " + std::to_string(i + 1) + " is not valid UTF-8 (save the file as UTF-8)";
      break;
    }
  }
  return true;
}

std::string csv_field(std::string_view value, char delimiter) {
  const bool quote = value.find_first_of(std::string{delimiter, '"', '\r', '\n'}) != std::string_view::npos ||
                     (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string csv_record(const std::vector<std::string>& fields, char delimiter) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out.push_back(delimiter);
    out += csv_field(fields[i], delimiter);
  }
  out += "\r\n";
  return out;
}

}  // namespace sb::messaging
