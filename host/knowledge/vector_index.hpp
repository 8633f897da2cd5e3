#pragma once
// One knowledge base's vectors in faiss, searched by inner product (the
// host L2-normalizes every vector, so the score is the cosine similarity).
// Exact search (a flat index) while the index is small; past
// `exact_until` vectors an approximate kind: "lsh" (the default), "ivf" or
// "hnsw", whose build cost, latency and recall docs/performance.md records.
// Saved to and loaded from one file (format in vector_index_file.hpp).
//
// Threads: search(), contains(), size(), kind() and save() may run on many
// threads at once; add() and remove() take the index exclusively (a
// shared_mutex inside). A search runs on its caller's thread alone (faiss'
// OpenMP is held to one thread for it); add() may use OpenMP threads.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sb::knowledge {

struct VectorIndexOptions {
  // Exact search while the index holds at most this many vectors (an exact
  // search reads every vector: ~0.3 ms per 1,000 vectors of 512 floats here).
  size_t exact_until = 5'000;
  // Past it:
  // - "lsh": every vector also has a sign sketch (a random rotation to
  //   lsh_bits dimensions, one bit each); a search scans the sketches by
  //   Hamming distance and re-ranks the nearest candidates exactly. No
  //   training, cheap adds and removes, the best recall per millisecond on
  //   hashed n-gram embeddings (docs/performance.md).
  // - "ivf": inverted lists over k-means centroids trained on the vectors
  //   themselves; retrained when the index outgrows its training 4 times.
  // - "hnsw": a graph; no training, slow to build; removals are tombstones
  //   until a quarter of the graph is dead, then it is rebuilt.
  // Any other value throws sb::Error(invalid_argument).
  std::string approximate = "lsh";
  // LSH: bits per sketch (a multiple of 64) and candidates re-ranked per
  // search (0: the most of 20 * k, size / 100 and 1,000: a recall@10 of
  // 0.985 over 100,000 chunks of manual pages, bench/knowledge.cpp). 512
  // bits rather than 1024 halve the scan (6.4 MB at 100,000) for 0.01 of
  // recall.
  int lsh_bits = 512;
  size_t lsh_rerank = 0;
  // IVF: lists (0: about the square root of the size) and lists probed per
  // search (0: two fifths of the lists, what a recall@10 of 0.95 took on
  // hashed n-gram embeddings with one-sentence queries).
  size_t ivf_lists = 0;
  size_t ivf_probe = 0;
  // HNSW: neighbours per node, candidates while building and searching
  // (efSearch is fixed per index: faiss 1.7.3 ignores it per search).
  int hnsw_m = 32;
  int hnsw_ef_construction = 40;
  int hnsw_ef_search = 64;
};

class VectorIndex {
 public:
  VectorIndex(int dimension, VectorIndexOptions options = {});
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  int dimension() const;
  size_t size() const;
  // "exact", "lsh", "ivf" or "hnsw": what search() uses now.
  std::string kind() const;

  // Adds `ids.size()` vectors (`vectors` holds ids.size() * dimension()
  // floats, row after row). An id already present is replaced. Crossing
  // exact_until switches to the approximate index (trained here, on every
  // vector held); an approximate index that has grown well past what it was
  // trained for is retrained.
  void add(const std::vector<int64_t>& ids, const float* vectors);
  // Removes these ids; unknown ones are ignored.
  void remove(const std::vector<int64_t>& ids);
  bool contains(int64_t id) const;

  struct Hit {
    int64_t id;
    float score;  // inner product
  };
  // The `k` best vectors for `query` (dimension() floats), best first; at
  // most size() of them. With `allow`, only ids it accepts are returned
  // (still up to k of them: a restrictive filter falls back to an exact
  // search over what it accepts). `allow` is called on the searching thread.
  std::vector<Hit> search(const float* query, size_t k, const std::function<bool(int64_t)>& allow = {}) const;

  // Writes the index and `meta` (any JSON value the caller wants back on
  // load) to `file`: a temporary file, flushed, then renamed over it, so a
  // crash leaves the old file or the new one. Searches go on meanwhile.
  // Throws sb::Error(unavailable) when the file cannot be written.
  void save(const std::filesystem::path& file, const nlohmann::json& meta) const;

  struct Loaded {
    std::unique_ptr<VectorIndex> index;
    nlohmann::json meta;
  };
  // The index saved in `file`, or nullopt when the file is missing, or is
  // damaged, truncated or of another format or version (logged with
  // spdlog::warn: the caller rebuilds it). `options` rule from then on: a
  // saved approximate kind other than options.approximate is rebuilt.
  static std::optional<Loaded> load(const std::filesystem::path& file, VectorIndexOptions options = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb::knowledge
