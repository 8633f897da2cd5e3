#pragma once
// Embeddings from an AI provider: the embed call, its answer checked (one
// vector per text, one dimension, finite numbers) and every vector
// L2-normalized, so that inner product is cosine similarity everywhere
// (faiss, the similarity shown with a result, the no-answer threshold).
//
// Stateless: safe on any thread (the provider instance is thread-safe).
#include "plugins/registry.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sb::knowledge {

struct Embeddings {
  std::string model;          // as the provider named it
  int dimension = 0;
  std::vector<float> values;  // texts.size() vectors back to back
  const float* row(size_t i) const { return values.data() + i * static_cast<size_t>(dimension); }
  size_t count() const { return dimension == 0 ? 0 : values.size() / static_cast<size_t>(dimension); }
};

// Embeds `texts` (purpose "document" or "query") with the provider, asking
// for base64 vectors. Throws plugins::PluginError from the provider, and
// PluginError(SB_ERR_PERMANENT) naming the provider when its answer is not
// one finite vector of one dimension per text.
Embeddings embed_texts(plugins::AiInstance& provider, const std::vector<std::string>& texts,
                       std::string_view purpose, int64_t timeout_ms);

// Scales `v` to unit length (a zero vector stays zero).
void normalize(float* v, int dimension);
float dot(const float* a, const float* b, int dimension);

// A vector as stored in knowledge_chunks.embedding: float32, little-endian.
std::string vector_bytes(const float* v, int dimension);
// The inverse; false when `bytes` is not `dimension` floats.
bool vector_from_bytes(std::string_view bytes, int dimension, float* out);

}  // namespace sb::knowledge
