#include "knowledge/knowledge_indexes.hpp"

#include "core/error.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include <dlfcn.h>

namespace sb::knowledge {
namespace {

constexpr int64_t kRebuildPage = 4096;  // chunk vectors read per query while rebuilding
constexpr int kIndexFileFormat = 1;     // the meta's "format": a file of another format is rebuilt

}  // namespace

KnowledgeIndexes::KnowledgeIndexes(store::Database& db, std::filesystem::path dir, VectorIndexOptions options)
    : db_(db), dir_(std::move(dir)), options_(std::move(options)) {
  // Debian's OpenBLAS (the pthread build) runs threads of its own beside
  // OpenMP's, and their spin-waits starve a busy 2-core machine; the host
  // keeps it to the calling thread. Looked up, not linked: faiss links the
  // system's BLAS, which may be another implementation.
  static const bool once = [] {
    using SetThreads = void (*)(int);
    if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(1);
    return true;
  }();
  (void)once;
}

KnowledgeIndexes::~KnowledgeIndexes() {
  try {
    save_dirty();
  } catch (const std::exception& e) {
    spdlog::error("knowledge: saving indexes at shutdown failed: {}", e.what());
  }
}

std::filesystem::path KnowledgeIndexes::file_of(const std::string& workspace_id, const std::string& kb_id) const {
  return dir_ / workspace_id / (kb_id + ".faiss");
}

std::shared_ptr<KnowledgeIndexes::Entry> KnowledgeIndexes::entry(const std::string& kb_id) {
  std::lock_guard lock(mu_);
  auto& e = entries_[kb_id];
  if (!e) e = std::make_shared<Entry>();
  return e;
}

std::shared_ptr<VectorIndex> KnowledgeIndexes::get(const std::string& workspace_id, const std::string& kb_id) {
  auto kb = db_.read([&](store::Connection& c) { return repo::find_base(c, workspace_id, kb_id); });
  if (!kb) return nullptr;
  return get(*kb);
}

std::shared_ptr<VectorIndex> KnowledgeIndexes::get(const repo::KnowledgeBase& kb) {
  if (!kb.embedding_model || !kb.dimension) return nullptr;
  auto e = entry(kb.id);
  std::lock_guard lock(e->mu);
  if (e->index && e->model == *kb.embedding_model) return e->index;
  e->workspace_id = kb.workspace_id;
  load_locked(*e, kb);
  return e->index;
}

void KnowledgeIndexes::load_locked(Entry& e, const repo::KnowledgeBase& kb) {
  const auto file = file_of(kb.workspace_id, kb.id);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    // A base used for the first time, or a file removed: not worth a warning.
    spdlog::info("knowledge: no index file for {} yet: building it from the database", kb.id);
    rebuild_locked(e, kb);
    return;
  }
  if (auto loaded = VectorIndex::load(file, options_)) {
    const auto& meta = loaded->meta;
    if (meta.value("format", 0) == kIndexFileFormat && meta.value("knowledge_base_id", "") == kb.id &&
        meta.value("generation", int64_t{-1}) == kb.generation && meta.value("model", "") == *kb.embedding_model &&
        loaded->index->dimension() == *kb.dimension) {
      e.index = std::move(loaded->index);
      e.model = *kb.embedding_model;
      e.dimension = static_cast<int>(*kb.dimension);
      e.generation = kb.generation;
      e.dirty = false;
      spdlog::info("knowledge: index of {} loaded from {} ({} vectors, {})", kb.id, file.string(), e.index->size(),
                   e.index->kind());
      return;
    }
    spdlog::info("knowledge: index file {} is stale (generation {} / {}, model {} / {}): rebuilding from the database",
                 file.string(), meta.value("generation", int64_t{-1}), kb.generation, meta.value("model", ""),
                 *kb.embedding_model);
  } else {
    spdlog::info("knowledge: the index file of {} cannot be used: rebuilding it from the database", kb.id);
  }
  rebuild_locked(e, kb);
}

void KnowledgeIndexes::rebuild_locked(Entry& e, const repo::KnowledgeBase& kb) {
  const auto started = std::chrono::steady_clock::now();
  const int dim = static_cast<int>(*kb.dimension);
  auto index = std::make_shared<VectorIndex>(dim, options_);
  // The generation is read with the rows it describes, so that a change
  // committed during the rebuild is either in the rows or applied after.
  int64_t generation = 0;
  int64_t after = 0;
  for (;;) {
    auto page = db_.read([&](store::Connection& c) {
      if (after == 0) {
        auto now = repo::find_base_any(c, kb.id);
        generation = now ? now->generation : kb.generation;
      }
      return repo::scan_vectors(c, kb.id, *kb.embedding_model, after, kRebuildPage);
    });
    if (page.ids.empty()) break;
    if (page.embeddings.size() != page.ids.size() * static_cast<size_t>(dim) * sizeof(float)) {
      throw Error(ErrorCode::internal, "knowledge base " + kb.id + " holds vectors of another dimension than " +
                                           std::to_string(dim));
    }
    index->add(page.ids, reinterpret_cast<const float*>(page.embeddings.data()));
    after = page.ids.back();
    if (static_cast<int64_t>(page.ids.size()) < kRebuildPage) break;
  }
  e.index = std::move(index);
  e.model = *kb.embedding_model;
  e.dimension = dim;
  e.generation = generation;
  e.dirty = true;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("knowledge: index of {} rebuilt from the database: {} vectors ({}) in {} ms", kb.id, e.index->size(),
               e.index->kind(), ms);
  try {
    save_locked(e, kb.id);
  } catch (const std::exception& ex) {
    // The index works from memory; the next save tries again.
    spdlog::error("knowledge: saving the rebuilt index of {} failed: {}", kb.id, ex.what());
  }
}

void KnowledgeIndexes::apply(const std::string& workspace_id, const std::string& kb_id, int64_t generation,
                             const std::string& model, int dimension, const std::vector<int64_t>& removed,
                             const std::vector<int64_t>& added_ids, const std::vector<float>& added) {
  auto e = entry(kb_id);
  std::lock_guard lock(e->mu);
  if (!e->index) {
    // Not loaded yet: load it now (the rows already hold this change), so
    // that the first search after an ingestion does not pay for it.
    auto kb = db_.read([&](store::Connection& c) { return repo::find_base(c, workspace_id, kb_id); });
    if (!kb || !kb->embedding_model || !kb->dimension) return;
    e->workspace_id = workspace_id;
    load_locked(*e, *kb);
    return;
  }
  if (e->model != model || e->dimension != dimension) {
    // A new embedding model: the old vectors cannot be compared with the
    // new ones. The new index fills as documents are embedded again.
    e->index = std::make_shared<VectorIndex>(dimension, options_);
    e->model = model;
    e->dimension = dimension;
  }
  e->workspace_id = workspace_id;
  if (!removed.empty()) e->index->remove(removed);
  if (!added_ids.empty()) e->index->add(added_ids, added.data());
  e->generation = std::max(e->generation, generation);
  e->dirty = true;
}

void KnowledgeIndexes::drop(const std::string& workspace_id, const std::string& kb_id) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(kb_id);
    if (it != entries_.end()) {
      e = it->second;
      entries_.erase(it);
    }
  }
  if (e) {
    std::lock_guard lock(e->mu);
    e->index.reset();
    e->dirty = false;
  }
  std::error_code ec;
  std::filesystem::remove(file_of(workspace_id, kb_id), ec);
}

void KnowledgeIndexes::write_file(const VectorIndex& index, const std::string& workspace_id, const std::string& kb_id,
                                  int64_t generation, const std::string& model, int dimension) const {
  const auto file = file_of(workspace_id, kb_id);
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) {
    throw Error(ErrorCode::unavailable, "cannot create " + file.parent_path().string() + ": " + ec.message());
  }
  index.save(file, {{"format", kIndexFileFormat},
                    {"knowledge_base_id", kb_id},
                    {"generation", generation},
                    {"model", model},
                    {"dimension", dimension}});
}

void KnowledgeIndexes::save_locked(Entry& e, const std::string& kb_id) {
  if (!e.index || !e.dirty) return;
  std::lock_guard saving(e.save_mu);
  write_file(*e.index, e.workspace_id, kb_id, e.generation, e.model, e.dimension);
  e.dirty = false;
}

size_t KnowledgeIndexes::save_dirty() {
  std::vector<std::pair<std::string, std::shared_ptr<Entry>>> all;
  {
    std::lock_guard lock(mu_);
    all.assign(entries_.begin(), entries_.end());
  }
  size_t saved = 0;
  for (auto& [kb_id, e] : all) {
    std::unique_lock saving(e->save_mu, std::defer_lock);  // one writer of a file at a time
    std::shared_ptr<VectorIndex> index;
    std::string workspace_id, model;
    int dimension = 0;
    int64_t generation = 0;
    {
      std::lock_guard lock(e->mu);
      if (!e->dirty || !e->index) continue;
      saving.lock();  // after mu, as save_locked takes them
      index = e->index;
      workspace_id = e->workspace_id;
      model = e->model;
      dimension = e->dimension;
      generation = e->generation;
      e->dirty = false;
    }
    // Written without e->mu: searches go on meanwhile (the index's own read
    // lock); a change waits for the write. A change made between the copy
    // above and the write leaves the file with an older generation than its
    // vectors, which only makes it stale: rebuilt, never trusted.
    try {
      write_file(*index, workspace_id, kb_id, generation, model, dimension);
      ++saved;
    } catch (const std::exception& ex) {
      spdlog::error("knowledge: saving the index of {} failed (it is rebuilt from the database if needed): {}", kb_id,
                    ex.what());
      std::lock_guard lock(e->mu);
      if (e->index == index) e->dirty = true;
      continue;
    }
    std::lock_guard lock(e->mu);
    if (e->index != index && !e->index) {
      // Dropped (the base was deleted) while the file was written.
      std::error_code ec;
      std::filesystem::remove(file_of(workspace_id, kb_id), ec);
    }
  }
  return saved;
}

KnowledgeIndexes::Info KnowledgeIndexes::info(const std::string& kb_id) const {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(kb_id);
    if (it == entries_.end()) return {};
    e = it->second;
  }
  std::lock_guard lock(e->mu);
  Info out;
  if (!e->index) return out;
  out.loaded = true;
  out.kind = e->index->kind();
  out.vectors = e->index->size();
  out.generation = e->generation;
  return out;
}

}  // namespace sb::knowledge
