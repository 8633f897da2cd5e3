#pragma once
// ai-local's answers: quoted, never written. The answer to a question is the
// few sentences of the retrieved passages that best match it, in passage
// order, each group followed by the marker [n] of the passage it came from.
// When no sentence matches well enough there is no answer at all: ai-local
// never invents text.
//
// A question without a topic word ("thanks!") gets no answer. Otherwise
// each passage is cut into sentences (sentence_splitter.hpp), and each
// sentence is scored against the question:
//   match    = the cosine of their hashed embeddings (hashing_embedder.hpp);
//   coverage = the share of the question's topic words (not stop words,
//              light_stem'd) found in the sentence, each word weighed by its
//              rarity among the context's sentences (idf), so that a word
//              every sentence has counts little and a word no sentence has
//              counts against every one;
//   score    = (1 - kCoverageShare) * match + kCoverageShare * coverage.
// The sentence is scored a second time after its context (passage title,
// heading, list label), at kContextDiscount, and keeps the better score:
// "Saturday: 9:00 to 13:00" is about the workshop only through its label.
// A block that ends with a question (an FAQ's "Do you repair e-bikes?") is
// not quoted; the sentences after it, its answer, take its score when that
// is higher (kAnswerAfterQuestion, less kAnswerDecay for each further one).
// Sentences of fewer than kMinSentenceWords words are not quoted.
//
// Which sentences answer: the best one if it scores at least
// min_sentence_score, then the next best while they score at least that and
// at least kRelativeFloor times the best, up to max_sentences, skipping
// repeats (the host's chunks overlap, so a sentence can come twice). They
// are quoted in passage order, list items with their label and kept apart
// by semicolons.
//
// Thread-safe: const after construction.
#include "hashing_embedder.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ai_local {

struct AnswerSettings {
  static constexpr int kDefaultMaxSentences = 3;
  // Chosen on the Millrace Cycles evaluation set (tests/data/knowledge/eval)
  // so that answerable questions get an answer and questions about things
  // the shop's documents do not mention get none; see README.md.
  static constexpr double kDefaultMinSentenceScore = 0.38;

  int max_sentences = kDefaultMaxSentences;
  double min_sentence_score = kDefaultMinSentenceScore;
};

// A retrieved passage, as the host handed it over.
struct PassageText {
  std::string title;
  std::string text;
};

struct ExtractiveAnswer {
  std::string text;                   // "" when there is no answer
  std::vector<std::size_t> cited;     // 0-based indices of the passages quoted, in order of appearance
  std::vector<std::string> pieces;    // text, piece by piece (sentences and markers): concatenated they are text
  std::size_t sentences_scored = 0;   // how many sentences were candidates
  double best_score = 0;              // the best sentence's score, 0 when none
};

class ExtractiveAnswerer {
 public:
  // Bump on any change to sentence splitting, scoring or selection.
  static constexpr std::string_view kAlgorithm = "extractive-v1";
  static constexpr double kCoverageShare = 0.4;
  static constexpr double kRelativeFloor = 0.8;
  static constexpr std::size_t kMinSentenceWords = 2;
  // A sentence read with its context (title, heading, list label) scores
  // this share of the match, so that a sentence's own words count more.
  static constexpr double kContextDiscount = 0.9;
  // The share of an FAQ question's score that the first sentence after it
  // (its answer) takes over, and how much less each further one gets.
  static constexpr double kAnswerAfterQuestion = 1.0;
  static constexpr double kAnswerDecay = 0.1;

  ExtractiveAnswerer(const HashingEmbedder& embedder, AnswerSettings settings)
      : embedder_(embedder), settings_(settings) {}

  // "ai-local/extractive-v1/hashing-v1/d512": both algorithms and the dimension.
  std::string model_name() const;

  ExtractiveAnswer answer(std::string_view question, const std::vector<PassageText>& passages) const;

 private:
  const HashingEmbedder& embedder_;
  AnswerSettings settings_;
};

}  // namespace ai_local
