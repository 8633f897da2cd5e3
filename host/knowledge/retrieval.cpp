// Search: the question embedded by the base's provider and looked up in the
// faiss index, its words looked up in FTS5, both lists fused by reciprocal
// rank fusion, and the best chunks read with their documents. A chunk's
// similarity (cosine with the question) is computed from its stored vector,
// so a passage found by keywords alone has one too.
#include "knowledge/knowledge_bases.hpp"

#include "core/error.hpp"
#include "knowledge/embeddings.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <unordered_map>

namespace sb::knowledge {
namespace {

constexpr double kRrfK = 60.0;          // the usual reciprocal rank fusion constant
constexpr size_t kMaxQueryTerms = 12;   // the rarest terms of a long question are enough
constexpr double kCommonTermShare = 0.2;  // a term in more than this share of chunks is left out
constexpr int64_t kMinCommonCount = 200;  // ... when it is in at least this many
// FTS5 scores every chunk a query's words are in (about 0.7 µs each here),
// so the words taken, rarest first, may be in at most this many chunks
// together; a word in more carries little (its idf is low) and the vector
// search still sees the question whole.
constexpr int64_t kPostingsBudget = 1500;
constexpr size_t kMaxCachedWords = 50000;  // per base; past it the cache starts over
constexpr size_t kParallelFrom = 20000;    // chunks from which both searches run at once

// Words too common in questions to find anything by keyword.
const std::set<std::string>& stop_words() {
  static const std::set<std::string> words = {
      "a",     "about", "an",   "and",   "are",   "as",    "at",    "be",    "but",   "by",   "can",  "could",
      "do",    "does",  "for",  "from",  "have",  "how",   "i",     "if",    "in",    "is",   "it",   "its",
      "me",    "my",    "of",   "on",    "or",    "our",   "please", "so",   "that",  "the",  "their", "them",
      "there", "these", "they", "this",  "to",    "u",     "us",    "was",   "we",    "what", "when", "where",
      "which", "who",   "why",  "will",  "with",  "would", "you",   "your",  "hi",    "hello", "thanks", "thank",
      "r",     "ur",    "im",   "did",   "am",    "were",  "been",  "has",   "had",   "any",  "some", "all"};
  return words;
}

// The question's words, lower-cased (ASCII), deduplicated, in order;
// bytes >= 0x80 count as letters so that other scripts survive.
std::vector<std::string> query_terms(std::string_view text) {
  std::vector<std::string> terms;
  std::set<std::string> seen;
  std::string word;
  auto flush = [&] {
    if (word.size() >= 2 && !stop_words().count(word) && seen.insert(word).second) terms.push_back(word);
    word.clear();
  };
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) || u >= 0x80) {
      word += static_cast<char>(std::tolower(u));
    } else {
      flush();
    }
  }
  flush();
  return terms;
}

// A term as an FTS5 string: quoted, with quotes doubled.
std::string quoted(const std::string& term) {
  std::string out = "\"";
  for (char ch : term) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

// The chunks the tag filter allows, as id ranges of their documents.
struct Ranges {
  std::vector<std::pair<int64_t, int64_t>> ranges;  // sorted, inclusive
  bool allows(int64_t id) const {
    auto it = std::upper_bound(ranges.begin(), ranges.end(), std::make_pair(id, INT64_MAX));
    if (it == ranges.begin()) return false;
    --it;
    return id >= it->first && id <= it->second;
  }
};

}  // namespace

SearchResult KnowledgeBases::search(const std::string& workspace_id, const std::string& kb_id,
                                    const SearchRequest& request) {
  return search_base(require_base(workspace_id, kb_id), request);
}

SearchResult KnowledgeBases::search_base(const repo::KnowledgeBase& kb, const SearchRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  const KnowledgeSettings settings = parse_settings(kb.settings);
  if (request.query.empty()) throw Error(ErrorCode::invalid_argument, "the question is empty", {{"field", "query"}});
  if (request.query.size() > 4000) {
    throw Error(ErrorCode::invalid_argument, "the question is longer than 4000 characters", {{"field", "query"}});
  }
  const int k = request.k > 0 ? std::min(request.k, 50) : settings.retrieval.top_k;
  const int candidates = std::max(settings.retrieval.candidates, k);

  std::optional<Ranges> allowed;
  if (!request.tags.empty()) {
    allowed = db_.read([&](store::Connection& c) {
      Ranges r;
      std::string sql =
          "SELECT first_chunk_id, last_chunk_id FROM knowledge_documents d WHERE knowledge_base_id = ? AND "
          "first_chunk_id IS NOT NULL";
      store::Params params = {kb.id};
      for (const auto& tag : request.tags) {
        sql += " AND EXISTS (SELECT 1 FROM json_each(d.tags_json) WHERE value = ?)";
        params.emplace_back(tag);
      }
      for (const auto& row : c.query(sql, params)) {
        r.ranges.emplace_back(row.integer("first_chunk_id"), row.integer("last_chunk_id"));
      }
      std::sort(r.ranges.begin(), r.ranges.end());
      return r;
    });
  }

  SearchResult result;
  const std::shared_ptr<VectorIndex> index = indexes_->get(kb);

  // Keywords: the question's rarer words, any of them, within the budget.
  std::vector<std::string> terms = query_terms(request.query);
  auto keyword_ids = [&]() -> std::vector<int64_t> {
    if (terms.empty()) return {};
    return db_.read([&](store::Connection& c) {
      // Counted up to one past the budget (enough to tell which fit), once
      // per word and generation of the base.
      std::map<std::string, int64_t> counts;
      std::vector<std::string> uncounted;
      {
        std::lock_guard lock(word_counts_mu_);
        WordCounts& cached = word_counts_[kb.id];
        if (cached.generation != kb.generation || cached.counts.size() > kMaxCachedWords) {
          cached.counts.clear();
          cached.generation = kb.generation;
        }
        for (const auto& t : terms) {
          auto it = cached.counts.find(t);
          if (it != cached.counts.end()) {
            counts[t] = it->second;
          } else {
            uncounted.push_back(t);
          }
        }
      }
      if (!uncounted.empty()) {
        auto fresh = repo::term_document_counts(c, kb.id, uncounted, kPostingsBudget + 1);
        std::lock_guard lock(word_counts_mu_);
        WordCounts& cached = word_counts_[kb.id];
        for (const auto& [word, n] : fresh) {
          counts[word] = n;
          if (cached.generation == kb.generation) cached.counts[word] = n;
        }
      }
      // The index knows its size; counting the rows would cost more than the search.
      const int64_t total = index ? static_cast<int64_t>(index->size()) : repo::count_chunks(c, kb.id);
      std::stable_sort(terms.begin(), terms.end(),
                       [&](const std::string& a, const std::string& b) { return counts[a] < counts[b]; });
      std::string match;
      size_t used = 0;
      int64_t postings = 0;
      for (const auto& t : terms) {
        const int64_t n = counts[t];
        if (n == 0) continue;  // in no chunk
        if (used > 0 && n >= kMinCommonCount && n > static_cast<int64_t>(kCommonTermShare * static_cast<double>(total))) {
          continue;
        }
        if (postings + n > kPostingsBudget) break;  // sorted: every later word is as common
        postings += n;
        match += (match.empty() ? "" : " OR ") + quoted(t);
        if (++used == kMaxQueryTerms) break;
      }
      std::vector<int64_t> ids;
      if (match.empty()) return ids;
      // Over-fetch when a tag filter will drop some.
      const int64_t limit = allowed ? candidates * 4 : candidates;
      for (const auto& hit : repo::keyword_search(c, kb.id, match, limit)) {
        if (allowed && !allowed->allows(hit.id)) continue;
        ids.push_back(hit.id);
        if (static_cast<int>(ids.size()) == candidates) break;
      }
      return ids;
    });
  };
  // A large base: the keyword query runs on a thread of its own while the
  // vector index is searched here (each takes about a millisecond at
  // 100,000 chunks). Declared after what it reads: on an exception the
  // future's destructor waits for it before those go.
  std::future<std::vector<int64_t>> keywords;
  if (index && index->size() >= kParallelFrom && !terms.empty()) {
    keywords = std::async(std::launch::async, keyword_ids);
  }

  // Vectors: only when the provider's model is the one the index holds.
  std::vector<float> query_vector;
  std::vector<int64_t> by_vector;
  if (index) {
    auto provider = provider_of(kb);
    Embeddings q = embed_texts(*provider, {request.query}, "query", settings.timeout_ms);
    if (q.model == kb.embedding_model.value_or("") && q.dimension == index->dimension()) {
      query_vector.assign(q.values.begin(), q.values.end());
      std::function<bool(int64_t)> filter;
      if (allowed) filter = [&](int64_t id) { return allowed->allows(id); };
      for (const auto& hit : index->search(query_vector.data(), static_cast<size_t>(candidates), filter)) {
        by_vector.push_back(hit.id);
      }
      result.vector_search = true;
    } else {
      spdlog::debug("knowledge: {} answers with model {} but the index holds {}: keyword search only", kb.provider,
                    q.model, kb.embedding_model.value_or(""));
    }
  }

  const std::vector<int64_t> by_keyword = keywords.valid() ? keywords.get() : keyword_ids();

  // Reciprocal rank fusion.
  struct Fused {
    double score = 0;
    int vector_rank = 0, keyword_rank = 0;
  };
  std::unordered_map<int64_t, Fused> fused;
  for (size_t i = 0; i < by_vector.size(); ++i) {
    auto& f = fused[by_vector[i]];
    f.vector_rank = static_cast<int>(i + 1);
    f.score += settings.retrieval.vector_weight / (kRrfK + static_cast<double>(i + 1));
  }
  for (size_t i = 0; i < by_keyword.size(); ++i) {
    auto& f = fused[by_keyword[i]];
    f.keyword_rank = static_cast<int>(i + 1);
    f.score += settings.retrieval.keyword_weight / (kRrfK + static_cast<double>(i + 1));
  }
  std::vector<std::pair<int64_t, Fused>> ranked(fused.begin(), fused.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.second.score != b.second.score) return a.second.score > b.second.score;
    return a.first < b.first;
  });
  // A few more than k: a chunk deleted since the index saw it is skipped.
  const size_t want = std::min(ranked.size(), static_cast<size_t>(k) + 4);
  std::vector<int64_t> ids;
  for (size_t i = 0; i < want; ++i) ids.push_back(ranked[i].first);
  auto rows = db_.read([&](store::Connection& c) { return repo::load_chunks(c, kb.id, ids); });
  std::unordered_map<int64_t, repo::ChunkRow*> by_id;
  for (auto& r : rows) by_id[r.id] = &r;

  const int dim = query_vector.empty() ? 0 : static_cast<int>(query_vector.size());
  std::vector<float> stored(static_cast<size_t>(dim));
  for (size_t i = 0; i < want && static_cast<int>(result.hits.size()) < k; ++i) {
    auto it = by_id.find(ranked[i].first);
    if (it == by_id.end()) continue;
    repo::ChunkRow& row = *it->second;
    SearchHit h;
    h.chunk_id = row.id;
    h.document_id = row.document_id;
    h.document_name = row.document_name;
    h.document_title = row.document_title;
    h.document_tags = row.document_tags;
    h.heading = row.heading;
    h.text = std::move(row.text);
    h.position = row.position;
    h.page = row.page;
    h.score = ranked[i].second.score;
    h.vector_rank = ranked[i].second.vector_rank;
    h.keyword_rank = ranked[i].second.keyword_rank;
    if (dim > 0 && vector_from_bytes(row.embedding, dim, stored.data())) {
      h.similarity = std::max(0.0f, dot(query_vector.data(), stored.data(), dim));
    }
    result.best_similarity = std::max(result.best_similarity, h.similarity);
    result.hits.push_back(std::move(h));
  }
  result.took_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace sb::knowledge
