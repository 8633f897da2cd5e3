#pragma once
// Small text helpers shared by every room.
#include <string>
#include <string_view>

namespace sb {

// `s` with ASCII letters lower-cased (header names, emails, keywords);
// other bytes, UTF-8 included, unchanged.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

// Whether `s` starts with `lower_prefix` (given in lower case), ASCII
// letters compared regardless of case: "HTTPS://", "%PDF", "<!DOCTYPE".
inline bool starts_with_ascii_ci(std::string_view s, std::string_view lower_prefix) {
  if (s.size() < lower_prefix.size()) return false;
  for (size_t i = 0; i < lower_prefix.size(); ++i) {
    char ch = s[i];
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    if (ch != lower_prefix[i]) return false;
  }
  return true;
}

// `s` without the ASCII white space (space, tab, CR, LF, FF, VT) at its ends.
inline std::string_view trim_ascii(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

}  // namespace sb
