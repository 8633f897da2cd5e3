#pragma once
// CSV as RFC 4180 writes it, read the way spreadsheets export it: fields
// separated by a delimiter (default ','), records ended by CRLF, LF or a
// lone CR, fields in double quotes holding delimiters, quotes (doubled) and
// line breaks. A UTF-8 byte order mark at the start is skipped; blank lines
// are skipped. Written here rather than taken from a package: Debian's C++
// CSV readers (libfccp: fixed columns chosen at compile time; libcsv: C
// callbacks without line numbers) give neither the line a record starts on
// nor a way to go on past a bad record, and an import reports both.
//
// CsvReader reads a whole text held by the caller (borrowed: it must
// outlive the reader). A malformed record does not stop it: next() returns
// it with `error` set and reading resumes at the next line break, except
// for a quote that is never closed, which takes the rest of the text with
// it (there is no telling where it should have ended) and ends the reading.
#include "core/utf8.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sb::messaging {

struct CsvRecord {
  std::vector<std::string> fields;
  size_t line = 0;    // 1-based line of the text the record starts on
  std::string error;  // empty unless malformed: what is wrong, in words
};

class CsvReader {
 public:
  explicit CsvReader(std::string_view text, char delimiter = ',');
  // The next record into `out`; false when the text is exhausted.
  bool next(CsvRecord& out);

 private:
  void skip_to_line_end();
  void take_line_break();  // at a CR or LF: consumes CRLF, LF or CR and counts it

  std::string_view text_;
  char delimiter_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

using sb::is_valid_utf8;  // core/utf8.hpp

// One field as RFC 4180 writes it: quoted (quotes doubled) when it holds
// the delimiter, a quote, a line break, or leading/trailing spaces.
std::string csv_field(std::string_view value, char delimiter = ',');
// A record: the fields joined by the delimiter, ended by CRLF.
std::string csv_record(const std::vector<std::string>& fields, char delimiter = ',');

}  // namespace sb::messaging
