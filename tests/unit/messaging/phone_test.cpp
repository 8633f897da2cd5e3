// Phone numbers through libphonenumber: E.164 out, countries' own lengths
// and ranges, default regions for numbers without "+", and reasons a
// person understands.
#include "core/error.hpp"
#include "messaging/phone.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using sb::messaging::check_phone;
using sb::messaging::is_phone_region;
using sb::messaging::normalize_phone;
using sb::messaging::try_normalize_phone;
using sb::messaging::validate_phone;

TEST_CASE("valid numbers of many countries are normalized to E.164", "[messaging][phone]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"+1 (202) 555-0123", "+12025550123"},     // US, with separators
      {"+1.202.555.0123", "+12025550123"},       // US, dots
      {"+44 20 7946 0958", "+442079460958"},     // GB London
      {"+49 30 12345678", "+493012345678"},      // DE Berlin
      {"+49 151 23456789", "+4915123456789"},    // DE mobile
      {"+33 6 12 34 56 78", "+33612345678"},     // FR mobile
      {"+34 612 34 56 78", "+34612345678"},      // ES mobile
      {"+55 11 91234-5678", "+5511912345678"},   // BR São Paulo mobile
      {"+91 98765 43210", "+919876543210"},      // IN mobile
      {"+81 90-1234-5678", "+819012345678"},     // JP mobile
      {"+234 803 123 4567", "+2348031234567"},   // NG mobile
      {"+61 412 345 678", "+61412345678"},       // AU mobile
      {"  +52 1 55 1234 5678 ", "+525512345678"},  // MX: the old mobile "1" is dropped
  };
  for (const auto& [typed, e164] : cases) {
    INFO(typed);
    const auto check = check_phone(typed);
    REQUIRE(check);
    CHECK(*check.e164 == e164);
    CHECK(validate_phone(typed) == e164);
    CHECK(try_normalize_phone(typed) == e164);
  }
  CHECK(check_phone("+442079460958").region == "GB");
}

TEST_CASE("a number without + is read in the default region, and refused without one", "[messaging][phone]") {
  CHECK(validate_phone("030 12345678", "phone", "DE") == "+493012345678");
  CHECK(validate_phone("(202) 555-0123", "phone", "US") == "+12025550123");
  CHECK(validate_phone("020 7946 0958", "phone", "GB") == "+442079460958");
  CHECK(validate_phone("0044 20 7946 0958", "phone", "DE") == "+442079460958");  // international prefix
  CHECK(validate_phone("+33612345678", "phone", "DE") == "+33612345678");         // "+" wins over the region

  const auto none = check_phone("030 12345678");
  CHECK_FALSE(none);
  CHECK_THAT(none.error, Catch::Contains("no country code") && Catch::Contains("default region"));
  const auto unknown = check_phone("030 12345678", "XX");
  CHECK_FALSE(unknown);
  CHECK_THAT(unknown.error, Catch::Contains("XX"));
  CHECK(is_phone_region("US"));
  CHECK_FALSE(is_phone_region("us"));
  CHECK_FALSE(is_phone_region("XX"));
}

TEST_CASE("bad numbers are refused with the reason", "[messaging][phone]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"+1 555", "\"+1 555\" is too short for US numbers"},
      {"+15551234567", "is not a valid number (US)"},  // area code 555 is not assigned
      {"+1 202 555 01234", "too long for US numbers"},
      {"+999 1234567", "does not start with a known country code"},
      {"", "is empty"},
      {"+", "is not a phone number"},
      {"+1555abc4567", "not a digit"},
      {"+1555+1234567", "\"+\" that is not its first character"},
      {"1+5551234567", "\"+\" that is not its first character"},
      {"+1 (202) 555-0123 ext 5", "not a digit"},
      {"tel:+12025550123", "not a digit"},
      {"+12345678", "too short for US numbers"},
  };
  for (const auto& [typed, reason] : cases) {
    INFO(typed);
    const auto check = check_phone(typed);
    CHECK_FALSE(check);
    CHECK_THAT(check.error, Catch::Contains(reason));
  }
  try {
    validate_phone("+1 555", "to");
    FAIL("expected an error");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::invalid_argument);
    CHECK_THAT(e.what(), Catch::StartsWith("\"to\": ") && Catch::Contains("too short for US numbers"));
    CHECK(e.details().value("field", "") == "to");
  }
}

TEST_CASE("the lenient check keeps numbers of possible length that the plan does not list", "[messaging][phone]") {
  // A channel reports senders that exist; numbering-plan data older than
  // a new range must not lose their messages.
  CHECK(try_normalize_phone("+1 555 123 4567") == "+15551234567");
  CHECK(normalize_phone("+15550100001", "from") == "+15550100001");
  CHECK_FALSE(check_phone("+15551234567"));
  for (const char* bad : {"15551234567", "", "+", "+1234567", "+1234567890123456", "+1555abc4567", "+1555+1234567",
                          "1+5551234567"}) {
    INFO(bad);
    CHECK_FALSE(try_normalize_phone(bad));
  }
  try {
    normalize_phone("555", "from");
    FAIL("expected an error");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains("from") && Catch::Contains("E.164"));
  }
}
