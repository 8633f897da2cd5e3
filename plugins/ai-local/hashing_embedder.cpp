#include "hashing_embedder.hpp"

#include "feature_hash.hpp"
#include "text_words.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ai_local {
namespace {

constexpr unsigned char kWordStartMark = '<';
constexpr unsigned char kWordEndMark = '>';

// 1 + ln(count), from a table for the common small counts.
float sublinear(uint32_t count) {
  static const auto table = [] {
    std::vector<float> t(64);
    for (std::size_t i = 1; i < t.size(); ++i) t[i] = 1.0f + std::log(static_cast<float>(i));
    return t;
  }();
  return count < table.size() ? table[count] : 1.0f + std::log(static_cast<float>(count));
}

// Adds the character n-grams of "<word>" (n = kMinCharGram..kMaxCharGram)
// without building the padded string: each start position extends one
// running FNV state through 3, 4 and 5 bytes.
void add_char_grams(std::string_view word, uint32_t occurrences, FeatureCounter& features) {
  const std::size_t len = std::min(word.size(), HashingEmbedder::kMaxCharGramWordBytes);
  const std::size_t padded = len + 2;
  auto byte_at = [&](std::size_t i) -> unsigned char {
    if (i == 0) return kWordStartMark;
    if (i == padded - 1) return kWordEndMark;
    return static_cast<unsigned char>(word[i - 1]);
  };
  const uint64_t basis = kFnvOffsetBasis ^ static_cast<uint64_t>(FeatureKind::char_gram);
  for (std::size_t start = 0; start + HashingEmbedder::kMinCharGram <= padded; ++start) {
    uint64_t h = basis;
    std::size_t i = start;
    for (; i < start + HashingEmbedder::kMinCharGram - 1; ++i) h = fnv1a_step(h, byte_at(i));
    for (; i < start + HashingEmbedder::kMaxCharGram && i < padded; ++i) {
      h = fnv1a_step(h, byte_at(i));
      features.add(mix64(h), HashingEmbedder::kCharGramWeight, occurrences);
    }
  }
}

}  // namespace

HashingEmbedder::HashingEmbedder(int dimension) : dimension_(dimension) {
  if (dimension < kMinDimension || dimension > kMaxDimension) {
    throw std::invalid_argument("dimension must be between " + std::to_string(kMinDimension) + " and " +
                                std::to_string(kMaxDimension) + ", got " + std::to_string(dimension));
  }
}

std::string HashingEmbedder::model_name() const {
  return "ai-local/" + std::string(kAlgorithm) + "/d" + std::to_string(dimension_);
}

void HashingEmbedder::count_features(std::string_view text, Scratch& scratch) const {
  split_words(text, scratch.lowered, scratch.words);
  FeatureCounter& features = scratch.features;
  features.clear();
  scratch.distinct_words.clear();
  scratch.first_position.clear();
  uint64_t previous = 0;
  bool previous_is_stop = false;
  bool have_previous = false;
  for (std::size_t i = 0; i < scratch.words.size(); ++i) {
    const std::string_view word = scratch.words[i];
    const uint64_t hash = word_feature(word);
    const bool stop = is_stop_word(word);
    features.add(hash, stop ? kStopWordWeight : kWordWeight);
    if (have_previous && !(stop && previous_is_stop)) {
      features.add(word_pair_feature(previous, hash), stop || previous_is_stop ? kStopWordPairWeight : kWordPairWeight);
    }
    if (!stop && scratch.distinct_words.add(hash, 0)) scratch.first_position.push_back(i);
    previous = hash;
    previous_is_stop = stop;
    have_previous = true;
  }
  // A word's character n-grams are the same at every occurrence: make them
  // once per distinct word, counted as often as the word occurs.
  const auto& distinct = scratch.distinct_words.features();
  for (std::size_t k = 0; k < distinct.size(); ++k) {
    add_char_grams(scratch.words[scratch.first_position[k]], distinct[k].count, features);
  }
}

void HashingEmbedder::embed(std::string_view text, float* out, Scratch& scratch) const {
  std::fill(out, out + dimension_, 0.0f);
  count_features(text, scratch);
  const uint64_t buckets = static_cast<uint64_t>(dimension_);
  for (const FeatureCounter::Feature& f : scratch.features.features()) {
    // The high 32 bits pick the bucket (multiply-shift: no modulo bias to
    // speak of, any dimension); bit 0, independent of them after mix64,
    // picks the sign.
    const std::size_t bucket = static_cast<std::size_t>(((f.hash >> 32) * buckets) >> 32);
    const float value = f.weight * sublinear(f.count);
    out[bucket] += (f.hash & 1) ? -value : value;
  }
  double norm2 = 0;
  for (int i = 0; i < dimension_; ++i) norm2 += static_cast<double>(out[i]) * out[i];
  if (norm2 <= 0) return;
  const float scale = static_cast<float>(1.0 / std::sqrt(norm2));
  for (int i = 0; i < dimension_; ++i) out[i] *= scale;
}

std::vector<float> HashingEmbedder::embed(std::string_view text, Scratch& scratch) const {
  std::vector<float> out(static_cast<std::size_t>(dimension_));
  embed(text, out.data(), scratch);
  return out;
}

float dot(const float* a, const float* b, std::size_t n) {
  float sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace ai_local
