#pragma once
// A knowledge base's settings (settings_json): how documents are chunked,
// how search ranks, how answers are composed. Stored as the caller gave
// them; read through here with defaults filled and every value checked.
//
// Pure: safe on any thread.
#include "knowledge/chunker.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace sb::knowledge {

struct RetrievalSettings {
  int top_k = 5;             // results a search returns unless asked otherwise
  int candidates = 40;       // hits taken from each index before fusion
  double min_score = 0.2;    // an answer needs a passage at least this similar to the question (0..1)
  double vector_weight = 1.0;   // reciprocal rank fusion weights
  double keyword_weight = 1.0;
};

struct AnswerSettings {
  int max_chunks = 4;             // passages given to the provider
  int history_messages = 6;       // recent conversation messages given with the question
  std::string citation_style = "footnote";  // footnote | inline | none
  bool require_citation = true;   // an answer that cites no passage is not sent
  std::string system_prompt;      // replaces the default instructions when set
  int max_tokens = 400;
  double temperature = 0.2;
};

struct KnowledgeSettings {
  ChunkOptions chunking;
  RetrievalSettings retrieval;
  AnswerSettings answer;
  int64_t timeout_ms = 30'000;  // each provider call, retries included
};

// Reads `stored` (an object; unknown keys refused) with defaults for what
// it leaves out. Throws sb::Error(invalid_argument) naming the field
// ("settings.retrieval.min_score must be between 0 and 1").
KnowledgeSettings parse_settings(const nlohmann::json& stored);
// Every setting with its value: what the API shows.
nlohmann::json to_json(const KnowledgeSettings& settings);

}  // namespace sb::knowledge
