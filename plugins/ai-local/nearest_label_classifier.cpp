#include "nearest_label_classifier.hpp"

#include <algorithm>

namespace ai_local {

Classification NearestLabelClassifier::classify(std::string_view text,
                                                const std::vector<LabelDefinition>& labels) const {
  HashingEmbedder::Scratch scratch;
  const std::vector<float> text_vector = embedder_.embed(text, scratch);
  std::vector<float> other(static_cast<std::size_t>(embedder_.dimension()));
  auto similarity = [&](std::string_view other_text) {
    embedder_.embed(other_text, other.data(), scratch);
    return static_cast<double>(dot(text_vector, other));
  };

  Classification result;
  result.scores.reserve(labels.size());
  for (const LabelDefinition& label : labels) {
    std::string name_and_description = label.label;
    if (!label.description.empty()) name_and_description += ". " + label.description;
    double best = similarity(name_and_description);
    for (const std::string& example : label.examples) best = std::max(best, similarity(example));
    result.scores.push_back(std::clamp(best, 0.0, 1.0));
  }
  const auto winner = std::max_element(result.scores.begin(), result.scores.end());
  result.label = labels[static_cast<std::size_t>(winner - result.scores.begin())].label;
  result.score = *winner;
  return result;
}

}  // namespace ai_local
