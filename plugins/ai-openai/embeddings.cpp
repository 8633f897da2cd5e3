#include "embeddings.hpp"

#include <switchboard/plugin.hpp>

#include <cstdint>
#include <cstring>

namespace openai {
namespace {

using nlohmann::json;
using switchboard::Error;

[[noreturn]] void not_embeddings(std::string_view server, const std::string& why) {
  throw Error(SB_ERR_PERMANENT, std::string(server) + " answered something that is not an embedding list: " + why);
}

std::string base64_of_floats(const Vector& v) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  bytes.reserve(v.size() * 4);
  for (float f : v) {
    uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<char>((bits >> shift) & 0xFF));
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    out.push_back(alphabet[n & 63]);
  }
  if (i < bytes.size()) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace

std::vector<std::string> texts_of(const json& request) {
  auto texts = request.find("texts");  // end() for anything but an object
  if (texts == request.end() || !texts->is_array()) {
    throw Error(SB_ERR_INVALID_ARGUMENT, "the embed request needs \"texts\": [\"...\", ...]");
  }
  std::vector<std::string> out;
  out.reserve(texts->size());
  for (const auto& t : *texts) {
    if (!t.is_string()) throw Error(SB_ERR_INVALID_ARGUMENT, "every text to embed must be a string");
    out.push_back(t.get<std::string>());
  }
  return out;
}

json embeddings_request_body(const std::vector<std::string>& texts, size_t first, size_t count,
                             const ProviderConfig& config) {
  json input = json::array();
  for (size_t i = first; i < first + count && i < texts.size(); ++i) input.push_back(texts[i]);
  json body = {{"model", config.embedding_model}, {"input", std::move(input)}, {"encoding_format", "float"}};
  if (config.embedding_dimensions > 0) body["dimensions"] = config.embedding_dimensions;
  return body;
}

std::vector<Vector> parse_embeddings(std::string_view body, size_t expected, std::string_view server) {
  const json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array()) {
    not_embeddings(server, body.empty() ? "an empty body" : std::string(body.substr(0, 120)));
  }
  const json& data = doc["data"];
  if (data.size() != expected) {
    throw Error(SB_ERR_PERMANENT, std::string(server) + " answered " + std::to_string(data.size()) + " embeddings for " +
                                      std::to_string(expected) + " texts");
  }
  std::vector<Vector> out(expected);
  std::vector<bool> seen(expected, false);
  for (size_t k = 0; k < data.size(); ++k) {
    const json& item = data[k];
    if (!item.is_object() || !item.contains("embedding") || !item["embedding"].is_array()) {
      not_embeddings(server, "item " + std::to_string(k) + " has no \"embedding\" array");
    }
    // Servers that leave out "index" answer in input order.
    size_t index = k;
    if (auto it = item.find("index"); it != item.end()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 0) not_embeddings(server, "an \"index\" is not a number");
      index = static_cast<size_t>(it->get<int64_t>());
    }
    if (index >= expected || seen[index]) {
      throw Error(SB_ERR_PERMANENT, std::string(server) + " answered embeddings with a missing or repeated index (" +
                                        std::to_string(index) + " of " + std::to_string(expected) + " texts)");
    }
    seen[index] = true;
    Vector v;
    v.reserve(item["embedding"].size());
    for (const auto& x : item["embedding"]) {
      if (!x.is_number()) not_embeddings(server, "an embedding holds something that is not a number");
      v.push_back(x.get<float>());
    }
    if (v.empty()) not_embeddings(server, "an embedding is empty");
    out[index] = std::move(v);
  }
  const size_t dimension = out.empty() ? 0 : out.front().size();
  for (const auto& v : out) {
    if (v.size() != dimension) {
      throw Error(SB_ERR_PERMANENT, std::string(server) + " answered embeddings of different dimensions (" +
                                        std::to_string(dimension) + " and " + std::to_string(v.size()) + ")");
    }
  }
  return out;
}

std::string embedding_model_name(const ProviderConfig& config) {
  std::string name = "ai-openai/" + config.embedding_model;
  if (config.embedding_dimensions > 0) name += "/" + std::to_string(config.embedding_dimensions);
  return name;
}

json embed_result(const std::string& model, size_t dimension, const std::vector<Vector>& vectors, bool base64) {
  json out = {{"model", model}, {"dimension", dimension}};
  json list = json::array();
  for (const auto& v : vectors) {
    if (base64) {
      list.push_back(base64_of_floats(v));
    } else {
      list.push_back(v);
    }
  }
  out[base64 ? "vectors_base64" : "vectors"] = std::move(list);
  return out;
}

}  // namespace openai
