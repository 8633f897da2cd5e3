#pragma once
// Phone numbers in E.164: "+" then 8 to 15 digits. Channels and the API may
// write them with spaces, dashes or parentheses; everything stored is E.164.
#include <optional>
#include <string>
#include <string_view>

namespace sb::messaging {

// "+1 (555) 123-4567" -> "+15551234567"; nullopt when, once spaces, dashes
// and parentheses are removed, it is not "+" followed by 8 to 15 digits.
std::optional<std::string> try_normalize_phone(std::string_view input);

// As try_normalize_phone, but throws sb::Error(invalid_argument) naming
// `field` and what is wrong.
std::string normalize_phone(std::string_view input, std::string_view field = "phone");

}  // namespace sb::messaging
