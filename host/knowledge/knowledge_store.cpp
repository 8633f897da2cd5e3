#include "knowledge/knowledge_store.hpp"

#include "core/error.hpp"
#include "store/keyset.hpp"

#include <algorithm>
#include <cctype>

namespace sb::knowledge::repo {
namespace {

using nlohmann::json;
using store::Connection;
using store::Params;
using store::Row;

json opt(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

std::string blob_of(const Row& r, std::string_view column) {
  const store::Value& v = r.at(column);
  if (const auto* b = std::get_if<store::Blob>(&v)) return b->bytes;
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return {};
}

constexpr const char* kBaseColumns =
    "id, organization_id, workspace_id, name, description, provider, provider_config_json, settings_json, "
    "embedding_model, dimension, generation, created_at, updated_at";

KnowledgeBase base_of(const Row& r) {
  KnowledgeBase kb;
  kb.id = r.text("id");
  kb.organization_id = r.text("organization_id");
  kb.workspace_id = r.text("workspace_id");
  kb.name = r.text("name");
  kb.description = r.text("description");
  kb.provider = r.text("provider");
  kb.provider_config = r.json("provider_config_json");
  kb.settings = r.json("settings_json");
  kb.embedding_model = r.optional_text("embedding_model");
  kb.dimension = r.optional_integer("dimension");
  kb.generation = r.integer("generation");
  kb.created_at = r.integer("created_at");
  kb.updated_at = r.integer("updated_at");
  return kb;
}

constexpr const char* kDocumentColumns =
    "id, organization_id, workspace_id, knowledge_base_id, name, source, url, format, content_type, "
    "content_sha256, size_bytes, title, tags_json, status, error, chunks_total, chunks_done, indexed_sha256, "
    "chunk_count, embedding_model, first_chunk_id, last_chunk_id, created_at, updated_at, ingested_at";

Document document_of(const Row& r) {
  Document d;
  d.id = r.text("id");
  d.organization_id = r.text("organization_id");
  d.workspace_id = r.text("workspace_id");
  d.knowledge_base_id = r.text("knowledge_base_id");
  d.name = r.text("name");
  d.source = r.text("source");
  d.url = r.optional_text("url");
  d.format = r.optional_text("format");
  d.content_type = r.optional_text("content_type");
  d.content_sha256 = r.optional_text("content_sha256");
  d.size_bytes = r.integer("size_bytes");
  d.title = r.text("title");
  d.tags = r.json("tags_json");
  if (!d.tags.is_array()) d.tags = json::array();
  d.status = r.text("status");
  d.error = r.optional_text("error");
  d.chunks_total = r.integer("chunks_total");
  d.chunks_done = r.integer("chunks_done");
  d.indexed_sha256 = r.optional_text("indexed_sha256");
  d.chunk_count = r.integer("chunk_count");
  d.embedding_model = r.optional_text("embedding_model");
  d.first_chunk_id = r.optional_integer("first_chunk_id");
  d.last_chunk_id = r.optional_integer("last_chunk_id");
  d.created_at = r.integer("created_at");
  d.updated_at = r.integer("updated_at");
  d.ingested_at = r.optional_integer("ingested_at");
  return d;
}

std::string select_bases(const char* tail) {
  return std::string("SELECT ").append(kBaseColumns).append(" FROM knowledge_bases ").append(tail);
}

std::string select_documents(const char* tail) {
  return std::string("SELECT ").append(kDocumentColumns).append(" FROM knowledge_documents ").append(tail);
}

bool name_taken(Connection& c, const KnowledgeBase& kb) {
  return c
      .query_one("SELECT 1 FROM knowledge_bases WHERE workspace_id = ? AND name = ? AND id <> ?",
                 {kb.workspace_id, kb.name, kb.id})
      .has_value();
}

Error name_conflict(const std::string& name) {
  return Error(ErrorCode::conflict, "this workspace already has a knowledge base named \"" + name + "\"");
}

}  // namespace

std::string keyword_table(const std::string& kb_id) {
  std::string out = "knowledge_fts_";
  for (char ch : kb_id) {
    if (ch == '_') continue;
    // Ids are generated ("kb_" and a ULID), but a table name is spliced
    // into SQL: refuse anything else outright.
    if (!std::isalnum(static_cast<unsigned char>(ch))) {
      throw Error(ErrorCode::internal, "knowledge base id \"" + kb_id + "\" cannot name a keyword index");
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return out;
}

void create_keyword_index(Connection& c, const std::string& kb_id) {
  const std::string t = keyword_table(kb_id);
  c.execute("CREATE VIRTUAL TABLE IF NOT EXISTS " + t +
            " USING fts5(heading, text, content = '', tokenize = 'porter unicode61 remove_diacritics 2')");
}

// ---- knowledge bases

void insert_base(Connection& c, const KnowledgeBase& kb) {
  if (name_taken(c, kb)) throw name_conflict(kb.name);
  c.execute(
      "INSERT INTO knowledge_bases (id, organization_id, workspace_id, name, description, provider, "
      "provider_config_json, settings_json, embedding_model, dimension, generation, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {kb.id, kb.organization_id, kb.workspace_id, kb.name, kb.description, kb.provider, kb.provider_config.dump(),
       kb.settings.dump(), kb.embedding_model, kb.dimension, kb.generation, kb.created_at, kb.updated_at});
  create_keyword_index(c, kb.id);
}

std::optional<KnowledgeBase> find_base(Connection& c, const std::string& workspace_id, const std::string& id) {
  auto row = c.query_one(select_bases("WHERE workspace_id = ? AND id = ?"), {workspace_id, id});
  if (!row) return std::nullopt;
  return base_of(*row);
}

std::optional<KnowledgeBase> find_base_by_name(Connection& c, const std::string& workspace_id,
                                               const std::string& name) {
  auto row = c.query_one(select_bases("WHERE workspace_id = ? AND name = ?"), {workspace_id, name});
  if (!row) return std::nullopt;
  return base_of(*row);
}

std::optional<KnowledgeBase> find_base_any(Connection& c, const std::string& id) {
  auto row = c.query_one(select_bases("WHERE id = ?"), {id});
  if (!row) return std::nullopt;
  return base_of(*row);
}

store::Page<KnowledgeBase> list_bases(Connection& c, const std::string& workspace_id,
                                      const store::PageRequest& page) {
  std::string sql = select_bases("WHERE workspace_id = ?");
  Params params = {workspace_id};
  store::keyset::append_page_desc(sql, params, "created_at", "id", page);
  std::vector<KnowledgeBase> rows;
  for (const Row& r : c.query(sql, params)) rows.push_back(base_of(r));
  return store::keyset::cut(std::move(rows), page,
                            [](const KnowledgeBase& kb) { return store::Cursor{kb.created_at, kb.id}; });
}

void update_base(Connection& c, const KnowledgeBase& kb) {
  if (name_taken(c, kb)) throw name_conflict(kb.name);
  c.execute(
      "UPDATE knowledge_bases SET name = ?, description = ?, provider = ?, provider_config_json = ?, "
      "settings_json = ?, updated_at = ? WHERE id = ?",
      {kb.name, kb.description, kb.provider, kb.provider_config.dump(), kb.settings.dump(), kb.updated_at, kb.id});
}

void set_embedding_model(Connection& c, const std::string& kb_id, const std::string& model, int64_t dimension) {
  c.execute("UPDATE knowledge_bases SET embedding_model = ?, dimension = ? WHERE id = ?", {model, dimension, kb_id});
}

int64_t bump_generation(Connection& c, const std::string& kb_id, int64_t now) {
  c.execute("UPDATE knowledge_bases SET generation = generation + 1, updated_at = ? WHERE id = ?", {now, kb_id});
  auto row = c.query_one("SELECT generation FROM knowledge_bases WHERE id = ?", {kb_id});
  return row ? row->integer("generation") : 0;
}

void delete_base(Connection& c, const std::string& kb_id) {
  const std::string t = keyword_table(kb_id);
  c.execute("DROP TABLE IF EXISTS " + t);
  c.execute("DELETE FROM knowledge_chunks WHERE knowledge_base_id = ?", {kb_id});
  c.execute("DELETE FROM knowledge_sources WHERE document_id IN (SELECT id FROM knowledge_documents WHERE "
            "knowledge_base_id = ?)",
            {kb_id});
  c.execute("DELETE FROM knowledge_documents WHERE knowledge_base_id = ?", {kb_id});
  c.execute("DELETE FROM knowledge_bases WHERE id = ?", {kb_id});
}

// ---- documents

void insert_document(Connection& c, const Document& d) {
  c.execute(
      "INSERT INTO knowledge_documents (id, organization_id, workspace_id, knowledge_base_id, name, source, url, "
      "format, content_type, content_sha256, size_bytes, title, tags_json, status, error, chunks_total, "
      "chunks_done, indexed_sha256, chunk_count, embedding_model, first_chunk_id, last_chunk_id, created_at, updated_at, "
      "ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {d.id, d.organization_id, d.workspace_id, d.knowledge_base_id, d.name, d.source, d.url, d.format,
       d.content_type, d.content_sha256, d.size_bytes, d.title, d.tags.dump(), d.status, d.error,
       d.chunks_total, d.chunks_done, d.indexed_sha256, d.chunk_count, d.embedding_model, d.first_chunk_id,
       d.last_chunk_id, d.created_at, d.updated_at, d.ingested_at});
}

std::optional<Document> find_document(Connection& c, const std::string& workspace_id, const std::string& kb_id,
                                      const std::string& id) {
  auto row = c.query_one(select_documents("WHERE workspace_id = ? AND knowledge_base_id = ? AND id = ?"),
                         {workspace_id, kb_id, id});
  if (!row) return std::nullopt;
  return document_of(*row);
}

std::optional<Document> find_document_by_name(Connection& c, const std::string& kb_id, const std::string& name) {
  auto row = c.query_one(select_documents("WHERE knowledge_base_id = ? AND name = ?"), {kb_id, name});
  if (!row) return std::nullopt;
  return document_of(*row);
}

std::optional<Document> find_document_any(Connection& c, const std::string& id) {
  auto row = c.query_one(select_documents("WHERE id = ?"), {id});
  if (!row) return std::nullopt;
  return document_of(*row);
}

store::Page<Document> list_documents(Connection& c, const std::string& workspace_id, const std::string& kb_id,
                                     const std::optional<std::string>& status, const store::PageRequest& page) {
  std::string sql = select_documents("WHERE workspace_id = ? AND knowledge_base_id = ?");
  Params params = {workspace_id, kb_id};
  if (status) {
    sql += " AND status = ?";
    params.emplace_back(*status);
  }
  store::keyset::append_page_desc(sql, params, "created_at", "id", page);
  std::vector<Document> rows;
  for (const Row& r : c.query(sql, params)) rows.push_back(document_of(r));
  return store::keyset::cut(std::move(rows), page,
                            [](const Document& d) { return store::Cursor{d.created_at, d.id}; });
}

std::vector<Document> all_documents(Connection& c, const std::string& kb_id) {
  std::vector<Document> out;
  for (const Row& r : c.query(select_documents("WHERE knowledge_base_id = ? ORDER BY id"), {kb_id}))
    out.push_back(document_of(r));
  return out;
}

void update_document(Connection& c, const Document& d) {
  c.execute(
      "UPDATE knowledge_documents SET name = ?, source = ?, url = ?, format = ?, content_type = ?, "
      "content_sha256 = ?, size_bytes = ?, title = ?, tags_json = ?, status = ?, error = ?, chunks_total = ?, "
      "chunks_done = ?, indexed_sha256 = ?, chunk_count = ?, embedding_model = ?, first_chunk_id = ?, "
      "last_chunk_id = ?, updated_at = ?, ingested_at = ? WHERE id = ?",
      {d.name, d.source, d.url, d.format, d.content_type, d.content_sha256, d.size_bytes, d.title,
       d.tags.dump(), d.status, d.error, d.chunks_total, d.chunks_done, d.indexed_sha256, d.chunk_count,
       d.embedding_model, d.first_chunk_id, d.last_chunk_id, d.updated_at, d.ingested_at, d.id});
}

void set_progress(Connection& c, const std::string& document_id, int64_t done, int64_t total, int64_t now) {
  c.execute(
      "UPDATE knowledge_documents SET chunks_done = ?, chunks_total = ?, updated_at = ? "
      "WHERE id = ? AND status = 'processing'",
      {done, total, now, document_id});
}

void mark_processing(Connection& c, const std::string& document_id, const std::optional<std::string>& content_sha256,
                     int64_t now) {
  c.execute("UPDATE knowledge_documents SET status = 'processing', chunks_done = 0, updated_at = ? WHERE id = ? "
            "AND content_sha256 IS ?",
            {now, document_id, content_sha256});
}

void mark_retrying(Connection& c, const std::string& document_id, const std::string& note, int64_t now) {
  c.execute("UPDATE knowledge_documents SET status = 'queued', error = ?, updated_at = ? WHERE id = ?",
            {note, now, document_id});
}

void set_tags(Connection& c, const std::string& document_id, const nlohmann::json& tags, int64_t now) {
  c.execute("UPDATE knowledge_documents SET tags_json = ?, updated_at = ? WHERE id = ?", {tags.dump(), now, document_id});
}

std::vector<Document> unfinished_documents(Connection& c) {
  std::vector<Document> out;
  for (const Row& r : c.query(select_documents("WHERE status IN ('queued', 'processing') ORDER BY updated_at, id")))
    out.push_back(document_of(r));
  return out;
}

void delete_document(Connection& c, const std::string& document_id) {
  delete_chunks_of_document(c, document_id);
  c.execute("DELETE FROM knowledge_sources WHERE document_id = ?", {document_id});
  c.execute("DELETE FROM knowledge_documents WHERE id = ?", {document_id});
}

void put_source(Connection& c, const std::string& document_id, std::string_view bytes) {
  c.execute("INSERT INTO knowledge_sources (document_id, bytes) VALUES (?, ?) "
            "ON CONFLICT (document_id) DO UPDATE SET bytes = excluded.bytes",
            {document_id, store::Blob{std::string(bytes)}});
}

std::optional<std::string> get_source(Connection& c, const std::string& document_id) {
  auto row = c.query_one("SELECT bytes FROM knowledge_sources WHERE document_id = ?", {document_id});
  if (!row) return std::nullopt;
  return blob_of(*row, "bytes");
}

DocumentCounts document_counts(Connection& c, const std::string& kb_id) {
  DocumentCounts out;
  for (const Row& r : c.query(
           "SELECT status, COUNT(*) AS n, SUM(chunk_count) AS chunks, SUM(chunks_total) AS total, "
           "SUM(chunks_done) AS done FROM knowledge_documents WHERE knowledge_base_id = ? GROUP BY status",
           {kb_id})) {
    const std::string status = r.text("status");
    out.by_status[status] = r.integer("n");
    out.documents += r.integer("n");
    out.chunks += r.integer("chunks");
    if (status == "queued" || status == "processing") {
      out.chunks_total += r.integer("total");
      out.chunks_done += r.integer("done");
    }
  }
  return out;
}

// ---- chunks

std::pair<int64_t, int64_t> insert_chunks(Connection& c, const std::string& workspace_id, const std::string& kb_id,
                                          const std::string& document_id, const std::vector<NewChunk>& chunks) {
  int64_t first = 0, last = 0;
  const std::string keywords = "INSERT INTO " + keyword_table(kb_id) + " (rowid, heading, text) VALUES (?, ?, ?)";
  for (const NewChunk& ch : chunks) {
    c.execute(
        "INSERT INTO knowledge_chunks (workspace_id, knowledge_base_id, document_id, position, heading, page, text, "
        "embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {workspace_id, kb_id, document_id, ch.position, ch.heading, ch.page, ch.text, store::Blob{ch.embedding}});
    last = c.last_insert_id();
    if (first == 0) first = last;
    c.execute(keywords, {last, ch.heading, ch.text});
  }
  return {first, last};
}

std::vector<int64_t> chunk_ids_of_document(Connection& c, const std::string& document_id) {
  std::vector<int64_t> ids;
  for (const Row& r : c.query("SELECT id FROM knowledge_chunks WHERE document_id = ? ORDER BY position", {document_id}))
    ids.push_back(r.integer("id"));
  return ids;
}

void delete_chunks_of_document(Connection& c, const std::string& document_id) {
  // A contentless FTS5 table forgets a row only when handed its values.
  for (const Row& r : c.query("SELECT id, knowledge_base_id, heading, text FROM knowledge_chunks WHERE document_id = ?",
                              {document_id})) {
    const std::string t = keyword_table(r.text("knowledge_base_id"));
    c.execute("INSERT INTO " + t + " (" + t + ", rowid, heading, text) VALUES ('delete', ?, ?, ?)",
              {r.integer("id"), r.text("heading"), r.text("text")});
  }
  c.execute("DELETE FROM knowledge_chunks WHERE document_id = ?", {document_id});
}

std::vector<ChunkRow> load_chunks(Connection& c, const std::string& kb_id, const std::vector<int64_t>& ids) {
  std::vector<ChunkRow> out;
  if (ids.empty()) return out;
  std::string sql =
      "SELECT k.id, k.document_id, d.name AS document_name, d.title AS document_title, d.tags_json, k.position, "
      "k.heading, k.page, k.text, k.embedding FROM knowledge_chunks k JOIN knowledge_documents d ON d.id = "
      "k.document_id WHERE k.knowledge_base_id = ? AND k.id IN (";
  Params params = {kb_id};
  for (size_t i = 0; i < ids.size(); ++i) {
    sql += i == 0 ? "?" : ", ?";
    params.emplace_back(ids[i]);
  }
  sql += ")";
  for (const Row& r : c.query(sql, params)) {
    ChunkRow ch;
    ch.id = r.integer("id");
    ch.document_id = r.text("document_id");
    ch.document_name = r.text("document_name");
    ch.document_title = r.text("document_title");
    ch.document_tags = r.json("tags_json");
    ch.position = r.integer("position");
    ch.heading = r.text("heading");
    ch.page = r.integer("page");
    ch.text = r.text("text");
    ch.embedding = blob_of(r, "embedding");
    out.push_back(std::move(ch));
  }
  return out;
}

std::vector<ChunkRow> document_chunks(Connection& c, const std::string& kb_id, const std::string& document_id) {
  std::vector<ChunkRow> out;
  for (const Row& r : c.query("SELECT id, document_id, position, heading, page, text FROM knowledge_chunks "
                              "WHERE knowledge_base_id = ? AND document_id = ? ORDER BY position",
                              {kb_id, document_id})) {
    ChunkRow ch;
    ch.id = r.integer("id");
    ch.document_id = r.text("document_id");
    ch.position = r.integer("position");
    ch.heading = r.text("heading");
    ch.page = r.integer("page");
    ch.text = r.text("text");
    out.push_back(std::move(ch));
  }
  return out;
}

StoredVectors scan_vectors(Connection& c, const std::string& kb_id, const std::string& model, int64_t after_id,
                           int64_t limit) {
  StoredVectors out;
  for (const Row& r : c.query("SELECT k.id, k.embedding FROM knowledge_chunks k JOIN knowledge_documents d ON d.id = "
                              "k.document_id WHERE k.knowledge_base_id = ? AND k.id > ? AND d.embedding_model = ? "
                              "ORDER BY k.id LIMIT ?",
                              {kb_id, after_id, model, limit})) {
    out.ids.push_back(r.integer("id"));
    out.embeddings += blob_of(r, "embedding");
  }
  return out;
}

std::vector<std::string> requeue_other_models(Connection& c, const std::string& kb_id, const std::string& model,
                                              int64_t now) {
  std::vector<std::string> ids;
  for (const Row& r : c.query("SELECT id FROM knowledge_documents WHERE knowledge_base_id = ? AND status IN "
                              "('ready', 'failed') AND (embedding_model IS NULL OR embedding_model <> ?)",
                              {kb_id, model}))
    ids.push_back(r.text("id"));
  for (const auto& id : ids) {
    c.execute("UPDATE knowledge_documents SET status = 'queued', error = NULL, chunks_done = 0, updated_at = ? "
              "WHERE id = ?",
              {now, id});
  }
  return ids;
}

int64_t count_chunks(Connection& c, const std::string& kb_id) {
  auto row = c.query_one("SELECT COUNT(*) AS n FROM knowledge_chunks WHERE knowledge_base_id = ?", {kb_id});
  return row ? row->integer("n") : 0;
}

std::vector<KeywordHit> keyword_search(Connection& c, const std::string& kb_id, const std::string& match,
                                       int64_t limit) {
  std::vector<KeywordHit> out;
  const std::string t = keyword_table(kb_id);
  for (const Row& r : c.query("SELECT rowid AS id, bm25(" + t + ", 2.0, 1.0) AS score FROM " + t + " WHERE " + t +
                                  " MATCH ? ORDER BY score LIMIT ?",
                              {match, limit})) {
    out.push_back(KeywordHit{r.integer("id"), r.real("score")});
  }
  return out;
}

bool merge_keyword_index(Connection& c, const std::string& kb_id, int pages) {
  const std::string t = keyword_table(kb_id);
  if (!c.query_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", {t})) return false;  // deleted
  // FTS5's 'merge' with a negative page count merges any two segments of
  // a level (as 'optimize' does, in steps); it changed fewer than 2 rows
  // when there was nothing left to merge.
  const int64_t before = c.query_one("SELECT total_changes() AS n")->integer("n");
  c.execute("INSERT INTO " + t + " (" + t + ", rank) VALUES ('merge', ?)", {int64_t{-pages}});
  return c.query_one("SELECT total_changes() AS n")->integer("n") - before >= 2;
}

std::map<std::string, int64_t> term_document_counts(Connection& c, const std::string& kb_id,
                                                    const std::vector<std::string>& words, int64_t cap) {
  std::map<std::string, int64_t> out;
  // The word matched alone (FTS5 stems it as it stemmed the text), its rows
  // counted up to `cap` in rowid order without scoring: the cost is bounded
  // by the cap, where fts5vocab would walk a common word's every row.
  const std::string t = keyword_table(kb_id);
  const std::string sql =
      "SELECT COUNT(*) AS n FROM (SELECT rowid FROM " + t + " WHERE " + t + " MATCH ? LIMIT ?)";
  for (const auto& word : words) {
    std::string phrase = "\"";
    for (char ch : word) {
      if (ch == '"') phrase += '"';
      phrase += ch;
    }
    phrase += '"';
    auto row = c.query_one(sql, {phrase, cap});
    out[word] = row ? row->integer("n") : 0;
  }
  return out;
}

json to_json(const Document& d) {
  json j = {{"id", d.id},
            {"knowledge_base_id", d.knowledge_base_id},
            {"name", d.name},
            {"source", d.source},
            {"url", opt(d.url)},
            {"format", opt(d.format)},
            {"content_type", opt(d.content_type)},
            {"content_sha256", opt(d.content_sha256)},
            {"size_bytes", d.size_bytes},
            {"title", d.title},
            {"tags", d.tags},
            {"status", d.status},
            {"error", opt(d.error)},
            {"progress", {{"chunks_done", d.chunks_done}, {"chunks_total", d.chunks_total}}},
            {"chunk_count", d.chunk_count},
            {"created_at", d.created_at},
            {"updated_at", d.updated_at},
            {"ingested_at", opt(d.ingested_at)}};
  return j;
}

}  // namespace sb::knowledge::repo
