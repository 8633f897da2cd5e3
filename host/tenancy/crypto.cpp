#include "tenancy/crypto.hpp"

#include "core/digest.hpp"

#include "core/error.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <memory>
#include <sstream>

namespace sb::tenancy {
namespace {

void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw Error(ErrorCode::internal, "libsodium could not be initialised");
}

constexpr std::string_view kSealPrefix = "enc:v1:";
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

std::optional<std::string> decode_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out(text.size() / 2, '\0');
  size_t bin_len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                     &bin_len, nullptr) != 0 ||
      bin_len != out.size())
    return std::nullopt;
  return out;
}

std::optional<std::string> decode_key(std::string_view text) {
  if (text.size() == 64) {
    if (auto hex = decode_hex(text)) return hex;
  }
  auto raw = base64url_decode(text);
  if (raw && raw->size() == 32) return raw;
  return std::nullopt;
}

}  // namespace

std::string random_token(size_t bytes) {
  ensure_sodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return base64url_encode(raw);
}

std::string sha256_hex(std::string_view data) { return sb::sha256_hex(data); }

bool constant_time_equal(std::string_view a, std::string_view b) {
  ensure_sodium();
  // Hashing both first makes the comparison independent of where they
  // differ and of b's length too.
  std::array<unsigned char, crypto_hash_sha256_BYTES> da{}, db{};
  crypto_hash_sha256(da.data(), reinterpret_cast<const unsigned char*>(a.data()), a.size());
  crypto_hash_sha256(db.data(), reinterpret_cast<const unsigned char*>(b.data()), b.size());
  return sodium_memcmp(da.data(), db.data(), da.size()) == 0 && a.size() == b.size();
}

std::optional<PasswordCost> parse_password_cost(std::string_view text) {
  if (text == "min") return PasswordCost::min;
  if (text == "interactive") return PasswordCost::interactive;
  if (text == "moderate") return PasswordCost::moderate;
  if (text == "sensitive") return PasswordCost::sensitive;
  return std::nullopt;
}

std::string hash_password(std::string_view password, PasswordCost cost) {
  ensure_sodium();
  unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  switch (cost) {
    case PasswordCost::min:
      ops = crypto_pwhash_OPSLIMIT_MIN;
      mem = crypto_pwhash_MEMLIMIT_MIN;
      break;
    case PasswordCost::interactive: break;
    case PasswordCost::moderate:
      ops = crypto_pwhash_OPSLIMIT_MODERATE;
      mem = crypto_pwhash_MEMLIMIT_MODERATE;
      break;
    case PasswordCost::sensitive:
      ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
      mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
      break;
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw Error(ErrorCode::internal, "hashing a password ran out of memory");
  return out;
}

bool verify_password(std::string_view password, const std::string& hash) {
  ensure_sodium();
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

SecretBox::SecretBox(std::string key) : key_(std::move(key)) {
  if (key_.size() != 32) throw Error(ErrorCode::internal, "a secret key must be 32 bytes");
}

bool SecretBox::is_sealed(std::string_view value) { return value.substr(0, kSealPrefix.size()) == kSealPrefix; }

std::string SecretBox::seal(std::string_view plaintext) const {
  ensure_sodium();
  std::string nonce(kNonceBytes, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out = nonce;
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  int len = 0;
  auto* cipher = reinterpret_cast<unsigned char*>(out.data() + kNonceBytes);
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, reinterpret_cast<const unsigned char*>(key_.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), cipher, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), cipher + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          out.data() + kNonceBytes + plaintext.size()) != 1)
    throw Error(ErrorCode::internal, "AES-256-GCM encryption failed");
  return std::string(kSealPrefix) + base64url_encode(out);
}

std::string SecretBox::open(std::string_view sealed) const {
  if (!is_sealed(sealed)) throw Error(ErrorCode::invalid_argument, "the value is not a sealed secret");
  auto raw = base64url_decode(sealed.substr(kSealPrefix.size()));
  if (!raw || raw->size() < kNonceBytes + kTagBytes)
    throw Error(ErrorCode::internal, "a sealed secret is corrupt (bad encoding)");
  const size_t n = raw->size() - kNonceBytes - kTagBytes;
  std::string plain(n, '\0');
  std::string tag = raw->substr(kNonceBytes + n);
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, reinterpret_cast<const unsigned char*>(key_.data()),
                         reinterpret_cast<const unsigned char*>(raw->data())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out, &len, reinterpret_cast<const unsigned char*>(raw->data() + kNonceBytes),
                        static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out + len, &len) == 1;
  if (!ok) throw Error(ErrorCode::internal, "a sealed secret does not open with this key (wrong key or tampered)");
  return plain;
}

std::string load_or_create_key(const std::optional<std::string>& configured, const std::filesystem::path& path,
                               std::string_view what) {
  if (configured && !configured->empty()) {
    auto key = decode_key(*configured);
    if (!key) {
      throw Error(ErrorCode::invalid_argument,
                  "the configured " + std::string(what) + " must be 32 bytes as 64 hex characters or base64url");
    }
    return *key;
  }
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    auto key = decode_key(s);
    if (!in || !key) throw Error(ErrorCode::invalid_argument, "the " + std::string(what) + " file " + path.string() +
                                                                  " does not hold a 32-byte key");
    return *key;
  }
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) throw Error(ErrorCode::unavailable, "cannot create " + path.parent_path().string() + ": " + ec.message());
  ensure_sodium();
  std::string raw(32, '\0');
  randombytes_buf(raw.data(), raw.size());
  const std::string text = base64url_encode(raw) + "\n";
  const std::string tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw Error(ErrorCode::unavailable, "cannot write the " + std::string(what) + " file " + tmp);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error(ErrorCode::unavailable, "cannot write the " + std::string(what) + " file " + path.string());
  return raw;
}

}  // namespace sb::tenancy
