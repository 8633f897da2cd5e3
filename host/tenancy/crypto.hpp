#pragma once
// The cryptographic primitives of the tenancy room, each over a well-kept
// library (libsodium, OpenSSL), so that nothing here is hand-rolled:
// random tokens, SHA-256, constant-time comparison, argon2id password
// hashes, and AES-256-GCM sealing of secrets at rest.
//
// Stateless except SecretBox (immutable after construction): every function
// is safe from any thread.
#include "core/base64.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace sb::tenancy {

// `bytes` random bytes from the OS, as unpadded base64url (URL- and
// header-safe). 32 bytes = 256 bits for every secret the host hands out.
std::string random_token(size_t bytes = 32);
// base64url_encode / base64url_decode: core/base64.hpp.
using sb::base64url_decode;
using sb::base64url_encode;

// Lower-case hex SHA-256 of `data`: how tokens and API key secrets are
// stored (they carry 256 bits of entropy, so a fast hash is enough).
std::string sha256_hex(std::string_view data);

// Compares in time that depends only on the lengths, never on where the
// first difference is: for every secret a caller presents.
bool constant_time_equal(std::string_view a, std::string_view b);

// How expensive a password hash is (libsodium's argon2id limits):
// "interactive" (the default: ~64 MiB, a few tens of ms), "moderate",
// "sensitive", or "min" (for tests only).
enum class PasswordCost { min, interactive, moderate, sensitive };
std::optional<PasswordCost> parse_password_cost(std::string_view text);

// argon2id hash in libsodium's self-describing string format (algorithm,
// parameters and salt included). Throws sb::Error(internal) when out of memory.
std::string hash_password(std::string_view password, PasswordCost cost);
bool verify_password(std::string_view password, const std::string& hash);

// AES-256-GCM sealing of secrets kept in the database (channel and provider
// secrets, dashboard webhook secrets). A sealed value is
// "enc:v1:" + base64url(12-byte nonce || ciphertext || 16-byte tag); the
// "v1" names the key format so that a key rotation can come later.
class SecretBox {
 public:
  // `key` must be 32 bytes.
  explicit SecretBox(std::string key);

  std::string seal(std::string_view plaintext) const;
  // Throws sb::Error(internal) for a value sealed under another key or
  // tampered with, invalid_argument for a value that is not sealed.
  std::string open(std::string_view sealed) const;
  static bool is_sealed(std::string_view value);

 private:
  std::string key_;
};

// A 32-byte key: from `configured` (base64url or 64 hex characters) when
// given, else from the file at `path`, else generated into `path` (created
// with mode 0600, parent directories too). Throws sb::Error naming the file
// or the config key on a malformed key or an unreadable file.
std::string load_or_create_key(const std::optional<std::string>& configured, const std::filesystem::path& path,
                               std::string_view what);

}  // namespace sb::tenancy
