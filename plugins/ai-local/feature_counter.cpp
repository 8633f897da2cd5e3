#include "feature_counter.hpp"

#include <algorithm>

namespace ai_local {
namespace {

// Enough for a chunk of a few thousand characters without growing.
constexpr std::size_t kInitialSlots = 1 << 13;

}  // namespace

FeatureCounter::FeatureCounter() : index_(kInitialSlots, kEmpty), mask_(kInitialSlots - 1) {
  features_.reserve(kInitialSlots / 2);
}

void FeatureCounter::clear() {
  // Few features: free their slots one by one, newest first (each one's
  // probe path then still holds only older features, so it is found);
  // many: wipe the whole index, which is faster than scattered writes.
  if (features_.size() * 8 < index_.size()) {
    for (auto f = features_.rbegin(); f != features_.rend(); ++f) {
      std::size_t i = static_cast<std::size_t>(f->hash) & mask_;
      while (features_[index_[i]].hash != f->hash) i = (i + 1) & mask_;
      index_[i] = kEmpty;
    }
  } else {
    std::fill(index_.begin(), index_.end(), kEmpty);
  }
  features_.clear();
}

void FeatureCounter::grow() {
  index_.assign(index_.size() * 2, kEmpty);
  mask_ = index_.size() - 1;
  for (uint32_t k = 0; k < features_.size(); ++k) {
    std::size_t i = static_cast<std::size_t>(features_[k].hash) & mask_;
    while (index_[i] != kEmpty) i = (i + 1) & mask_;
    index_[i] = k;
  }
}

}  // namespace ai_local
