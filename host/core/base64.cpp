#include "core/base64.hpp"

#include <sodium.h>

namespace sb {

namespace {

std::string encode(std::string_view data, int variant) {
  const size_t cap = sodium_base64_encoded_len(data.size(), variant);
  std::string out(cap, '\0');
  sodium_bin2base64(out.data(), cap, reinterpret_cast<const unsigned char*>(data.data()), data.size(), variant);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::optional<std::string> decode(std::string_view text, int variant) {
  std::string out(text.size() * 3 / 4 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, variant) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  out.resize(len);
  return out;
}

}  // namespace

std::string base64_encode(std::string_view data) { return encode(data, sodium_base64_VARIANT_ORIGINAL); }
std::optional<std::string> base64_decode(std::string_view text) { return decode(text, sodium_base64_VARIANT_ORIGINAL); }
std::string base64url_encode(std::string_view data) { return encode(data, sodium_base64_VARIANT_URLSAFE_NO_PADDING); }
std::optional<std::string> base64url_decode(std::string_view text) {
  return decode(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

}  // namespace sb
