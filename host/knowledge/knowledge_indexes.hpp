#pragma once
// The faiss index of every knowledge base in use, loaded on first use from
// <dir>/<workspace>/<kb>.faiss — or rebuilt from the chunk rows when that
// file is missing, damaged, or holds another generation or embedding model
// than the database (a crash between a commit and the next save, a model
// change) — then kept in memory and updated after each committed change.
// The database is the truth; the file only saves a rebuild at start-up.
// Changed indexes are saved by save_dirty(), which the knowledge service
// calls every few seconds and at stop.
//
// Threads: every member is thread-safe. Each base has its own mutex, held
// while its index is loaded, rebuilt, changed or saved; searches use the
// returned VectorIndex, which takes concurrent searches itself.
#include "knowledge/knowledge_store.hpp"
#include "knowledge/vector_index.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sb::knowledge {

class KnowledgeIndexes {
 public:
  KnowledgeIndexes(store::Database& db, std::filesystem::path dir, VectorIndexOptions options);
  ~KnowledgeIndexes();
  KnowledgeIndexes(const KnowledgeIndexes&) = delete;
  KnowledgeIndexes& operator=(const KnowledgeIndexes&) = delete;

  // The index of base `kb_id` for its current embedding model, loaded or
  // rebuilt as needed; nullptr while the base has no vectors yet.
  std::shared_ptr<VectorIndex> get(const std::string& workspace_id, const std::string& kb_id);
  // The same for a base row the caller has read (a search: no second read).
  std::shared_ptr<VectorIndex> get(const repo::KnowledgeBase& kb);

  // After a write job committed a change of the base's chunks, taking it to
  // `generation`: removes `removed` and adds `added_ids` (vectors from
  // `model`, `added` holding added_ids.size() rows of `dimension`). A model
  // other than the index's replaces the index with a new one. A base not
  // loaded yet is loaded instead (from its file, or the rows, which hold
  // the change already).
  void apply(const std::string& workspace_id, const std::string& kb_id, int64_t generation, const std::string& model,
             int dimension, const std::vector<int64_t>& removed, const std::vector<int64_t>& added_ids,
             const std::vector<float>& added);

  // Forgets the base and deletes its file (the base was deleted).
  void drop(const std::string& workspace_id, const std::string& kb_id);

  // Writes every index changed since it was last saved. Returns how many.
  size_t save_dirty();

  struct Info {
    bool loaded = false;
    std::string kind;  // exact | ivf | hnsw
    size_t vectors = 0;
    int64_t generation = 0;
  };
  Info info(const std::string& kb_id) const;

  std::filesystem::path file_of(const std::string& workspace_id, const std::string& kb_id) const;

 private:
  struct Entry {
    std::mutex mu;       // held while loading, rebuilding or changing it, and copying what a save needs
    std::mutex save_mu;  // held while its file is written (after mu, never before)
    std::shared_ptr<VectorIndex> index;
    std::string workspace_id;
    std::string model;
    int dimension = 0;
    int64_t generation = 0;
    bool dirty = false;
  };
  std::shared_ptr<Entry> entry(const std::string& kb_id);
  // Loads the file or rebuilds from the rows; `e.mu` held.
  void load_locked(Entry& e, const repo::KnowledgeBase& kb);
  void rebuild_locked(Entry& e, const repo::KnowledgeBase& kb);
  void save_locked(Entry& e, const std::string& kb_id);
  void write_file(const VectorIndex& index, const std::string& workspace_id, const std::string& kb_id,
                  int64_t generation, const std::string& model, int dimension) const;

  store::Database& db_;
  const std::filesystem::path dir_;
  const VectorIndexOptions options_;
  mutable std::mutex mu_;  // guards entries_
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace sb::knowledge
