#pragma once
// Base64 in its two spellings, through libsodium: the standard alphabet
// with padding (HTTP bodies that carry bytes, Standard Webhooks secrets and
// signatures) and the URL-safe alphabet without padding (tokens, keys,
// sealed secrets).
#include <optional>
#include <string>
#include <string_view>

namespace sb {

std::string base64_encode(std::string_view data);
// nullopt when `text` is not padded standard base64 (all of it).
std::optional<std::string> base64_decode(std::string_view text);

std::string base64url_encode(std::string_view data);
// nullopt when `text` is not unpadded base64url (all of it).
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace sb
