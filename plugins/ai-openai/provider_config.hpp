#pragma once
// The configuration of one ai-openai instance (plugin.json's "config"), read
// once at create and immutable afterwards, so every thread may read it.
#include <cstdint>
#include <string>
#include <string_view>

namespace openai {

struct ProviderConfig {
  // Without a trailing slash and without a final "/v1": endpoint() adds it.
  std::string base_url = "https://api.openai.com";
  std::string chat_model = "gpt-4o-mini";
  std::string embedding_model = "text-embedding-3-small";
  int64_t embedding_dimensions = 0;  // 0: the model's own, no "dimensions" sent
  double temperature = 0.2;
  int64_t max_tokens = 512;
  int64_t timeout_ms = 30000;
  int64_t max_retries = 3;
  int64_t embedding_batch = 64;

  // Parses the host-validated config (defaults filled); fills in defaults
  // again for a missing key so that a hand-written config works too.
  // Throws switchboard::Error(SB_ERR_INVALID_ARGUMENT) for a malformed one.
  // The API key is not read here: it is a secret (Host::secret).
  static ProviderConfig parse(std::string_view config_json);

  // <base_url>/v1/<path>, e.g. endpoint("chat/completions").
  std::string endpoint(std::string_view path) const;
};

// `base_url` without trailing slashes and without a final "/v1", so that
// "http://h:11434/v1/" and "http://h:11434" name the same server.
std::string normalize_base_url(std::string_view base_url);

}  // namespace openai
