// The RFC 4180 reader and writer behind contact import and export: quoted
// fields, line breaks inside quotes, BOM, CRLF, ragged and malformed
// records with their line numbers, UTF-8.
#include "messaging/csv.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using sb::messaging::csv_field;
using sb::messaging::csv_record;
using sb::messaging::CsvReader;
using sb::messaging::CsvRecord;
using sb::messaging::is_valid_utf8;

namespace {

std::vector<CsvRecord> read_all(std::string_view text, char delimiter = ',') {
  CsvReader reader(text, delimiter);
  std::vector<CsvRecord> out;
  CsvRecord r;
  while (reader.next(r)) out.push_back(r);
  return out;
}

using Fields = std::vector<std::string>;

}  // namespace

TEST_CASE("plain records split on commas and end at LF, CRLF or CR", "[messaging][csv]") {
  const auto rows = read_all("a,b,c\r\n1,2,3\n4,5,6\r7,,\n");
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].fields == Fields{"a", "b", "c"});
  CHECK(rows[1].fields == Fields{"1", "2", "3"});
  CHECK(rows[2].fields == Fields{"4", "5", "6"});
  CHECK(rows[3].fields == Fields{"7", "", ""});
  for (size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].line == i + 1);
    CHECK(rows[i].error.empty());
  }
}

TEST_CASE("quoted fields hold commas, doubled quotes and line breaks", "[messaging][csv]") {
  const auto rows = read_all("name,note\r\n\"Lima, Ana\",\"she said \"\"hi\"\"\"\r\n\"multi\r\nline\",\"x\ny\"\r\nlast,\"\"\r\n");
  REQUIRE(rows.size() == 4);
  CHECK(rows[1].fields == Fields{"Lima, Ana", "she said \"hi\""});
  CHECK(rows[1].line == 2);
  CHECK(rows[2].fields == Fields{"multi\r\nline", "x\ny"});
  CHECK(rows[2].line == 3);
  CHECK(rows[3].fields == Fields{"last", ""});
  CHECK(rows[3].line == 6);  // the record before spans lines 3 to 5
  const auto after = read_all("h\r\n\"a\r\nb\"\r\nc\r\n");
  REQUIRE(after.size() == 3);
  CHECK(after[2].fields == Fields{"c"});
  CHECK(after[2].line == 4);
}

TEST_CASE("a UTF-8 byte order mark is skipped and blank lines are not records", "[messaging][csv]") {
  const auto rows = read_all("\xEF\xBB\xBFphone,name\r\n\r\n+4930,Jörg\r\n\r\n");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].fields == Fields{"phone", "name"});
  CHECK(rows[1].fields == Fields{"+4930", "Jörg"});
  CHECK(rows[1].line == 3);
  CHECK(read_all("").empty());
  CHECK(read_all("\xEF\xBB\xBF").empty());
}

TEST_CASE("ragged records are read as they are; the caller compares the counts", "[messaging][csv]") {
  const auto rows = read_all("a,b,c\n1,2\n1,2,3,4\n");
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].fields.size() == 2);
  CHECK(rows[2].fields.size() == 4);
  CHECK(rows[2].error.empty());
}

TEST_CASE("a malformed record is reported with its line and reading goes on at the next line", "[messaging][csv]") {
  const auto rows = read_all("a,b\nab\"c,d\n\"x\"y,z\nok,1\n");
  REQUIRE(rows.size() == 4);
  CHECK(rows[1].line == 2);
  CHECK_THAT(rows[1].error, Catch::Contains("field 1") && Catch::Contains("does not start with one"));
  CHECK(rows[2].line == 3);
  CHECK_THAT(rows[2].error, Catch::Contains("after its closing quote"));
  CHECK(rows[3].error.empty());
  CHECK(rows[3].fields == Fields{"ok", "1"});
  CHECK(rows[3].line == 4);
}

TEST_CASE("a quote that is never closed ends the reading with an error naming where it opened", "[messaging][csv]") {
  const auto rows = read_all("a,b\n1,2\n3,\"open\n4,5\n");
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].error.empty());
  CHECK(rows[2].line == 3);
  CHECK_THAT(rows[2].error, Catch::Contains("opened on line 3") && Catch::Contains("never closed"));
}

TEST_CASE("bad UTF-8 is reported per record", "[messaging][csv]") {
  const auto rows = read_all("a,b\nok,\xC3\xA9\nbad,\xC3\x28\nlatin1,caf\xE9\nok2,x\n");
  REQUIRE(rows.size() == 5);
  CHECK(rows[1].error.empty());
  CHECK_THAT(rows[2].error, Catch::Contains("field 2") && Catch::Contains("UTF-8"));
  CHECK_THAT(rows[3].error, Catch::Contains("UTF-8"));
  CHECK(rows[4].error.empty());
  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));        // an emoji
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong "/"
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // a surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xE2\x82"));          // cut short
}

TEST_CASE("another delimiter is honoured", "[messaging][csv]") {
  const auto rows = read_all("a;b\n\"1;2\";3\n", ';');
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].fields == Fields{"1;2", "3"});
}

TEST_CASE("the writer quotes only what needs it and reads back unchanged", "[messaging][csv]") {
  CHECK(csv_field("plain") == "plain");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field("two\nlines") == "\"two\nlines\"");
  CHECK(csv_field(" padded ") == "\" padded \"");
  CHECK(csv_field("") == "");
  const Fields tricky{"+12025550123", "Lima, Ana", "\"quoted\"", "line1\r\nline2", "", " x ", "ünïcødé"};
  const std::string text = csv_record(tricky) + csv_record({"a", "b"});
  const auto rows = read_all(text);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].fields == tricky);
  CHECK(rows[1].fields == Fields{"a", "b"});
  CHECK(rows[1].line == 3);
}
