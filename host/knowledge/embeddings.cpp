#include "knowledge/embeddings.hpp"

#include "core/base64.hpp"

#include <cmath>
#include <cstring>

namespace sb::knowledge {
namespace {

using nlohmann::json;

plugins::PluginError garbage(const plugins::AiInstance& provider, const std::string& what) {
  return plugins::PluginError(SB_ERR_PERMANENT, provider.plugin_id(),
                              "plugin " + provider.plugin_id() + ": embed answered " + what);
}

}  // namespace

void normalize(float* v, int dimension) {
  double sum = 0;
  for (int i = 0; i < dimension; ++i) sum += static_cast<double>(v[i]) * v[i];
  if (sum <= 0) return;
  const float scale = static_cast<float>(1.0 / std::sqrt(sum));
  for (int i = 0; i < dimension; ++i) v[i] *= scale;
}

namespace {

// The loop, vectorized through OpenMP's simd reduction (the order of the
// additions is the compiler's), and compiled twice below: for AVX2 with FMA
// and for any x86-64. Debian's faiss is built for the latter only, so its
// fvec_inner_product is scalar: 4-8 times slower over 512 dimensions.
__attribute__((always_inline)) inline float dot_body(const float* a, const float* b, int dimension) {
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int i = 0; i < dimension; ++i) sum += a[i] * b[i];
  return sum;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, int dimension) {
  return dot_body(a, b, dimension);
}
float dot_portable(const float* a, const float* b, int dimension) { return dot_body(a, b, dimension); }
#endif

}  // namespace

float dot(const float* a, const float* b, int dimension) {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has_avx2 ? dot_avx2(a, b, dimension) : dot_portable(a, b, dimension);
#else
  return dot_body(a, b, dimension);
#endif
}

std::string vector_bytes(const float* v, int dimension) {
  static_assert(sizeof(float) == 4, "float32 expected");
  // x86-64 and aarch64 are little-endian: the bytes are the floats.
  return std::string(reinterpret_cast<const char*>(v), static_cast<size_t>(dimension) * sizeof(float));
}

bool vector_from_bytes(std::string_view bytes, int dimension, float* out) {
  if (dimension <= 0 || bytes.size() != static_cast<size_t>(dimension) * sizeof(float)) return false;
  std::memcpy(out, bytes.data(), bytes.size());
  return true;
}

Embeddings embed_texts(plugins::AiInstance& provider, const std::vector<std::string>& texts, std::string_view purpose,
                       int64_t timeout_ms) {
  Embeddings out;
  if (texts.empty()) return out;
  const json result = provider.embed(
      {{"texts", texts}, {"purpose", purpose}, {"encoding", "base64"}, {"timeout_ms", timeout_ms}});
  out.model = result.value("model", "");
  if (out.model.empty()) out.model = provider.plugin_id();
  const auto dim = result.find("dimension");
  const auto vectors = result.find("vectors");
  const auto encoded = result.find("vectors_base64");
  const bool has_vectors = vectors != result.end() && vectors->is_array();
  const bool has_encoded = encoded != result.end() && encoded->is_array();
  if (!has_vectors && !has_encoded) throw garbage(provider, "neither \"vectors\" nor \"vectors_base64\"");
  const size_t n = has_vectors ? vectors->size() : encoded->size();
  if (n != texts.size()) {
    throw garbage(provider, std::to_string(n) + " vectors for " + std::to_string(texts.size()) + " texts");
  }
  if (dim != result.end() && dim->is_number_integer()) out.dimension = dim->get<int>();
  if (has_vectors && out.dimension <= 0 && (*vectors)[0].is_array()) out.dimension = static_cast<int>((*vectors)[0].size());
  if (has_encoded && out.dimension <= 0 && (*encoded)[0].is_string()) {
    auto bytes = base64_decode((*encoded)[0].get<std::string>());
    if (bytes) out.dimension = static_cast<int>(bytes->size() / sizeof(float));
  }
  if (out.dimension <= 0 || out.dimension > 65536) throw garbage(provider, "no usable dimension");
  const size_t d = static_cast<size_t>(out.dimension);
  out.values.resize(n * d);
  for (size_t i = 0; i < n; ++i) {
    float* row = out.values.data() + i * d;
    if (has_vectors) {
      const json& v = (*vectors)[i];
      if (!v.is_array() || v.size() != d) {
        throw garbage(provider, "vector " + std::to_string(i) + " with " + std::to_string(v.is_array() ? v.size() : 0) +
                                    " values where the dimension is " + std::to_string(d));
      }
      for (size_t j = 0; j < d; ++j) {
        if (!v[j].is_number()) throw garbage(provider, "a vector value that is not a number");
        row[j] = v[j].get<float>();
      }
    } else {
      const json& v = (*encoded)[i];
      auto bytes = v.is_string() ? base64_decode(v.get<std::string>()) : std::nullopt;
      if (!bytes || !vector_from_bytes(*bytes, out.dimension, row)) {
        throw garbage(provider, "vector " + std::to_string(i) + " that is not " + std::to_string(d) + " base64 float32s");
      }
    }
    for (size_t j = 0; j < d; ++j) {
      if (!std::isfinite(row[j])) throw garbage(provider, "a vector value that is not finite");
    }
    normalize(row, out.dimension);
  }
  return out;
}

}  // namespace sb::knowledge
