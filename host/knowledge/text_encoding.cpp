// Character encodings of uploaded documents: UTF-8 validation, UTF-16
// files with a byte order mark, and Windows-1252 for HTML that is not UTF-8.
#include "core/error.hpp"
#include "knowledge/document_formats.hpp"

#include <cstdint>
#include <cstring>

namespace sb::knowledge::detail {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Code points of Windows-1252's bytes 0x80..0x9F (0 where it has none).
constexpr char32_t kWindows1252High[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

std::string utf16_to_utf8(std::string_view bytes, bool big_endian) {
  std::string out;
  out.reserve(bytes.size());
  auto unit_at = [&](size_t i) -> char32_t {
    const auto first = static_cast<unsigned char>(bytes[i]);
    const auto second = static_cast<unsigned char>(bytes[i + 1]);
    return big_endian ? (char32_t{first} << 8 | second) : (char32_t{second} << 8 | first);
  };
  const size_t units = bytes.size() / 2;
  for (size_t u = 0; u < units; ++u) {
    char32_t unit = unit_at(u * 2);
    if (unit >= 0xD800 && unit <= 0xDBFF && u + 1 < units) {
      const char32_t low = unit_at((u + 1) * 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        append_utf8(out, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
        ++u;
        continue;
      }
    }
    if (unit == 0) throw Error(ErrorCode::invalid_argument, kNotUtf8);
    append_utf8(out, unit);  // a lone surrogate becomes U+FFFD
  }
  return out;
}

}  // namespace

void append_utf8(std::string& out, char32_t code_point) {
  if ((code_point >= 0xD800 && code_point <= 0xDFFF) || code_point > 0x10FFFF) code_point = kReplacement;
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

std::string_view without_utf8_bom(std::string_view bytes) {
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  return bytes;
}

std::string decode_text_file(std::string_view bytes) {
  if (bytes.size() >= 2 && bytes.substr(0, 2) == "\xFF\xFE") return utf16_to_utf8(bytes.substr(2), false);
  if (bytes.size() >= 2 && bytes.substr(0, 2) == "\xFE\xFF") return utf16_to_utf8(bytes.substr(2), true);
  bytes = without_utf8_bom(bytes);
  // A NUL is valid UTF-8 but no text file holds one: it is a binary file
  // (or UTF-16 without a byte order mark).
  if (!is_valid_utf8(bytes) || std::memchr(bytes.data(), 0, bytes.size()) != nullptr) {
    throw Error(ErrorCode::invalid_argument, kNotUtf8);
  }
  return std::string(bytes);
}

std::string windows_1252_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      out.push_back(c);
    } else if (byte < 0xA0) {
      const char32_t mapped = kWindows1252High[byte - 0x80];
      append_utf8(out, mapped != 0 ? mapped : kReplacement);
    } else {
      append_utf8(out, byte);  // Latin-1 and Windows-1252 agree from 0xA0 on
    }
  }
  return out;
}

}  // namespace sb::knowledge::detail
