#pragma once
// ai-local: the embedded default AI provider. Hashed n-gram embeddings
// (hashing_embedder.hpp), extractive answers quoted from the retrieved
// passages (extractive_answer.hpp) and nearest-example classification
// (nearest_label_classifier.hpp). No language model, no network, no model
// download. Request and result shapes are plugin.h's sb_ai_api; README.md
// says what this plugin adds to them.
//
// Threads: the host may call one instance from several threads at once.
// The instance is immutable after construction and each call keeps its
// buffers on its own stack, so no lock is needed.
#include "extractive_answer.hpp"
#include "hashing_embedder.hpp"
#include "nearest_label_classifier.hpp"

#include <switchboard/plugin.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace ai_local {

struct LocalAiConfig {
  int dimension = 512;
  AnswerSettings answers;

  // Parses the instance config (the host validated it against plugin.json
  // and filled the defaults; checked again here for hosts that did not).
  // Throws switchboard::Error(SB_ERR_INVALID_ARGUMENT) naming the setting.
  static LocalAiConfig parse(std::string_view config_json);
};

class LocalAi final : public switchboard::Ai {
 public:
  LocalAi(switchboard::Host host, std::string_view config_json);

  std::string embed(std::string_view request_json) override;
  std::string chat(std::string_view request_json) override;
  std::string chat_stream(std::string_view request_json,
                          const std::function<void(std::string_view)>& delta) override;
  std::string classify(std::string_view request_json) override;

 private:
  // chat and chat_stream: the answer, its pieces handed to `delta` when set.
  std::string answer(std::string_view request_json, const std::function<void(std::string_view)>* delta);

  LocalAiConfig config_;
  HashingEmbedder embedder_;
  ExtractiveAnswerer answerer_;
  NearestLabelClassifier classifier_;
};

}  // namespace ai_local
