#pragma once
// The knowledge tables of migration 011: knowledge bases, their documents,
// the chunks with their embeddings, and the FTS5 keyword index the chunk
// triggers keep. Each function runs on the Connection it is given — a
// write job's for writes, a reader's for reads — and holds no state. Every
// lookup an API caller can reach filters on the workspace.
#include "store/database.hpp"
#include "store/page.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sb::knowledge::repo {

struct KnowledgeBase {
  std::string id;  // "kb_..."
  std::string organization_id;
  std::string workspace_id;
  std::string name;
  std::string description;
  std::string provider;                                       // AI plugin id
  nlohmann::json provider_config = nlohmann::json::object();  // secrets sealed
  nlohmann::json settings = nlohmann::json::object();         // as stored (defaults not filled)
  std::optional<std::string> embedding_model;
  std::optional<int64_t> dimension;
  int64_t generation = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Document {
  std::string id;  // "kdoc_..."
  std::string organization_id;
  std::string workspace_id;
  std::string knowledge_base_id;
  std::string name;
  std::string source = "upload";  // upload | url
  std::optional<std::string> url;
  std::optional<std::string> format;
  std::optional<std::string> content_type;
  std::optional<std::string> content_sha256;
  int64_t size_bytes = 0;
  std::string title;
  nlohmann::json tags = nlohmann::json::array();
  std::string status = "queued";  // queued | processing | ready | failed
  std::optional<std::string> error;
  int64_t chunks_total = 0;
  int64_t chunks_done = 0;
  std::optional<std::string> indexed_sha256;
  int64_t chunk_count = 0;
  std::optional<std::string> embedding_model;  // of its indexed chunks
  std::optional<int64_t> first_chunk_id;
  std::optional<int64_t> last_chunk_id;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<int64_t> ingested_at;
};

// A chunk to insert; `embedding` is dimension float32s, little-endian.
struct NewChunk {
  int64_t position = 0;
  std::string heading;
  int64_t page = 0;
  std::string text;
  std::string embedding;
};

// A stored chunk with what a search result shows of its document.
struct ChunkRow {
  int64_t id = 0;
  std::string document_id;
  std::string document_name;
  std::string document_title;
  nlohmann::json document_tags = nlohmann::json::array();
  int64_t position = 0;
  std::string heading;
  int64_t page = 0;
  std::string text;
  std::string embedding;
};

// --- knowledge bases
// Throws sb::Error(conflict) when the workspace has a base of that name.
// Creates the base's keyword index (keyword_table) too.
void insert_base(store::Connection& c, const KnowledgeBase& kb);
std::optional<KnowledgeBase> find_base(store::Connection& c, const std::string& workspace_id, const std::string& id);
std::optional<KnowledgeBase> find_base_by_name(store::Connection& c, const std::string& workspace_id,
                                               const std::string& name);
// Any base by id, for the engine (ingestion, index rebuilds).
std::optional<KnowledgeBase> find_base_any(store::Connection& c, const std::string& id);
store::Page<KnowledgeBase> list_bases(store::Connection& c, const std::string& workspace_id,
                                      const store::PageRequest& page);
// Writes name, description, provider, provider_config, settings and
// updated_at. Throws sb::Error(conflict) for a name taken by another base.
void update_base(store::Connection& c, const KnowledgeBase& kb);
// Records the embedding model and dimension the stored vectors come from.
void set_embedding_model(store::Connection& c, const std::string& kb_id, const std::string& model, int64_t dimension);
// Bumps the base's generation and returns the new one.
int64_t bump_generation(store::Connection& c, const std::string& kb_id, int64_t now);
// Deletes the base with its documents, chunks and keyword index.
void delete_base(store::Connection& c, const std::string& kb_id);

// --- documents
void insert_document(store::Connection& c, const Document& d);
std::optional<Document> find_document(store::Connection& c, const std::string& workspace_id,
                                      const std::string& kb_id, const std::string& id);
std::optional<Document> find_document_by_name(store::Connection& c, const std::string& kb_id,
                                              const std::string& name);
// Any document by id, for the engine.
std::optional<Document> find_document_any(store::Connection& c, const std::string& id);
// A base's documents, newest first; `status` filters when given.
store::Page<Document> list_documents(store::Connection& c, const std::string& workspace_id, const std::string& kb_id,
                                     const std::optional<std::string>& status, const store::PageRequest& page);
// Every document of a base (id order), for a re-ingestion of all of them.
std::vector<Document> all_documents(store::Connection& c, const std::string& kb_id);
// Writes every column but the ids and created_at.
void update_document(store::Connection& c, const Document& d);
// Processing, progress reset, unless a newer upload changed the row's
// content_sha256 since the ingestion read it.
void mark_processing(store::Connection& c, const std::string& document_id,
                     const std::optional<std::string>& content_sha256, int64_t now);
// Queued again after a transient failure, `note` saying why.
void mark_retrying(store::Connection& c, const std::string& document_id, const std::string& note, int64_t now);
void set_tags(store::Connection& c, const std::string& document_id, const nlohmann::json& tags, int64_t now);
void set_progress(store::Connection& c, const std::string& document_id, int64_t done, int64_t total, int64_t now);
// Documents left queued or processing (a crash or a stop), oldest first.
std::vector<Document> unfinished_documents(store::Connection& c);
// Deletes the document, its chunks and its source bytes.
void delete_document(store::Connection& c, const std::string& document_id);
// The bytes a document is ingested from (as uploaded or fetched).
void put_source(store::Connection& c, const std::string& document_id, std::string_view bytes);
std::optional<std::string> get_source(store::Connection& c, const std::string& document_id);

struct DocumentCounts {
  std::map<std::string, int64_t> by_status;  // status -> documents
  int64_t documents = 0;
  int64_t chunks = 0;         // indexed chunks
  int64_t chunks_total = 0;   // of documents being ingested
  int64_t chunks_done = 0;
};
DocumentCounts document_counts(store::Connection& c, const std::string& kb_id);

// --- chunks
// Inserts `chunks` of a document, into the keyword index too; returns the ids of the first and last
// (contiguous: a write job is the only writer).
std::pair<int64_t, int64_t> insert_chunks(store::Connection& c, const std::string& workspace_id,
                                          const std::string& kb_id, const std::string& document_id,
                                          const std::vector<NewChunk>& chunks);
std::vector<int64_t> chunk_ids_of_document(store::Connection& c, const std::string& document_id);
void delete_chunks_of_document(store::Connection& c, const std::string& document_id);
// The chunks with these ids that belong to the base, with their documents.
std::vector<ChunkRow> load_chunks(store::Connection& c, const std::string& kb_id, const std::vector<int64_t>& ids);
// The chunks of one document in order (text only, no embeddings).
std::vector<ChunkRow> document_chunks(store::Connection& c, const std::string& kb_id, const std::string& document_id);

struct StoredVectors {
  std::vector<int64_t> ids;
  std::string embeddings;  // ids.size() vectors back to back
};
// The base's chunk vectors with id > after_id, in id order, at most
// `limit`, of documents whose chunks were embedded by `model`.
StoredVectors scan_vectors(store::Connection& c, const std::string& kb_id, const std::string& model, int64_t after_id,
                           int64_t limit);
// Queues every document of the base whose chunks were embedded by another
// model than `model` (or not at all) and is not queued already; returns them.
std::vector<std::string> requeue_other_models(store::Connection& c, const std::string& kb_id, const std::string& model,
                                              int64_t now);
int64_t count_chunks(store::Connection& c, const std::string& kb_id);

// Keyword search: chunk ids of the base matching the FTS5 expression
// `match` (the caller builds it from safe, quoted terms), best bm25 first.
struct KeywordHit {
  int64_t id;
  double rank;  // bm25: lower is better
};
std::vector<KeywordHit> keyword_search(store::Connection& c, const std::string& kb_id, const std::string& match,
                                       int64_t limit);
// How many chunks of the base hold each word (as FTS5 matches it: stemmed),
// counted up to `cap`.
std::map<std::string, int64_t> term_document_counts(store::Connection& c, const std::string& kb_id,
                                                    const std::vector<std::string>& words, int64_t cap);

// The base's keyword index: an FTS5 table (heading, text; rowid = chunk id).
std::string keyword_table(const std::string& kb_id);
// Creates it if missing (insert_base does).
void create_keyword_index(store::Connection& c, const std::string& kb_id);
// One step of merging the keyword index's segments towards one (about
// `pages` pages written): each commit adds a segment, and a word is looked
// up in every segment, so a base searched after many commits is slower
// until they are merged. False when there was nothing left to merge (or
// the base is gone).
bool merge_keyword_index(store::Connection& c, const std::string& kb_id, int pages);

nlohmann::json to_json(const Document& d);

}  // namespace sb::knowledge::repo
