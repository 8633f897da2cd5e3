#include "extractive_answer.hpp"

#include "feature_hash.hpp"
#include "sentence_splitter.hpp"
#include "text_words.hpp"

#include <algorithm>
#include <cmath>

namespace ai_local {
namespace {

// Two quoted sentences this close are the same sentence (the host's chunks
// overlap, and documents repeat themselves).
constexpr float kDuplicateCosine = 0.95f;
// A labelled sentence up to this long is a list item that needs its label
// to make sense ("Saturday: 9:00 to 13:00" under "Workshop opening
// hours:"); a longer one stands on its own.
constexpr std::size_t kLabelledItemMaxBytes = 80;
// How much more a question word that no sentence of the context has
// weighs against coverage.
constexpr double kUnknownWordFactor = 2.0;

struct Candidate {
  std::size_t passage = 0;
  Sentence sentence;
  std::vector<float> vector;
  std::size_t words = 0;
  bool is_question = false;       // part of a block that ends with a question
  double score = 0;
};

// A scored text: its embedding and its distinct topic words.
struct TextFeatures {
  std::vector<float> vector;
  std::vector<uint64_t> topic_words;  // sorted, unique
  std::size_t words = 0;
};

// The distinct topic words of a text (not stop words, light-stemmed), as
// sorted hashes.
std::vector<uint64_t> topic_words(const std::vector<std::string_view>& words) {
  std::vector<uint64_t> out;
  out.reserve(words.size());
  for (std::string_view w : words) {
    if (!is_stop_word(w)) out.push_back(fnv1a(light_stem(w)));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

TextFeatures features_of(const HashingEmbedder& embedder, std::string_view text, HashingEmbedder::Scratch& scratch) {
  TextFeatures f;
  f.vector = embedder.embed(text, scratch);
  f.topic_words = topic_words(scratch.words);
  f.words = scratch.words.size();
  return f;
}

bool contains(const std::vector<uint64_t>& sorted, uint64_t value) {
  return std::binary_search(sorted.begin(), sorted.end(), value);
}

bool ends_with_question_mark(std::string_view text) {
  while (!text.empty() && (text.back() == '"' || text.back() == '\'' || text.back() == ')' || text.back() == '*' ||
                           text.back() == '_' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  constexpr std::string_view kFullWidthQuestionMark = "\xEF\xBC\x9F";  // ？
  return (!text.empty() && text.back() == '?') ||
         (text.size() >= 3 && text.substr(text.size() - 3) == kFullWidthQuestionMark);
}

// Whether `text` ends like a sentence (rather than like a list item).
bool ends_sentence(std::string_view text) {
  while (!text.empty() && (text.back() == '"' || text.back() == '\'' || text.back() == ')')) text.remove_suffix(1);
  if (text.empty()) return false;
  const char c = text.back();
  if (c == '.' || c == '!' || c == '?' || c == ':' || c == ';') return true;
  for (std::string_view mark : {"\xE2\x80\xA6", "\xE3\x80\x82", "\xEF\xBC\x81", "\xEF\xBC\x9F"}) {  // … 。 ！ ？
    if (text.size() >= mark.size() && text.substr(text.size() - mark.size()) == mark) return true;
  }
  return false;
}

// What a sentence is about beyond its own words: the passage title, its
// heading and the label of its list ("Workshop opening hours:").
std::string context_of(const PassageText& passage, const Sentence& sentence) {
  std::string context;
  for (const std::string* part : {&passage.title, &sentence.heading, &sentence.label}) {
    if (part->empty() || *part == sentence.text) continue;
    if (!context.empty()) context += ". ";
    context += *part;
  }
  return context;
}

// Scores texts against one question: cosine plus idf-weighted coverage of
// the question's topic words (see extractive_answer.hpp).
class QuestionMatcher {
 public:
  QuestionMatcher(TextFeatures question, const std::vector<TextFeatures>& sentences) : question_(std::move(question)) {
    const double n = static_cast<double>(sentences.size());
    idf_.resize(question_.topic_words.size());
    for (std::size_t w = 0; w < idf_.size(); ++w) {
      std::size_t df = 0;
      for (const TextFeatures& s : sentences) df += contains(s.topic_words, question_.topic_words[w]) ? 1 : 0;
      // A word no sentence has gets the highest idf, kUnknownWordFactor
      // times: a question about something the context never mentions
      // covers little of itself.
      idf_[w] = std::log((n + 1) / (static_cast<double>(df) + 0.5)) * (df == 0 ? kUnknownWordFactor : 1.0);
      idf_total_ += idf_[w];
    }
  }

  double score(const TextFeatures& text) const {
    double covered = 0;
    for (std::size_t w = 0; w < idf_.size(); ++w) {
      if (contains(text.topic_words, question_.topic_words[w])) covered += idf_[w];
    }
    const double coverage = idf_total_ > 0 ? covered / idf_total_ : 0;
    const double match = dot(question_.vector, text.vector);
    return (1 - ExtractiveAnswerer::kCoverageShare) * match + ExtractiveAnswerer::kCoverageShare * coverage;
  }

 private:
  TextFeatures question_;
  std::vector<double> idf_;
  double idf_total_ = 0;
};

// Marks the sentences of every block that ends with a question (an FAQ's
// "**Do you fix e-bikes?**") and hands each such question's score to the
// sentences after it that answer it, up to the next question in its
// passage, a little less to each further one. Scores are read before any
// is raised, so nothing inherits twice.
void hand_question_scores_to_answers(std::vector<Candidate>& candidates) {
  auto same_block = [&](std::size_t a, std::size_t b) {
    return candidates[a].passage == candidates[b].passage && candidates[a].sentence.block == candidates[b].sentence.block;
  };
  for (std::size_t i = 0; i < candidates.size();) {
    std::size_t end = i;
    while (end < candidates.size() && same_block(end, i)) ++end;
    if (ends_with_question_mark(candidates[end - 1].sentence.text)) {
      for (std::size_t k = i; k < end; ++k) candidates[k].is_question = true;
    }
    i = end;
  }
  std::vector<double> own_scores;
  own_scores.reserve(candidates.size());
  for (const Candidate& c : candidates) own_scores.push_back(c.score);
  for (std::size_t i = 0; i < candidates.size();) {
    if (!candidates[i].is_question) {
      ++i;
      continue;
    }
    double question_score = 0;
    std::size_t j = i;
    for (; j < candidates.size() && same_block(j, i); ++j) question_score = std::max(question_score, own_scores[j]);
    double inherited = question_score * ExtractiveAnswerer::kAnswerAfterQuestion;
    for (std::size_t k = j;
         k < candidates.size() && !candidates[k].is_question && candidates[k].passage == candidates[i].passage; ++k) {
      candidates[k].score = std::max(candidates[k].score, inherited);
      inherited -= question_score * ExtractiveAnswerer::kAnswerDecay;
    }
    i = j;
  }
}

// Joins the chosen sentences (indices into candidates, in document order)
// into the answer's pieces, text and citations.
void compose(const std::vector<Candidate>& candidates, const std::vector<std::size_t>& chosen,
             ExtractiveAnswer& result) {
  std::string quoted_label;  // the label of the run of list items being quoted
  bool after_marker = false;
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    const Candidate& c = candidates[chosen[k]];
    // List items, which end without punctuation, are kept apart by a
    // semicolon: "Saturday: 9:00 to 13:00; Sunday: closed".
    std::string piece;
    if (k > 0) piece = after_marker || ends_sentence(candidates[chosen[k - 1]].sentence.text) ? " " : "; ";
    after_marker = false;
    // A short list item is quoted with its label, once for a run of items.
    const std::string label = c.sentence.text.size() <= kLabelledItemMaxBytes ? c.sentence.label : std::string();
    if (!label.empty() && label != quoted_label) piece += label + " ";
    quoted_label = label;
    piece += c.sentence.text;
    result.pieces.push_back(std::move(piece));
    const bool last_of_passage = k + 1 == chosen.size() || candidates[chosen[k + 1]].passage != c.passage;
    if (last_of_passage) {
      result.pieces.push_back(" [" + std::to_string(c.passage + 1) + "]");
      result.cited.push_back(c.passage);
      quoted_label.clear();
      after_marker = true;
    }
  }
  for (const std::string& piece : result.pieces) result.text += piece;
}

}  // namespace

std::string ExtractiveAnswerer::model_name() const {
  return "ai-local/" + std::string(kAlgorithm) + "/" + std::string(HashingEmbedder::kAlgorithm) + "/d" +
         std::to_string(embedder_.dimension());
}

ExtractiveAnswer ExtractiveAnswerer::answer(std::string_view question,
                                            const std::vector<PassageText>& passages) const {
  ExtractiveAnswer result;
  HashingEmbedder::Scratch scratch;

  // A message without a topic word ("hi", "thanks!") asks nothing that a
  // passage could answer.
  TextFeatures question_features = features_of(embedder_, question, scratch);
  if (question_features.topic_words.empty()) return result;

  std::vector<Candidate> candidates;
  std::vector<TextFeatures> own;         // each candidate's own text
  std::vector<TextFeatures> in_context;  // the same after its context, or empty
  for (std::size_t p = 0; p < passages.size(); ++p) {
    for (Sentence& sentence : split_sentences(passages[p].text)) {
      Candidate c;
      c.passage = p;
      own.push_back(features_of(embedder_, sentence.text, scratch));
      c.words = own.back().words;
      c.vector = own.back().vector;
      const std::string context = context_of(passages[p], sentence);
      in_context.push_back(context.empty() ? TextFeatures{}
                                           : features_of(embedder_, context + ". " + sentence.text, scratch));
      c.sentence = std::move(sentence);
      candidates.push_back(std::move(c));
    }
  }

  const QuestionMatcher matcher(std::move(question_features), own);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    double score = matcher.score(own[i]);
    if (in_context[i].words > 0) score = std::max(score, kContextDiscount * matcher.score(in_context[i]));
    candidates[i].score = score;
  }
  hand_question_scores_to_answers(candidates);

  std::vector<std::size_t> ranked;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!candidates[i].is_question && candidates[i].words >= kMinSentenceWords) ranked.push_back(i);
  }
  result.sentences_scored = ranked.size();
  if (ranked.empty()) return result;
  // Best first; ties go to the better-ranked passage, then to document order.
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](std::size_t a, std::size_t b) { return candidates[a].score > candidates[b].score; });
  result.best_score = candidates[ranked.front()].score;
  if (result.best_score < settings_.min_sentence_score) return result;

  std::vector<std::size_t> chosen;
  const double floor = std::max(settings_.min_sentence_score, kRelativeFloor * result.best_score);
  for (std::size_t i : ranked) {
    if (chosen.size() >= static_cast<std::size_t>(settings_.max_sentences)) break;
    const Candidate& c = candidates[i];
    if (c.score < floor) break;
    const bool repeat = std::any_of(chosen.begin(), chosen.end(), [&](std::size_t j) {
      return candidates[j].sentence.text == c.sentence.text || dot(candidates[j].vector, c.vector) > kDuplicateCosine;
    });
    if (!repeat) chosen.push_back(i);
  }
  // Quoted in passage order and, within a passage, in document order: the
  // order of `candidates`.
  std::sort(chosen.begin(), chosen.end());
  compose(candidates, chosen, result);
  return result;
}

}  // namespace ai_local
