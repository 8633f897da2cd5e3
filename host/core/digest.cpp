#include "core/digest.hpp"

#include "core/error.hpp"

#include <sodium.h>

#include <array>

namespace sb {

std::string sha256_hex(std::string_view data) {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw Error(ErrorCode::internal, "libsodium failed to initialise");
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string hex(digest.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  hex.pop_back();
  return hex;
}

}  // namespace sb
