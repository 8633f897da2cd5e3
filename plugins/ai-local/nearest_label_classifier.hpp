#pragma once
// ai-local's classification: nearest labelled examples. Each label is
// described by texts (its name and description together, and each of its
// examples); a text's score for a label is the best cosine between the
// text's hashed embedding and those of the label's texts, clamped to
// [0, 1]. The label with the highest score wins (the first one on a tie).
// Like the embeddings, this matches shared words and word pieces; it does
// not understand meaning, so labels work best with a few examples worded
// the way customers write.
//
// Thread-safe: const after construction.
#include "hashing_embedder.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ai_local {

struct LabelDefinition {
  std::string label;
  std::string description;
  std::vector<std::string> examples;
};

struct Classification {
  std::string label;
  double score = 0;
  std::vector<double> scores;  // one per label, in the order given
};

class NearestLabelClassifier {
 public:
  explicit NearestLabelClassifier(const HashingEmbedder& embedder) : embedder_(embedder) {}

  // `labels` must not be empty (the caller checks).
  Classification classify(std::string_view text, const std::vector<LabelDefinition>& labels) const;

 private:
  const HashingEmbedder& embedder_;
};

}  // namespace ai_local
