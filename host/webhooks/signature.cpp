#include "webhooks/signature.hpp"

#include "core/base64.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

namespace sb::webhooks {
namespace {

std::string signing_key(const std::string& secret) {
  if (secret.rfind("whsec_", 0) == 0) {
    if (auto raw = base64_decode(std::string_view(secret).substr(6))) return *raw;
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
  return "v1," + base64_encode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string new_webhook_secret() {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  return "whsec_" + base64_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

}  // namespace sb::webhooks
