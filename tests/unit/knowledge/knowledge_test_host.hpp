#pragma once
// A host for knowledge-base tests: the real storage-sqlite and ai-local (and
// ai-openai) plugins loaded from the build tree, a real database file and
// an index directory in a fresh folder, one workspace, and
// the KnowledgeBases service over them. reopen() takes the service down and
// builds a new one over the same files (a restart). Members are destroyed
// in reverse order: the service before the database, the registry before
// the scheduler.
#include "core/event_bus.hpp"
#include "core/ids.hpp"
#include "core/scheduler.hpp"
#include "knowledge/knowledge_bases.hpp"
#include "plugins/host_services.hpp"
#include "plugins/registry.hpp"
#include "store/database.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace sb::test {

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::filesystem::path knowledge_data_dir() { return std::filesystem::path(SB_SOURCE_DIR) / "tests/data/knowledge"; }

struct KnowledgeTestHost {
  static constexpr const char* kOrg = "org-k";
  static constexpr const char* kWorkspace = "ws-k";

  explicit KnowledgeTestHost(knowledge::KnowledgeOptions opts = defaults()) : options(std::move(opts)) {
    registry.discover({SB_PLUGIN_DIR});
    store::DatabaseOptions o;
    o.config = {{"path", (dir / "data" / "switchboard.db").string()}};
    o.readers = 2;
    db = store::Database::open(registry, o);
    add_workspace(kOrg, kWorkspace);
    options.index_dir = dir / "data" / "knowledge";
    kb = std::make_unique<knowledge::KnowledgeBases>(*db, registry, bus, options);
    kb->start();
  }
  ~KnowledgeTestHost() {
    kb.reset();
    db.reset();
  }

  static knowledge::KnowledgeOptions defaults() {
    knowledge::KnowledgeOptions o;
    o.embed_batch = 16;
    o.retry_delay = std::chrono::milliseconds(50);
    o.save_interval = std::chrono::milliseconds(200);
    o.progress_interval = std::chrono::milliseconds(0);
    return o;
  }

  void add_workspace(const std::string& org, const std::string& ws) {
    db->write([&](store::Connection& c) {
      c.execute("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, 0) ON CONFLICT DO NOTHING", {org, org});
      c.execute("INSERT INTO workspaces (id, organization_id, name, timezone, created_at) VALUES (?, ?, ?, 'UTC', 0) "
                "ON CONFLICT DO NOTHING",
                {ws, org, ws});
    });
  }

  // The service goes down (its index saved) and a new one starts over the
  // same database and files.
  void reopen() {
    kb.reset();
    kb = std::make_unique<knowledge::KnowledgeBases>(*db, registry, bus, options);
    kb->start();
  }

  knowledge::repo::KnowledgeBase make_base(const std::string& name, nlohmann::json extra = nlohmann::json::object()) {
    extra["name"] = name;
    return kb->create(kOrg, kWorkspace, extra);
  }

  // Uploads `text` as the file `name` and waits for the ingestion to end.
  knowledge::repo::Document ingest(const knowledge::repo::KnowledgeBase& base, const std::string& name,
                                   const std::string& bytes, std::vector<std::string> tags = {},
                                   const std::string& content_type = "") {
    auto docs = kb->add_files(kWorkspace, base.id, {{name, content_type, bytes}}, tags);
    REQUIRE(docs.size() == 1);
    REQUIRE(kb->wait_until_idle(std::chrono::seconds(60)));
    return kb->document(kWorkspace, base.id, docs[0].id);
  }

  int64_t count(const std::string& sql, const store::Params& params = {}) {
    return db->read([&](store::Connection& c) { return c.query_one(sql, params)->integer("n"); });
  }
  // Rows of the base in the chunk table and in the keyword index.
  int64_t chunk_rows(const std::string& kb_id) {
    return count("SELECT COUNT(*) AS n FROM knowledge_chunks WHERE knowledge_base_id = ?", {kb_id});
  }
  // -1 when the base has no keyword index (a deleted base).
  int64_t keyword_rows(const std::string& kb_id) {
    const std::string t = knowledge::repo::keyword_table(kb_id);
    if (count("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = ?", {t}) == 0) return -1;
    return count("SELECT COUNT(*) AS n FROM " + t);
  }
  // The segments of the base's FTS5 index: its data rows' ids hold the
  // segment id above bit 37 (FTS5_SEGMENT_ROWID in SQLite's fts5Int.h).
  int64_t keyword_segments(const std::string& kb_id) {
    return count("SELECT COUNT(DISTINCT id >> 37) AS n FROM " + knowledge::repo::keyword_table(kb_id) +
                 "_data WHERE id >> 37 > 0");
  }
  int64_t keyword_matches(const std::string& kb_id, const std::string& word) {
    const std::string t = knowledge::repo::keyword_table(kb_id);
    return count("SELECT COUNT(*) AS n FROM " + t + " WHERE " + t + " MATCH ?", {"\"" + word + "\""});
  }
  size_t vector_count(const std::string& kb_id) {
    auto index = kb->indexes().get(kWorkspace, kb_id);
    return index ? index->size() : 0;
  }

  TempDir dir{"sb-knowledge"};
  Scheduler scheduler{1};
  plugins::HostServices services{scheduler};
  plugins::PluginRegistry registry{services};
  EventBus bus;
  std::unique_ptr<store::Database> db;
  knowledge::KnowledgeOptions options;
  std::unique_ptr<knowledge::KnowledgeBases> kb;
};

}  // namespace sb::test
