#include "messaging/phone.hpp"

#include "core/error.hpp"

namespace sb::messaging {

namespace {

constexpr size_t kMinDigits = 8;
constexpr size_t kMaxDigits = 15;

bool is_separator(char c) { return c == ' ' || c == '-' || c == '(' || c == ')' || c == '\t'; }

}  // namespace

std::optional<std::string> try_normalize_phone(std::string_view input) {
  std::string out;
  out.reserve(input.size());
  for (char c : input) {
    if (is_separator(c)) continue;
    if (c == '+') {
      if (!out.empty()) return std::nullopt;  // a "+" anywhere but first
      out.push_back(c);
    } else if (c >= '0' && c <= '9') {
      if (out.empty()) return std::nullopt;  // digits before the "+"
      out.push_back(c);
    } else {
      return std::nullopt;
    }
  }
  const size_t digits = out.empty() ? 0 : out.size() - 1;
  if (digits < kMinDigits || digits > kMaxDigits) return std::nullopt;
  return out;
}

std::string normalize_phone(std::string_view input, std::string_view field) {
  if (auto phone = try_normalize_phone(input)) return *phone;
  throw Error(ErrorCode::invalid_argument,
              std::string(field) + " must be a phone number in E.164 form, \"+\" followed by " +
                  std::to_string(kMinDigits) + " to " + std::to_string(kMaxDigits) + " digits (got \"" +
                  std::string(input.substr(0, 40)) + "\")");
}

}  // namespace sb::messaging
