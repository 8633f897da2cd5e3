#pragma once
// Knowledge bases: per workspace, several bases, each with its AI provider
// (a plugin of kind "ai" and its config) and its settings. Documents
// (uploads of text, Markdown, HTML or PDF, or URLs fetched through the
// host's HTTP client) are checked and parsed when they arrive — a file that
// cannot be read is refused then, and nothing is stored — kept with their
// bytes (knowledge_sources) and ingested in the background: split into chunks, embedded in batches by the provider,
// and committed in one write job that replaces the document's previous
// chunks, so a search sees the old version or the new one, never a part.
// Each chunk is indexed twice, in the base's faiss index and in SQLite
// FTS5; search fuses both (reciprocal rank fusion). Answers retrieve,
// ask the provider with the passages and the recent conversation, and cite.
//
// Progress is kept on the document row (chunks done / total) and published
// on the bus: knowledge.document.progress / .ready / .failed / .deleted.
// A document left queued or processing by a crash is ingested again at
// start().
//
// Threads: public members are thread-safe. Ingestion runs on its own
// threads (`ingest_threads`: read, chunk, embed), hands each document's
// commit to the database writer without waiting, and one indexer thread
// takes the committed documents in order into the faiss index and publishes
// them; one maintenance thread saves changed indexes. Searches and answers
// run on the caller's thread.
#include "core/event_bus.hpp"
#include "knowledge/knowledge_indexes.hpp"
#include "knowledge/knowledge_settings.hpp"
#include "knowledge/knowledge_store.hpp"
#include "plugins/registry.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sb::knowledge {

struct KnowledgeOptions {
  std::filesystem::path index_dir;        // <data dir>/knowledge
  unsigned ingest_threads = 1;            // documents ingested at once
  size_t embed_batch = 64;                // chunks per embed call
  size_t max_document_bytes = 16u << 20;  // an upload or a fetched URL larger than this is refused
  size_t max_document_chunks = 50'000;    // a document that splits into more is refused
  int transient_retries = 3;              // a provider that is down: tries per document before it fails
  std::chrono::milliseconds retry_delay{2000};          // first wait before such a retry (doubles)
  std::chrono::milliseconds save_interval{5000};        // how often changed indexes are saved
  std::chrono::milliseconds compaction_quiet{2000};     // ingestion idle this long: keyword indexes merged
  std::chrono::milliseconds progress_interval{500};     // progress events and row updates, at most this often
  std::string default_provider = "ai-local";            // a base created without "provider"
  VectorIndexOptions index;
};

// One uploaded file.
struct DocumentUpload {
  std::string name;          // the file name; a document of this name in the base is replaced
  std::string content_type;  // may be empty: the name and the bytes tell
  std::string bytes;
};

struct SearchRequest {
  std::string query;
  int k = 0;                      // 0: the base's top_k
  std::vector<std::string> tags;  // only documents carrying every one of these tags
};

struct SearchHit {
  int64_t chunk_id = 0;
  std::string document_id, document_name, document_title, heading, text;
  nlohmann::json document_tags = nlohmann::json::array();
  int64_t position = 0, page = 0;
  double score = 0;       // the fused (RRF) score that orders results
  double similarity = 0;  // cosine of the question's and the chunk's vectors (0 when not comparable)
  int vector_rank = 0;    // 1-based rank in each index; 0 when that index did not find it
  int keyword_rank = 0;
};

struct SearchResult {
  std::vector<SearchHit> hits;
  double best_similarity = 0;
  bool vector_search = false;  // false when the base has no vectors yet or the provider's model changed
  double took_ms = 0;
};

struct AnswerRequest {
  std::string question;
  // The conversation before the question, oldest first: {"role": "user" |
  // "assistant", "content"}.
  nlohmann::json history = nlohmann::json::array();
  std::vector<std::string> tags;
  std::optional<double> min_score;              // overrides the base's retrieval.min_score
  std::optional<std::string> citation_style;    // overrides answer.citation_style
  std::optional<int> max_chunks;
};

struct Answer {
  bool answered = false;
  std::string text;            // with citations in the base's style; "" when not answered
  std::string reason;          // when not answered: why (no passage close enough, the provider found none, ...)
  nlohmann::json citations = nlohmann::json::array();  // [{"n","chunk_id","document_id","document_name","title","heading"}]
  SearchResult retrieved;
  nlohmann::json prompt;       // the messages sent to the provider (null when none were sent)
  std::string provider;        // plugin id
  std::string model;
  nlohmann::json usage;
};

// Document tags as the API and flows give them: an array of at most 20
// strings of 1 to 64 characters, duplicates dropped. Throws
// sb::Error(invalid_argument) naming "tags".
std::vector<std::string> checked_tags(const nlohmann::json& value);

class KnowledgeBases {
 public:
  KnowledgeBases(store::Database& db, plugins::PluginRegistry& registry, EventBus& bus, KnowledgeOptions options);
  ~KnowledgeBases();  // stop()
  KnowledgeBases(const KnowledgeBases&) = delete;
  KnowledgeBases& operator=(const KnowledgeBases&) = delete;

  // Provider configs keep their secrets sealed at rest: `seal` is applied to
  // a validated config before it is stored, `open` before it reaches the
  // plugin (the app wires tenancy's SecretBox here). Both default to the
  // identity. Set before start().
  using ConfigTransform = std::function<nlohmann::json(const std::string& plugin_id, const nlohmann::json& config)>;
  void set_config_codec(ConfigTransform seal, ConfigTransform open);

  // Queues the documents a previous run left unfinished, starts the
  // ingestion and maintenance threads.
  void start();
  // Stops the threads (a document being ingested is abandoned and stays
  // queued for the next start) and saves changed indexes.
  void stop();

  // ---- knowledge bases (every call is scoped to `workspace_id`; an id of
  // another workspace is not_found) ----
  //
  // `body`: {"name", "description"?, "provider"? (an AI plugin id),
  // "provider_config"? (validated by the plugin's schema, defaults filled),
  // "settings"?}. Throws invalid_argument (naming the field), conflict for
  // a name already used in the workspace.
  repo::KnowledgeBase create(const std::string& organization_id, const std::string& workspace_id,
                             const nlohmann::json& body);
  // By id, or by name when no base has that id.
  repo::KnowledgeBase get(const std::string& workspace_id, const std::string& id_or_name);
  store::Page<repo::KnowledgeBase> list(const std::string& workspace_id, const store::PageRequest& page);
  // The same fields as create, each optional; secrets sent as "***" keep the
  // stored value. A change of provider or provider_config queues every
  // document again (their vectors may come from another model now).
  repo::KnowledgeBase update(const std::string& workspace_id, const std::string& id, const nlohmann::json& patch);
  // Deletes the base, its documents, chunks and index file.
  void remove(const std::string& workspace_id, const std::string& id);
  // A base as the API shows it: config redacted, settings with defaults,
  // document and chunk counts, the index's kind and size.
  nlohmann::json describe(const repo::KnowledgeBase& kb);

  // ---- documents ----
  //
  // Checks and parses every file first (format, size, text): one that
  // cannot be used refuses the whole call with its reason (400, 413 or
  // 415 naming the file) and stores nothing. Then stores every file's bytes
  // with its document row in one write job and queues them; a file whose
  // name the base already holds replaces that document (an unchanged one
  // stays as it is).
  std::vector<repo::Document> add_files(const std::string& workspace_id, const std::string& kb_id,
                                        const std::vector<DocumentUpload>& files,
                                        const std::vector<std::string>& tags);
  // Queues one document per URL (http or https), fetched by the ingestion.
  std::vector<repo::Document> add_urls(const std::string& workspace_id, const std::string& kb_id,
                                       const std::vector<std::string>& urls, const std::vector<std::string>& tags);
  repo::Document document(const std::string& workspace_id, const std::string& kb_id, const std::string& document_id);
  store::Page<repo::Document> documents(const std::string& workspace_id, const std::string& kb_id,
                                        const std::optional<std::string>& status, const store::PageRequest& page);
  // The document's chunks in order (text, heading, position, page).
  std::vector<repo::ChunkRow> document_chunks(const std::string& workspace_id, const std::string& kb_id,
                                              const std::string& document_id);
  // Replaces the document's tags (at once: tags filter searches).
  repo::Document set_tags(const std::string& workspace_id, const std::string& kb_id, const std::string& document_id,
                          const std::vector<std::string>& tags);
  // Ingests the document again (a URL is fetched again).
  repo::Document reingest(const std::string& workspace_id, const std::string& kb_id, const std::string& document_id);
  // Removes the document and its chunks from both indexes.
  void remove_document(const std::string& workspace_id, const std::string& kb_id, const std::string& document_id);
  // {"documents": {"total", "queued", "processing", "ready", "failed"},
  //  "chunks": N, "progress": {"chunks_done", "chunks_total"}, "index": {...}}
  nlohmann::json status(const std::string& workspace_id, const std::string& kb_id);

  // ---- retrieval and answers (on the caller's thread) ----
  SearchResult search(const std::string& workspace_id, const std::string& kb_id, const SearchRequest& request);
  // Retrieves, and when a passage is close enough asks the provider; never
  // throws for what the provider does: a provider that fails, times out or
  // answers garbage throws plugins::PluginError (the caller decides the
  // fallback), an answer without a usable citation is answered = false.
  // `on_delta`, when given, receives the answer's pieces as the provider
  // streams them (before the citation style is applied).
  Answer answer(const std::string& workspace_id, const std::string& kb_id, const AnswerRequest& request,
                const std::function<void(std::string_view)>& on_delta = {});
  // Classifies `text` with the base's provider, or with the default
  // provider's default config when `kb_id` is empty.
  nlohmann::json classify(const std::string& workspace_id, const std::string& kb_id, const std::string& text,
                          const nlohmann::json& labels);

  // ---- for the flow runtime ----
  //
  // A flow's ctx.ai call (docs/flows.md): {"op": "reply" | "classify",
  // "knowledge_base", ...}. Never throws: failures come back as
  // {"error": "..."} for the flow to take its fallback.
  nlohmann::json flow_call(const std::string& workspace_id, const std::optional<std::string>& conversation_id,
                           const nlohmann::json& request);

  // Waits until no document is queued or being ingested (tests, the CLI's
  // offline use). False on timeout.
  bool wait_until_idle(std::chrono::milliseconds timeout);
  // Waits until, besides, the keyword indexes that took commits are merged
  // (which starts once ingestion has been idle for compaction_quiet).
  bool wait_until_compacted(std::chrono::milliseconds timeout);

  KnowledgeIndexes& indexes() { return *indexes_; }
  const KnowledgeOptions& options() const { return options_; }

 private:
  struct Job {
    std::string document_id;
    int attempt = 0;
    std::chrono::steady_clock::time_point not_before;
  };
  class Progress;

  repo::KnowledgeBase require_base(const std::string& workspace_id, const std::string& id);
  std::shared_ptr<plugins::AiInstance> provider_of(const repo::KnowledgeBase& kb);
  std::shared_ptr<plugins::AiInstance> default_provider();
  void forget_provider(const std::string& kb_id);
  nlohmann::json checked_provider_config(const std::string& provider, const nlohmann::json& config,
                                         const nlohmann::json* stored_sealed);

  void enqueue(const std::string& document_id, int attempt = 0,
               std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  // What an ingestion hands to the writer and then the indexer thread.
  struct PendingCommit {
    repo::Document doc;
    std::string kb_id, model, started_sha, ingested_sha;
    int dimension = 0;
    std::vector<repo::NewChunk> rows;
    std::vector<float> vectors;
    std::string fetched;  // a URL's bytes, stored with the chunks
    // Filled by the write job:
    bool applied = false;
    std::vector<int64_t> removed;
    int64_t first = 0, last = 0, generation = 0;
    std::vector<std::string> requeued;
    std::exception_ptr error;
  };
  // search() and answer() for a base row the caller has read already.
  SearchResult search_base(const repo::KnowledgeBase& kb, const SearchRequest& request);
  Answer answer_base(const repo::KnowledgeBase& kb, const AnswerRequest& request,
                     const std::function<void(std::string_view)>& on_delta = {});
  void ingest_loop();
  // The write job of a document's new chunks (on the writer thread), and
  // what follows its commit (on the indexer thread).
  static void commit_chunks(store::Connection& c, PendingCommit& p);
  void finish_commit(PendingCommit& p);
  void index_loop();
  // The document's ingestion ended: it is no longer in flight, and runs
  // again (now, or as `retry` says) when it was queued meanwhile.
  void finish_job(const std::string& document_id, std::optional<Job> retry);
  void maintenance_loop();
  // Merges the keyword index of one base of to_compact_ in small write jobs
  // while ingestion is idle (called with queue_mu_ held through `lock`).
  void compact_one(std::unique_lock<std::mutex>& lock);
  // The base's keyword index took commits: merge it when ingestion is idle.
  void schedule_compaction(const std::string& kb_id);
  // One document: read, chunked, embedded, then its commit handed to the
  // writer (true: the indexer thread finishes it). Throws what made it fail
  // before that.
  bool ingest(const std::string& document_id, const std::atomic<bool>& cancelled);
  void fail_document(const std::string& document_id, const std::string& reason);
  void publish(const repo::Document& d, const std::string& type, nlohmann::json extra = nlohmann::json::object());

  store::Database& db_;
  plugins::PluginRegistry& registry_;
  EventBus& bus_;
  const KnowledgeOptions options_;
  std::unique_ptr<KnowledgeIndexes> indexes_;
  ConfigTransform seal_, open_;

  std::mutex providers_mu_;
  // kb id -> (the base's updated_at when created, instance)
  std::map<std::string, std::pair<int64_t, std::shared_ptr<plugins::AiInstance>>> providers_;
  std::shared_ptr<plugins::AiInstance> default_provider_;

  // How many chunks of a base hold a word (capped), for the base's
  // generation: counting a common word is much of a keyword query's cost,
  // and questions to one base share their words. Cleared when the
  // generation moves (a word's count may have changed).
  struct WordCounts {
    int64_t generation = -1;
    std::unordered_map<std::string, int64_t> counts;
  };
  std::mutex word_counts_mu_;
  std::map<std::string, WordCounts> word_counts_;  // by kb id

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Job> queue_;
  std::set<std::string> queued_;     // document ids in queue_
  std::set<std::string> in_flight_;  // document ids being ingested
  std::set<std::string> requeue_;    // in flight, and queued again meanwhile (a new upload)
  std::set<std::string> to_compact_;  // kb ids whose keyword index took commits since it was merged
  bool compacting_ = false;           // the maintenance thread is merging one
  std::chrono::steady_clock::time_point last_ingested_{};  // when a document's ingestion last ended
  bool stopping_ = false;
  bool started_ = false;
  std::atomic<bool> cancel_{false};
  std::vector<std::thread> ingest_threads_;
  std::thread maintenance_thread_;
  std::condition_variable maintenance_cv_;

  std::mutex index_mu_;  // guards index_tasks_, pending_commits_, index_stopping_
  std::condition_variable index_cv_;
  std::deque<std::shared_ptr<PendingCommit>> index_tasks_;  // committed (or failed), to finish in order
  size_t pending_commits_ = 0;  // handed to the writer, not yet back
  bool index_stopping_ = false;
  std::thread index_thread_;
};

}  // namespace sb::knowledge
