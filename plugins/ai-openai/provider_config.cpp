#include "provider_config.hpp"

#include <nlohmann/json.hpp>
#include <switchboard/plugin.hpp>

namespace openai {
namespace {

using nlohmann::json;
using switchboard::Error;

[[noreturn]] void invalid(const std::string& message) { throw Error(SB_ERR_INVALID_ARGUMENT, message); }

std::string text_field(const json& config, const char* key, const std::string& fallback) {
  auto it = config.find(key);
  if (it == config.end()) return fallback;
  if (!it->is_string()) invalid(std::string("ai-openai: \"") + key + "\" must be a string");
  return it->get<std::string>();
}

int64_t integer_field(const json& config, const char* key, int64_t fallback, int64_t min, int64_t max) {
  auto it = config.find(key);
  if (it == config.end()) return fallback;
  if (!it->is_number_integer()) invalid(std::string("ai-openai: \"") + key + "\" must be an integer");
  const auto value = it->get<int64_t>();
  if (value < min || value > max) {
    invalid(std::string("ai-openai: \"") + key + "\" must be between " + std::to_string(min) + " and " +
            std::to_string(max));
  }
  return value;
}

}  // namespace

std::string normalize_base_url(std::string_view base_url) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/v1") == 0) url.resize(url.size() - 3);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

ProviderConfig ProviderConfig::parse(std::string_view config_json) {
  const json config = json::parse(config_json.begin(), config_json.end(), nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) invalid("ai-openai: the configuration must be a JSON object");
  ProviderConfig c;
  c.base_url = normalize_base_url(text_field(config, "base_url", c.base_url));
  if (c.base_url.rfind("http://", 0) != 0 && c.base_url.rfind("https://", 0) != 0) {
    invalid("ai-openai: base_url must start with http:// or https://");
  }
  c.chat_model = text_field(config, "chat_model", c.chat_model);
  c.embedding_model = text_field(config, "embedding_model", c.embedding_model);
  if (c.chat_model.empty() || c.embedding_model.empty()) invalid("ai-openai: the model names must not be empty");
  c.embedding_dimensions = integer_field(config, "embedding_dimensions", 0, 0, 65536);
  if (auto it = config.find("temperature"); it != config.end()) {
    if (!it->is_number()) invalid("ai-openai: \"temperature\" must be a number");
    c.temperature = it->get<double>();
  }
  c.max_tokens = integer_field(config, "max_tokens", c.max_tokens, 1, 1000000);
  c.timeout_ms = integer_field(config, "timeout_ms", c.timeout_ms, 1, 300000);
  c.max_retries = integer_field(config, "max_retries", c.max_retries, 0, 10);
  c.embedding_batch = integer_field(config, "embedding_batch", c.embedding_batch, 1, 2048);
  return c;
}

std::string ProviderConfig::endpoint(std::string_view path) const { return base_url + "/v1/" + std::string(path); }

}  // namespace openai
