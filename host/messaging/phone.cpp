#include "messaging/phone.hpp"

#include "core/error.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <set>

namespace sb::messaging {

namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr size_t kMaxInput = 64;

PhoneNumberUtil& util() { return *PhoneNumberUtil::GetInstance(); }

// libphonenumber also reads letters (vanity numbers), "tel:" URIs and
// extensions; a contact's phone is digits and the usual separators only,
// so that what is stored is exactly what was meant.
bool is_allowed(char c) {
  return (c >= '0' && c <= '9') || c == '+' || c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' ||
         c == '/' || c == '\t';
}

std::string shown(std::string_view input) {
  std::string out = "\"";
  out.append(input.substr(0, 40));
  if (input.size() > 40) out += "...";
  out += "\"";
  return out;
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

struct Parsed {
  PhoneNumber number;
  std::string region;
  std::string error;
  bool ok = false;
};

// Parses and checks the length; `error` says what is wrong otherwise.
Parsed parse(std::string_view raw, std::string_view default_region) {
  Parsed p;
  const std::string input = trim(raw);
  if (input.empty()) {
    p.error = "is empty";
    return p;
  }
  if (input.size() > kMaxInput) {
    p.error = "is longer than " + std::to_string(kMaxInput) + " characters";
    return p;
  }
  for (char c : input) {
    if (!is_allowed(c)) {
      p.error = shown(input) + " has a character that is not a digit, \"+\" or a separator";
      return p;
    }
  }
  const auto plus = input.find('+');
  if (plus != std::string::npos && (plus != 0 || input.find('+', 1) != std::string::npos)) {
    p.error = shown(input) + " has a \"+\" that is not its first character";
    return p;
  }
  const bool international = plus == 0;
  if (!international && default_region.empty()) {
    p.error = shown(input) +
              " has no country code: write it in international form (\"+\" and the country code, e.g. +1 for the "
              "US) or give a default region";
    return p;
  }
  const std::string region = international ? "ZZ" : std::string(default_region);
  if (!international && !is_phone_region(region)) {
    p.error = "the default region \"" + region + "\" is not a known ISO 3166 region code";
    return p;
  }
  switch (util().Parse(input, region, &p.number)) {
    case PhoneNumberUtil::NO_PARSING_ERROR: break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      p.error = shown(input) + " does not start with a known country code";
      return p;
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
      p.error = shown(input) + " is too short to be a phone number";
      return p;
    case PhoneNumberUtil::TOO_LONG_NSN:
      p.error = shown(input) + " is too long to be a phone number";
      return p;
    default:
      p.error = shown(input) + " is not a phone number";
      return p;
  }
  if (p.number.has_extension()) {
    p.error = shown(input) + " has an extension, which a messaging number cannot have";
    return p;
  }
  std::string country_region;
  util().GetRegionCodeForCountryCode(p.number.country_code(), &country_region);
  // The country code's main region; check_phone() asks for the number's own
  // (costly: it tries the patterns of every region sharing the code).
  p.region = country_region == "ZZ" ? std::string() : country_region;
  const std::string where = country_region == "001" || country_region == "ZZ" ? std::string("its country code")
                                                                             : country_region + " numbers";
  switch (util().IsPossibleNumberWithReason(p.number)) {
    case PhoneNumberUtil::IS_POSSIBLE: break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
      p.error = shown(input) + " does not start with a known country code";
      return p;
    case PhoneNumberUtil::TOO_SHORT:
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
      p.error = shown(input) + " is too short for " + where;
      return p;
    case PhoneNumberUtil::TOO_LONG:
      p.error = shown(input) + " is too long for " + where;
      return p;
    default:
      p.error = shown(input) + " does not have a length used by " + where;
      return p;
  }
  p.ok = true;
  return p;
}

std::string e164(const PhoneNumber& number) {
  std::string out;
  util().Format(number, PhoneNumberUtil::E164, &out);
  return out;
}

Error phone_error(std::string_view field, const std::string& reason) {
  return Error(ErrorCode::invalid_argument, "\"" + std::string(field) + "\": " + reason,
               {{"field", std::string(field)}});
}

}  // namespace

bool is_phone_region(std::string_view region) {
  static const std::set<std::string> regions = [] {
    std::set<std::string> out;
    util().GetSupportedRegions(&out);
    return out;
  }();
  return regions.count(std::string(region)) > 0;
}

PhoneCheck check_phone(std::string_view input, std::string_view default_region) {
  PhoneCheck out;
  Parsed p = parse(input, default_region);
  out.region = p.region;
  if (!p.ok) {
    out.error = std::move(p.error);
    return out;
  }
  std::string number_region;  // "ZZ" when no region has the number
  util().GetRegionCodeForNumber(p.number, &number_region);
  if (number_region != "ZZ") out.region = p.region = number_region;
  // IsValidNumber() is this, but would look the region up a second time
  // (the costliest step: a 100,000-row import checks 100,000 numbers).
  if (!util().IsValidNumberForRegion(p.number, number_region)) {
    std::string formatted;
    util().Format(p.number, PhoneNumberUtil::INTERNATIONAL, &formatted);
    out.error = formatted + " is not a valid number" + (p.region.empty() ? "" : " (" + p.region + ")");
    return out;
  }
  out.e164 = e164(p.number);
  return out;
}

std::string validate_phone(std::string_view input, std::string_view field, std::string_view default_region) {
  PhoneCheck check = check_phone(input, default_region);
  if (!check) throw phone_error(field, check.error);
  return *check.e164;
}

std::optional<std::string> try_normalize_phone(std::string_view input, std::string_view default_region) {
  Parsed p = parse(input, default_region);
  if (!p.ok) return std::nullopt;
  return e164(p.number);
}

std::string normalize_phone(std::string_view input, std::string_view field, std::string_view default_region) {
  Parsed p = parse(input, default_region);
  if (!p.ok)
    throw phone_error(field, "must be a phone number in E.164 form (\"+\" and the country code): " + p.error);
  return e164(p.number);
}

}  // namespace sb::messaging
