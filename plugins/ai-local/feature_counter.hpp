#pragma once
// Counts how often each hashed feature occurs in one text, so that the
// embedder can weigh a feature by 1 + ln(count) rather than by its raw
// count. The distinct features sit in a dense array in first-seen order;
// an open-addressing index of 32-bit positions, keyed by the 64-bit
// feature hash, finds them. Small enough to stay in cache for a chunk of
// text, and adding a feature allocates nothing unless the index has to
// grow; one counter is reused across every text of a request.
//
// Not thread-safe: one counter per thread (the embedder makes one per
// call).
#include <cstdint>
#include <vector>

namespace ai_local {

class FeatureCounter {
 public:
  struct Feature {
    uint64_t hash = 0;
    float weight = 0;    // the weight of one occurrence
    uint32_t count = 0;  // occurrences in the text
  };

  FeatureCounter();

  // Forgets every feature.
  void clear();

  // Counts `count` occurrences of `hash`; answers true when the feature is
  // new. The weight of the first occurrence is kept: a given hash always
  // comes with the same weight.
  bool add(uint64_t hash, float weight, uint32_t count = 1) {
    std::size_t i = static_cast<std::size_t>(hash) & mask_;
    for (;;) {
      const uint32_t slot = index_[i];
      if (slot == kEmpty) break;
      Feature& f = features_[slot];
      if (f.hash == hash) {
        f.count += count;
        return false;
      }
      i = (i + 1) & mask_;
    }
    index_[i] = static_cast<uint32_t>(features_.size());
    features_.push_back(Feature{hash, weight, count});
    if (features_.size() * 2 > index_.size()) grow();
    return true;
  }

  // Every distinct feature, in the order they were first added (so sums
  // over them are reproducible).
  const std::vector<Feature>& features() const { return features_; }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  // Doubles the index.
  void grow();

  std::vector<Feature> features_;
  std::vector<uint32_t> index_;  // positions in features_, kEmpty where free
  std::size_t mask_ = 0;
};

}  // namespace ai_local
