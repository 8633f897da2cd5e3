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

}  // namespace sb
