#pragma once
// Phone numbers in E.164 ("+" and the country code, no separators), parsed
// and checked with Google's libphonenumber (Debian's libphonenumber-dev).
// Everything stored is E.164.
//
// Two strengths of check, for two kinds of caller:
//  - check_phone / validate_phone: the number must be *valid* (assigned
//    ranges of its country, libphonenumber's IsValidNumber). For numbers a
//    person types or imports (the contacts API, CSV import): a typo is
//    caught before a campaign sends to it.
//  - try_normalize_phone / normalize_phone: the number must be *possible*
//    (a length its country allows). For numbers a channel reports or a send
//    names: the channel knows the number exists, and refusing an inbound
//    message because our copy of the numbering plans is older than the
//    number would lose it.
//
// A number written without "+" is read in `default_region` (ISO 3166-1
// alpha-2, "US", "DE"; "00"/"011" international prefixes included); with
// no default region it is refused: without the country code, "0301234567"
// is a different person in every country.
//
// Thread-safe: libphonenumber's PhoneNumberUtil is an immutable singleton.
#include <optional>
#include <string>
#include <string_view>

namespace sb::messaging {

// What check_phone found: the E.164 form, or why not ("+1 555 is too short
// for US numbers", "+1 555 123 4567 is not a valid number (US)").
struct PhoneCheck {
  std::optional<std::string> e164;
  std::string region;  // of the number, e.g. "US" (empty when unknown)
  std::string error;   // empty when e164 is set
  explicit operator bool() const { return e164.has_value(); }
};

// Strict: parses `input` and requires a valid number.
PhoneCheck check_phone(std::string_view input, std::string_view default_region = "");

// As check_phone, but throws sb::Error(invalid_argument) whose message
// names `field` and the reason; details {"field": field}.
std::string validate_phone(std::string_view input, std::string_view field = "phone",
                           std::string_view default_region = "");

// Lenient: "+1 (555) 123-4567" -> "+15551234567"; nullopt unless the
// number parses and has a length its country allows.
std::optional<std::string> try_normalize_phone(std::string_view input, std::string_view default_region = "");

// As try_normalize_phone, but throws sb::Error(invalid_argument) naming
// `field` and what is wrong.
std::string normalize_phone(std::string_view input, std::string_view field = "phone",
                            std::string_view default_region = "");

// Whether `region` is a region libphonenumber knows ("US", "DE"; upper case).
bool is_phone_region(std::string_view region);

}  // namespace sb::messaging
