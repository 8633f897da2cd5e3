#include "webhooks/signature.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

namespace sb::webhooks {
namespace {

std::string base64(const unsigned char* data, size_t n) {
  std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::string signing_key(const std::string& secret) {
  if (secret.rfind("whsec_", 0) == 0) {
    const std::string b64 = secret.substr(6);
    std::string raw(b64.size(), '\0');
    size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), b64.data(), b64.size(), nullptr,
                          &len, nullptr, sodium_base64_VARIANT_ORIGINAL) == 0) {
      raw.resize(len);
      return raw;
    }
  }
  return secret;
}

}  // namespace

std::string standard_webhook_signature(const std::string& secret, const std::string& id, int64_t timestamp,
                                       const std::string& body) {
  const std::string key = signing_key(secret);
  std::string content = id;
  content.append(".").append(std::to_string(timestamp)).append(".").append(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), digest, &len);
  return "v1," + base64(digest, len);
}

std::string new_webhook_secret() {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  return "whsec_" + base64(raw, sizeof raw);
}

}  // namespace sb::webhooks
