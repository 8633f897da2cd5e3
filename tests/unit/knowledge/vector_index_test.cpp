// The vector index: exact search while small, an approximate kind (lsh,
// ivf, hnsw) past exact_until with a recall@10 of at least 0.95 against
// brute force, ids replaced and removed, filters that still return k hits,
// and a file that round-trips or, when damaged, loads as nothing.
#include "knowledge/vector_index.hpp"

#include "core/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

using sb::knowledge::VectorIndex;
using sb::knowledge::VectorIndexOptions;

namespace {

constexpr int kDim = 64;

void normalize(float* v) {
  double norm = 0;
  for (int i = 0; i < kDim; ++i) norm += double(v[i]) * v[i];
  const float inv = norm > 0 ? float(1 / std::sqrt(norm)) : 0.f;
  for (int i = 0; i < kDim; ++i) v[i] *= inv;
}

// `n` unit vectors around `clusters` random centres (what text embeddings
// look like: topics), reproducible from `seed`.
std::vector<float> clustered_vectors(size_t n, int clusters, unsigned seed) {
  std::mt19937 rng(12345);  // the same centres for every seed
  std::normal_distribution<float> normal;
  std::vector<float> centres(size_t(clusters) * kDim);
  for (auto& x : centres) x = normal(rng);
  rng.seed(seed);
  std::vector<float> out(n * kDim);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = rng() % size_t(clusters);
    for (int j = 0; j < kDim; ++j) out[i * kDim + j] = centres[c * kDim + j] + 0.8f * normal(rng);
    normalize(&out[i * kDim]);
  }
  return out;
}

std::vector<int64_t> ids_from(int64_t first, size_t n) {
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = first + int64_t(i);
  return ids;
}

float dot(const float* a, const float* b) {
  float s = 0;
  for (int i = 0; i < kDim; ++i) s += a[i] * b[i];
  return s;
}

// The true k nearest ids by brute force.
std::vector<int64_t> brute_force(const std::vector<float>& vectors, const std::vector<int64_t>& ids, const float* query,
                                 size_t k) {
  std::vector<std::pair<float, int64_t>> scored;
  for (size_t i = 0; i < ids.size(); ++i) scored.push_back({-dot(&vectors[i * kDim], query), ids[i]});
  std::sort(scored.begin(), scored.end());
  std::vector<int64_t> out;
  for (size_t i = 0; i < std::min(k, scored.size()); ++i) out.push_back(scored[i].second);
  return out;
}

std::vector<int64_t> hit_ids(const std::vector<VectorIndex::Hit>& hits) {
  std::vector<int64_t> out;
  for (const auto& hit : hits) out.push_back(hit.id);
  return out;
}

double recall_at_10(const VectorIndex& index, const std::vector<float>& vectors, const std::vector<int64_t>& ids,
                    const std::vector<float>& queries) {
  const size_t count = queries.size() / kDim;
  double found = 0;
  for (size_t q = 0; q < count; ++q) {
    const auto truth = brute_force(vectors, ids, &queries[q * kDim], 10);
    const std::set<int64_t> expected(truth.begin(), truth.end());
    for (int64_t id : hit_ids(index.search(&queries[q * kDim], 10))) found += expected.count(id);
  }
  return found / double(count * 10);
}

VectorIndexOptions small_options(const std::string& approximate) {
  VectorIndexOptions options;
  options.exact_until = 300;
  options.approximate = approximate;
  return options;
}

}  // namespace

TEST_CASE("exact search returns the true nearest vectors, best first, scored by inner product",
          "[knowledge][vector-index]") {
  const auto vectors = clustered_vectors(200, 8, 1);
  const auto ids = ids_from(1000, 200);
  VectorIndex index(kDim);
  index.add(ids, vectors.data());
  REQUIRE(index.kind() == "exact");
  REQUIRE(index.size() == 200);

  const auto queries = clustered_vectors(20, 8, 2);
  for (size_t q = 0; q < 20; ++q) {
    const float* query = &queries[q * kDim];
    const auto hits = index.search(query, 5);
    REQUIRE(hit_ids(hits) == brute_force(vectors, ids, query, 5));
    for (size_t i = 0; i < hits.size(); ++i) {
      CHECK(hits[i].score == Approx(dot(&vectors[size_t(hits[i].id - 1000) * kDim], query)).margin(1e-5));
      if (i > 0) CHECK(hits[i - 1].score >= hits[i].score);
    }
  }
  // A stored vector is its own nearest, with a cosine of 1.
  const auto self = index.search(&vectors[17 * kDim], 1);
  REQUIRE(self.size() == 1);
  CHECK(self[0].id == 1017);
  CHECK(self[0].score == Approx(1.0f).margin(1e-5));
}

TEST_CASE("k past the size returns every vector, an empty index returns none", "[knowledge][vector-index]") {
  VectorIndex index(kDim);
  const auto vectors = clustered_vectors(3, 2, 3);
  CHECK(index.search(vectors.data(), 10).empty());
  index.add({7, -8, int64_t(1) << 40}, vectors.data());
  const auto hits = hit_ids(index.search(vectors.data(), 10));
  REQUIRE(hits.size() == 3);
  CHECK(std::set<int64_t>{7, -8, int64_t(1) << 40} == std::set<int64_t>(hits.begin(), hits.end()));
  CHECK(index.search(vectors.data(), 0).empty());
}

TEST_CASE("an unknown approximate kind is refused", "[knowledge][vector-index]") {
  VectorIndexOptions options;
  options.approximate = "annoy";
  CHECK_THROWS_AS(VectorIndex(kDim, options), sb::Error);
}

TEST_CASE("adding an id again replaces its vector, removing ids forgets them", "[knowledge][vector-index]") {
  const std::string kind = GENERATE("exact", "lsh", "ivf", "hnsw");
  CAPTURE(kind);
  VectorIndexOptions options = small_options(kind == "exact" ? "lsh" : kind);
  if (kind == "exact") options.exact_until = 100'000;
  const auto vectors = clustered_vectors(600, 10, 4);
  const auto ids = ids_from(1, 600);
  VectorIndex index(kDim, options);
  index.add(ids, vectors.data());
  REQUIRE(index.kind() == kind);

  // Id 5 takes vector 400's place: a search for that vector finds both.
  index.add({5}, &vectors[400 * kDim]);
  CHECK(index.size() == 600);
  const auto twins = hit_ids(index.search(&vectors[400 * kDim], 2));
  CHECK(std::set<int64_t>(twins.begin(), twins.end()) == std::set<int64_t>{5, 401});
  // Its old vector is no longer found under id 5.
  for (int64_t id : hit_ids(index.search(&vectors[4 * kDim], 3))) CHECK(id != 5);

  // Within one call the last row of an id wins: id 6 takes vector 501
  // (id 502's), not vector 500.
  index.add({6, 6}, &vectors[500 * kDim]);
  CHECK(index.size() == 600);
  const auto last_row_twins = hit_ids(index.search(&vectors[501 * kDim], 2));
  CHECK(std::set<int64_t>(last_row_twins.begin(), last_row_twins.end()) == std::set<int64_t>{6, 502});

  index.remove({401, 5, 99999});
  CHECK(index.size() == 598);
  CHECK_FALSE(index.contains(401));
  CHECK_FALSE(index.contains(5));
  CHECK(index.contains(6));
  for (int64_t id : hit_ids(index.search(&vectors[400 * kDim], 20))) {
    CHECK(id != 401);
    CHECK(id != 5);
  }
}

TEST_CASE("a filter returns only the ids it allows, still k of them", "[knowledge][vector-index]") {
  const std::string kind = GENERATE("exact", "lsh", "ivf", "hnsw");
  CAPTURE(kind);
  VectorIndexOptions options = small_options(kind == "exact" ? "lsh" : kind);
  if (kind == "exact") options.exact_until = 100'000;
  const auto vectors = clustered_vectors(2000, 20, 5);
  const auto ids = ids_from(0, 2000);
  VectorIndex index(kDim, options);
  index.add(ids, vectors.data());
  REQUIRE(index.kind() == kind);

  const auto queries = clustered_vectors(10, 20, 6);
  // One id in 97: far fewer than any approximate search looks at.
  const auto rare = [](int64_t id) { return id % 97 == 3; };
  std::vector<int64_t> allowed_ids;
  std::vector<float> allowed_vectors;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!rare(ids[i])) continue;
    allowed_ids.push_back(ids[i]);
    allowed_vectors.insert(allowed_vectors.end(), &vectors[i * kDim], &vectors[(i + 1) * kDim]);
  }
  double best_found = 0;
  for (size_t q = 0; q < 10; ++q) {
    const auto hits = hit_ids(index.search(&queries[q * kDim], 10, rare));
    REQUIRE(hits.size() == 10);
    for (int64_t id : hits) CHECK(rare(id));
    const auto best = brute_force(allowed_vectors, allowed_ids, &queries[q * kDim], 10);
    // Exact and lsh (whose re-ranking covers every allowed id here) return
    // the best allowed ones; ivf and hnsw nearly so.
    if (kind == "exact" || kind == "lsh") CHECK(hits == best);
    for (int64_t id : hits) best_found += std::count(best.begin(), best.end(), id);
  }
  CHECK(best_found / 100 >= 0.8);
  // A filter allowing fewer than k ids returns just those.
  const auto three = hit_ids(index.search(queries.data(), 10, [](int64_t id) { return id < 3; }));
  CHECK(std::set<int64_t>{0, 1, 2} == std::set<int64_t>(three.begin(), three.end()));
}

TEST_CASE("past exact_until the index turns approximate with a recall@10 of at least 0.95",
          "[knowledge][vector-index]") {
  const std::string kind = GENERATE("lsh", "ivf", "hnsw");
  CAPTURE(kind);
  const auto vectors = clustered_vectors(3000, 40, 7);
  const auto ids = ids_from(100, 3000);
  VectorIndex index(kDim, small_options(kind));
  // Added in batches, as documents are: the kind changes on the way.
  index.add(std::vector<int64_t>(ids.begin(), ids.begin() + 300), vectors.data());
  CHECK(index.kind() == "exact");
  for (size_t from = 300; from < 3000; from += 450) {
    const size_t to = std::min<size_t>(from + 450, 3000);
    index.add(std::vector<int64_t>(ids.begin() + long(from), ids.begin() + long(to)), &vectors[from * kDim]);
  }
  CHECK(index.kind() == kind);
  CHECK(index.size() == 3000);
  const auto queries = clustered_vectors(100, 40, 8);
  CHECK(recall_at_10(index, vectors, ids, queries) >= 0.95);
}

TEST_CASE("removing most vectors brings an approximate index back to exact search", "[knowledge][vector-index]") {
  const std::string kind = GENERATE("lsh", "ivf", "hnsw");
  CAPTURE(kind);
  const auto vectors = clustered_vectors(1000, 10, 9);
  const auto ids = ids_from(0, 1000);
  VectorIndex index(kDim, small_options(kind));
  index.add(ids, vectors.data());
  REQUIRE(index.kind() == kind);
  index.remove(std::vector<int64_t>(ids.begin(), ids.begin() + 900));
  CHECK(index.kind() == "exact");
  CHECK(index.size() == 100);
  const std::vector<int64_t> rest(ids.begin() + 900, ids.end());
  const std::vector<float> rest_vectors(vectors.begin() + 900 * kDim, vectors.end());
  CHECK(hit_ids(index.search(vectors.data(), 10)) == brute_force(rest_vectors, rest, vectors.data(), 10));
}

TEST_CASE("hnsw removals are tombstones that searches never return", "[knowledge][vector-index]") {
  const auto vectors = clustered_vectors(1000, 10, 10);
  const auto ids = ids_from(0, 1000);
  VectorIndex index(kDim, small_options("hnsw"));
  index.add(ids, vectors.data());
  REQUIRE(index.kind() == "hnsw");
  // A tenth removed: under the rebuild threshold, so they stay in the graph.
  std::vector<int64_t> removed;
  for (int64_t id = 0; id < 1000; id += 10) removed.push_back(id);
  index.remove(removed);
  CHECK(index.size() == 900);
  for (int64_t id : removed) {
    const auto hits = index.search(&vectors[size_t(id) * kDim], 10);
    CHECK(hits.size() == 10);
    for (const auto& hit : hits) CHECK(hit.id % 10 != 0);
  }
  // Past a quarter dead the graph is rebuilt without them; still none found.
  std::vector<int64_t> more;
  for (int64_t id = 1; id < 1000; id += 5) more.push_back(id);
  index.remove(more);
  CHECK(index.size() == 700);
  CHECK(index.kind() == "hnsw");
  for (int64_t id : more) {
    for (const auto& hit : index.search(&vectors[size_t(id) * kDim], 10)) {
      CHECK(hit.id % 10 != 0);
      CHECK(hit.id % 5 != 1);
    }
  }
}

TEST_CASE("a saved index loads with the same results and the caller's meta", "[knowledge][vector-index]") {
  const std::string kind = GENERATE("exact", "lsh", "ivf", "hnsw");
  CAPTURE(kind);
  sb::test::TempDir dir("vector-index");
  VectorIndexOptions options = small_options(kind == "exact" ? "lsh" : kind);
  if (kind == "exact") options.exact_until = 100'000;
  const auto vectors = clustered_vectors(800, 10, 11);
  const auto ids = ids_from(50, 800);
  VectorIndex index(kDim, options);
  index.add(ids, vectors.data());
  index.remove({60, 61});
  REQUIRE(index.kind() == kind);
  const nlohmann::json meta = {{"model", "local-hash-512"}, {"chunks", 798}};
  index.save(dir / "kb.index", meta);

  auto loaded = VectorIndex::load(dir / "kb.index", options);
  REQUIRE(loaded);
  CHECK(loaded->meta == meta);
  const VectorIndex& again = *loaded->index;
  CHECK(again.kind() == kind);
  CHECK(again.size() == 798);
  CHECK(again.dimension() == kDim);
  CHECK_FALSE(again.contains(60));
  CHECK(again.contains(62));
  const auto queries = clustered_vectors(20, 10, 12);
  for (size_t q = 0; q < 20; ++q) {
    const auto before = index.search(&queries[q * kDim], 10);
    const auto after = again.search(&queries[q * kDim], 10);
    REQUIRE(hit_ids(before) == hit_ids(after));
    for (size_t i = 0; i < before.size(); ++i) CHECK(before[i].score == after[i].score);
  }
  // Saving again over the file replaces it and leaves no temporary file.
  index.save(dir / "kb.index", {{"v", 2}});
  CHECK(VectorIndex::load(dir / "kb.index", options)->meta == nlohmann::json{{"v", 2}});
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("a missing, truncated, damaged or foreign file loads as nothing", "[knowledge][vector-index]") {
  sb::test::TempDir dir("vector-index");
  const auto vectors = clustered_vectors(400, 10, 13);
  VectorIndex index(kDim, small_options("lsh"));
  index.add(ids_from(0, 400), vectors.data());
  const auto file = dir / "kb.index";
  index.save(file, {{"ok", true}});
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(bytes.size() > 400 * kDim * 4);
  const auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream out(dir / name, std::ios::binary);
    out << content;
    return dir / name;
  };

  CHECK_FALSE(VectorIndex::load(dir / "missing.index"));
  CHECK_FALSE(VectorIndex::load(write("empty.index", "")));
  CHECK_FALSE(VectorIndex::load(write("half.index", bytes.substr(0, bytes.size() / 2))));
  CHECK_FALSE(VectorIndex::load(write("short.index", bytes.substr(0, bytes.size() - 1))));
  std::string flipped = bytes;
  flipped[flipped.size() / 3] ^= 0x10;
  CHECK_FALSE(VectorIndex::load(write("flipped.index", flipped)));
  CHECK_FALSE(VectorIndex::load(write("foreign.index", "{\"not\": \"an index\"}\n" + std::string(200, 'x'))));
  std::string future = bytes;
  future[8] = 99;  // the format version
  CHECK_FALSE(VectorIndex::load(write("future.index", future)));
  CHECK_FALSE(VectorIndex::load(dir.path()));  // a directory
  // The intact file still loads.
  CHECK(VectorIndex::load(file));
}
