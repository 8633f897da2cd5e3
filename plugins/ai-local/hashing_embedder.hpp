#pragma once
// ai-local's embeddings: feature hashing of word and character n-grams.
// Not a language model and not a trained embedding: two texts come out
// close when they share words, word pairs and pieces of words, and only
// then. Deterministic (the same text gives the same bits on every run; the
// hashes are the same everywhere, the floats may differ in the last bit
// between C libraries' logarithms), needs no data, and costs a few
// hash-table updates per byte.
//
// The features of a text, each weighted by 1 + ln(occurrences in the text):
//   - every word (text_words.hpp)                        kWordWeight, or
//     kStopWordWeight for a built-in English stop word;
//   - every pair of adjacent words                        kWordPairWeight,
//     kStopWordPairWeight when one of them is a stop word, nothing when both
//     are;
//   - every character 3-, 4- and 5-gram of a word padded with boundary
//     marks ("<shop>" gives "<sh", "sho", "hop", "op>", "<sho", ...), for
//     words that are not stop words, from their first kMaxCharGramWordBytes
//     bytes                                               kCharGramWeight.
// Each feature's 64-bit hash (feature_hash.hpp) picks one of `dimension`
// buckets and a sign; the signed weights are summed per bucket (collisions
// cancel on average instead of piling up) and the vector is scaled to unit
// length. A text without words embeds as the zero vector.
//
// The weights are constants, not configuration: changing one changes every
// vector, so it must come with a new kAlgorithm version (the host rebuilds
// its indexes when the model name changes).
//
// Thread-safe: const after construction; every call keeps its scratch
// buffers on its own.
#include "feature_counter.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ai_local {

class HashingEmbedder {
 public:
  // Bump on any change to tokenization, features, weights or hashing.
  static constexpr std::string_view kAlgorithm = "hashing-v1";
  static constexpr int kMinDimension = 32;
  static constexpr int kMaxDimension = 4096;

  static constexpr float kWordWeight = 1.0f;
  static constexpr float kStopWordWeight = 0.15f;
  static constexpr float kWordPairWeight = 0.5f;
  static constexpr float kStopWordPairWeight = 0.2f;
  static constexpr float kCharGramWeight = 0.3f;
  static constexpr int kMinCharGram = 3;
  static constexpr int kMaxCharGram = 5;
  static constexpr std::size_t kMaxCharGramWordBytes = 40;

  // Buffers reused across the texts of one call, so that embedding a text
  // allocates nothing once they have grown to fit.
  struct Scratch {
    std::string lowered;
    std::vector<std::string_view> words;
    FeatureCounter features;
    FeatureCounter distinct_words;            // topic words, counted
    std::vector<std::size_t> first_position;  // of each distinct word in `words`, in first-seen order
  };

  // `dimension` must lie in [kMinDimension, kMaxDimension]; throws
  // std::invalid_argument otherwise.
  explicit HashingEmbedder(int dimension);

  int dimension() const { return dimension_; }
  // "ai-local/hashing-v1/d512": the algorithm version and its settings.
  std::string model_name() const;

  // Writes the embedding of `text` to out[0 .. dimension): unit length, or
  // all zeros when the text has no words.
  void embed(std::string_view text, float* out, Scratch& scratch) const;
  std::vector<float> embed(std::string_view text, Scratch& scratch) const;

 private:
  void count_features(std::string_view text, Scratch& scratch) const;

  int dimension_;
};

// The dot product of two vectors of the same length (the cosine, for unit
// vectors).
float dot(const float* a, const float* b, std::size_t n);
inline float dot(const std::vector<float>& a, const std::vector<float>& b) {
  return dot(a.data(), b.data(), a.size() < b.size() ? a.size() : b.size());
}

}  // namespace ai_local
