#include "knowledge/vector_index.hpp"

#include "core/error.hpp"
#include "knowledge/embeddings.hpp"
#include "knowledge/vector_index_file.hpp"
#include "knowledge/vector_index_sketch.hpp"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexLSH.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/utils/distances.h>
#include <faiss/utils/hamming.h>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <type_traits>
#include <unordered_map>

namespace sb::knowledge {
namespace {

using faiss_id = faiss::Index::idx_t;

enum class Kind { exact, lsh, ivf, hnsw };

// The projection of sign sketches: `bits` directions in `dimension`
// dimensions, stacked blocks of orthonormal rows (a tight frame). Spread
// evenly, they estimate angles better than independent Gaussian directions
// (recall@10 0.987 against 0.959 at 20,000 vectors, 500 re-ranked), and
// blocks of dimension x dimension cost far less than the QR decomposition of
// a bits x bits matrix that IndexLSH's own constructor runs (seconds; minutes
// on a busy machine). Made once per shape and seed, then copied.
faiss::RandomRotationMatrix sketch_projection(int dimension, int bits) {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, faiss::RandomRotationMatrix> made;
  std::lock_guard lock(mutex);
  auto found = made.find({dimension, bits});
  if (found != made.end()) return found->second;
  faiss::RandomRotationMatrix projection(dimension, bits);
  projection.A.clear();
  for (int row = 0, block = 0; row < bits; ++block) {
    const int rows = std::min(dimension, bits - row);
    faiss::RandomRotationMatrix part(dimension, rows);  // rows <= dimension: orthonormal rows
    part.init(20240917 + block);
    projection.A.insert(projection.A.end(), part.A.begin(), part.A.end());
    row += rows;
  }
  projection.is_trained = true;
  return made.emplace(std::make_pair(dimension, bits), projection).first->second;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::exact: return "exact";
    case Kind::lsh: return "lsh";
    case Kind::ivf: return "ivf";
    case Kind::hnsw: return "hnsw";
  }
  return "exact";
}

std::optional<Kind> parse_kind(const std::string& name) {
  for (Kind kind : {Kind::exact, Kind::lsh, Kind::ivf, Kind::hnsw}) {
    if (name == kind_name(kind)) return kind;
  }
  return std::nullopt;
}

// One query gains nothing from faiss' OpenMP threads (HNSW even allocates a
// visited table per thread and leaves all but one idle), and several
// searches run at once on the caller's threads: hold this thread's OpenMP
// team to one while it searches.
class OneOpenMpThread {
 public:
  OneOpenMpThread() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~OneOpenMpThread() { omp_set_num_threads(saved_); }
  OneOpenMpThread(const OneOpenMpThread&) = delete;
  OneOpenMpThread& operator=(const OneOpenMpThread&) = delete;

 private:
  int saved_;
};

// The caller's filter as a faiss selector, over whatever faiss stores (ids
// for IVF, positions for the flat and HNSW indexes).
class PredicateSelector : public faiss::IDSelector {
 public:
  explicit PredicateSelector(std::function<bool(faiss_id)> accept) : accept_(std::move(accept)) {}
  bool is_member(faiss_id id) const override { return accept_(id); }

 private:
  std::function<bool(faiss_id)> accept_;
};

void write_bytes(faiss::IOWriter& out, const void* data, size_t bytes) {
  if (bytes > 0) out(data, 1, bytes);
}

void write_u64(faiss::IOWriter& out, uint64_t value) { write_bytes(out, &value, sizeof value); }

void read_exactly(faiss::IOReader& in, void* data, size_t bytes) {
  if (bytes > 0 && in(data, 1, bytes) != bytes) throw std::runtime_error("the file ends early");
}

uint64_t read_u64(faiss::IOReader& in) {
  uint64_t value = 0;
  read_exactly(in, &value, sizeof value);
  return value;
}

// faiss::read_index for one expected index type; the wrong type is damage.
// (Sketches are compared by Hamming distance: their metric field is unused.)
template <class IndexType>
std::unique_ptr<IndexType> read_faiss_index(faiss::IOReader& in, int dimension) {
  std::unique_ptr<faiss::Index> index(faiss::read_index(&in));
  auto* typed = dynamic_cast<IndexType*>(index.get());
  if (typed == nullptr) throw std::runtime_error("an index of an unexpected type");
  const bool sketches = std::is_same_v<IndexType, faiss::IndexLSH>;
  if (typed->d != dimension || (!sketches && typed->metric_type != faiss::METRIC_INNER_PRODUCT)) {
    throw std::runtime_error("an index of another dimension or metric");
  }
  index.release();
  return std::unique_ptr<IndexType>(typed);
}

}  // namespace

struct VectorIndex::Impl {
  const int dimension;
  VectorIndexOptions options;
  Kind approximate;

  mutable std::shared_mutex mutex;
  Kind kind = Kind::exact;

  // exact, lsh and hnsw keep vectors by position: the id at each position
  // and the position of each live id.
  std::vector<int64_t> id_at;
  std::unordered_map<int64_t, size_t> position_of;
  // exact and lsh: the vectors; sketches beside them (same positions) while
  // the approximate kind is lsh, so that crossing exact_until costs nothing.
  std::unique_ptr<faiss::IndexFlatIP> flat;
  std::unique_ptr<faiss::IndexLSH> sketches;
  // ivf: vectors and ids in the lists, found by id through a hash table.
  std::unique_ptr<faiss::IndexIVFFlat> ivf;
  size_t trained_for = 0;
  // hnsw: the graph (with its own flat storage) and its tombstones.
  std::unique_ptr<faiss::IndexHNSWFlat> hnsw;
  std::vector<uint8_t> dead;
  size_t dead_count = 0;

  Impl(int d, VectorIndexOptions o) : dimension(d), options(std::move(o)), approximate(Kind::lsh) {
    if (dimension <= 0) throw Error(ErrorCode::invalid_argument, "vector index: the dimension must be positive");
    const auto parsed = parse_kind(options.approximate);
    if (!parsed || *parsed == Kind::exact) {
      throw Error(ErrorCode::invalid_argument,
                  "vector index: unknown approximate index \"" + options.approximate + "\" (lsh, ivf or hnsw)");
    }
    approximate = *parsed;
    if (options.lsh_bits <= 0 || options.lsh_bits % 64 != 0 || options.lsh_bits > 8192) {
      throw Error(ErrorCode::invalid_argument, "vector index: lsh_bits must be a multiple of 64 up to 8192");
    }
    if (options.hnsw_m < 2) throw Error(ErrorCode::invalid_argument, "vector index: hnsw_m must be at least 2");
    build({}, nullptr, Kind::exact);
  }

  size_t size() const { return kind == Kind::ivf ? static_cast<size_t>(ivf->ntotal) : position_of.size(); }

  bool contains(int64_t id) const {
    if (kind == Kind::ivf) return ivf->direct_map.hashtable.count(id) > 0;
    return position_of.count(id) > 0;
  }

  // ---- building -----------------------------------------------------------

  // Replaces every structure by one of `target` kind holding these vectors.
  void build(std::vector<int64_t> ids, const float* vectors, Kind target) {
    const size_t n = ids.size();
    flat.reset();
    sketches.reset();
    ivf.reset();
    hnsw.reset();
    id_at.clear();
    position_of.clear();
    dead.clear();
    dead_count = 0;
    trained_for = 0;
    kind = target;
    switch (target) {
      case Kind::exact:
      case Kind::lsh:
        flat = std::make_unique<faiss::IndexFlatIP>(dimension);
        if (approximate == Kind::lsh) sketches = make_sketches();
        add_by_position(ids, vectors);
        break;
      case Kind::ivf: {
        const size_t lists = ivf_lists_for(n);
        auto quantizer = std::make_unique<faiss::IndexFlatIP>(dimension);
        ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), dimension, lists, faiss::METRIC_INNER_PRODUCT);
        quantizer.release();
        ivf->own_fields = true;
        // k-means on 64 points per list (sampled at random by faiss): more
        // costs seconds per 100,000 vectors and changes the recall little.
        ivf->cp.max_points_per_centroid = 64;
        ivf->set_direct_map_type(faiss::DirectMap::Hashtable);
        if (n > 0) {
          ivf->train(static_cast<faiss_id>(n), vectors);
          ivf->add_with_ids(static_cast<faiss_id>(n), vectors, ids.data());
        }
        trained_for = n;
        break;
      }
      case Kind::hnsw:
        hnsw = std::make_unique<faiss::IndexHNSWFlat>(dimension, options.hnsw_m, faiss::METRIC_INNER_PRODUCT);
        hnsw->hnsw.efConstruction = options.hnsw_ef_construction;
        hnsw->hnsw.efSearch = options.hnsw_ef_search;
        add_by_position(ids, vectors);
        break;
    }
  }

  std::unique_ptr<faiss::IndexLSH> make_sketches() const {
    auto lsh = std::make_unique<faiss::IndexLSH>();
    lsh->d = dimension;
    lsh->nbits = options.lsh_bits;
    lsh->code_size = static_cast<size_t>(options.lsh_bits) / 8;
    lsh->rotate_data = true;
    lsh->train_thresholds = false;
    lsh->rrot = sketch_projection(dimension, options.lsh_bits);
    lsh->is_trained = true;
    return lsh;
  }

  // About sqrt(n) lists, and never fewer than 39 training points per list
  // (below that faiss' k-means warns and its centroids are noise).
  size_t ivf_lists_for(size_t n) const {
    size_t lists = options.ivf_lists > 0 ? options.ivf_lists : static_cast<size_t>(std::sqrt(static_cast<double>(n)));
    return std::clamp<size_t>(lists, 1, std::max<size_t>(1, n / 39));
  }

  void add_by_position(const std::vector<int64_t>& ids, const float* vectors) {
    const size_t n = ids.size();
    if (n == 0) return;
    const size_t first = id_at.size();
    if (flat) flat->add(static_cast<faiss_id>(n), vectors);
    if (sketches) sketches->add(static_cast<faiss_id>(n), vectors);
    if (hnsw) {
      hnsw->add(static_cast<faiss_id>(n), vectors);
      dead.resize(first + n, 0);
    }
    for (size_t i = 0; i < n; ++i) {
      id_at.push_back(ids[i]);
      position_of[ids[i]] = first + i;
    }
  }

  // Every live vector and its id (a copy: for rebuilding).
  void collect(std::vector<int64_t>& ids, std::vector<float>& vectors) const {
    const size_t d = static_cast<size_t>(dimension);
    ids.clear();
    vectors.clear();
    ids.reserve(size());
    vectors.reserve(size() * d);
    if (kind == Kind::ivf) {
      const faiss::InvertedLists* lists = ivf->invlists;
      for (size_t list = 0; list < lists->nlist; ++list) {
        const size_t count = lists->list_size(list);
        if (count == 0) continue;
        faiss::InvertedLists::ScopedIds list_ids(lists, list);
        faiss::InvertedLists::ScopedCodes codes(lists, list);
        const auto* floats = reinterpret_cast<const float*>(codes.get());
        ids.insert(ids.end(), list_ids.get(), list_ids.get() + count);
        vectors.insert(vectors.end(), floats, floats + count * d);
      }
      return;
    }
    const float* stored = kind == Kind::hnsw ? static_cast<const faiss::IndexFlat*>(hnsw->storage)->get_xb()
                                             : flat->get_xb();
    for (size_t position = 0; position < id_at.size(); ++position) {
      if (kind == Kind::hnsw && dead[position]) continue;
      ids.push_back(id_at[position]);
      vectors.insert(vectors.end(), stored + position * d, stored + (position + 1) * d);
    }
  }

  void rebuild(Kind target) {
    std::vector<int64_t> ids;
    std::vector<float> vectors;
    collect(ids, vectors);
    build(std::move(ids), vectors.data(), target);
  }

  // After a change of size: the kind the size calls for, and the upkeep of
  // the approximate index (retraining, dropping tombstones).
  void settle() {
    const size_t n = size();
    const bool large = n > options.exact_until;
    switch (kind) {
      case Kind::exact:
        if (large) {
          if (approximate == Kind::lsh) {
            kind = Kind::lsh;  // the sketches are already there
          } else {
            rebuild(approximate);
          }
        }
        break;
      case Kind::lsh:
        if (!large) kind = Kind::exact;
        break;
      case Kind::ivf:
        // Back to exact only well below the threshold, so that an index
        // hovering around it is not rebuilt on every change.
        if (n <= options.exact_until / 2) {
          rebuild(Kind::exact);
        } else if (n > 4 * trained_for) {
          rebuild(Kind::ivf);
        }
        break;
      case Kind::hnsw:
        if (n <= options.exact_until / 2) {
          rebuild(Kind::exact);
        } else if (dead_count * 4 > id_at.size()) {
          rebuild(Kind::hnsw);
        }
        break;
    }
  }

  // ---- changing -----------------------------------------------------------

  void remove_ids(const std::vector<int64_t>& ids) {
    if (kind == Kind::ivf) {
      std::vector<faiss_id> present;
      for (int64_t id : ids) {
        if (ivf->direct_map.hashtable.count(id)) present.push_back(id);
      }
      if (!present.empty()) ivf->remove_ids(faiss::IDSelectorArray(present.size(), present.data()));
      return;
    }
    for (int64_t id : ids) {
      const auto found = position_of.find(id);
      if (found == position_of.end()) continue;
      const size_t position = found->second;
      position_of.erase(found);
      if (kind == Kind::hnsw) {
        // The graph cannot lose a node: a tombstone until the next rebuild.
        dead[position] = 1;
        ++dead_count;
      } else {
        move_last_to(position);
      }
    }
  }

  // Removes the vector at `position` from the flat store (and its sketch)
  // by moving the last one into its place.
  void move_last_to(size_t position) {
    const size_t last = id_at.size() - 1;
    for (faiss::IndexFlatCodes* codes : {static_cast<faiss::IndexFlatCodes*>(flat.get()),
                                         static_cast<faiss::IndexFlatCodes*>(sketches.get())}) {
      if (codes == nullptr) continue;
      const size_t size = codes->code_size;
      if (position != last) {
        std::memcpy(codes->codes.data() + position * size, codes->codes.data() + last * size, size);
      }
      codes->codes.resize(last * size);
      codes->ntotal = static_cast<faiss_id>(last);
    }
    if (position != last) {
      id_at[position] = id_at[last];
      position_of[id_at[position]] = position;
    }
    id_at.pop_back();
  }

  void add(const std::vector<int64_t>& ids, const float* vectors) {
    if (ids.empty()) return;
    if (vectors == nullptr) throw Error(ErrorCode::invalid_argument, "vector index: add() without vectors");
    const size_t d = static_cast<size_t>(dimension);
    // The last of several rows with one id wins, as if added one by one.
    std::unordered_map<int64_t, size_t> last_row;
    for (size_t row = 0; row < ids.size(); ++row) last_row[ids[row]] = row;
    std::vector<int64_t> unique_ids = ids;
    std::vector<float> unique_rows;
    const float* rows = vectors;
    if (last_row.size() != ids.size()) {
      unique_ids.clear();
      for (size_t row = 0; row < ids.size(); ++row) {
        if (last_row[ids[row]] != row) continue;
        unique_ids.push_back(ids[row]);
        unique_rows.insert(unique_rows.end(), vectors + row * d, vectors + (row + 1) * d);
      }
      rows = unique_rows.data();
    }
    // Replacing an id is removing it, then adding it.
    std::vector<int64_t> replaced;
    for (int64_t id : unique_ids) {
      if (contains(id)) replaced.push_back(id);
    }
    remove_ids(replaced);
    if (kind == Kind::ivf) {
      ivf->add_with_ids(static_cast<faiss_id>(unique_ids.size()), rows, unique_ids.data());
    } else {
      add_by_position(unique_ids, rows);
    }
    settle();
  }

  // ---- searching ----------------------------------------------------------

  using Hits = std::vector<VectorIndex::Hit>;

  // faiss' answer (best first, -1 where there was nothing) as hits, the
  // labels mapped to ids by `id_of`.
  template <class IdOf>
  static Hits to_hits(const std::vector<float>& scores, const std::vector<faiss_id>& labels, IdOf id_of) {
    Hits hits;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] < 0) break;
      hits.push_back({id_of(labels[i]), scores[i]});
    }
    return hits;
  }

  Hits search(const float* query, size_t k, const std::function<bool(int64_t)>& allow) const {
    const size_t n = size();
    k = std::min(k, n);
    if (k == 0) return {};
    OneOpenMpThread one_thread;
    switch (kind) {
      case Kind::exact: return search_exact(query, k, allow);
      case Kind::lsh: return search_sketches(query, k, allow);
      case Kind::ivf: return search_ivf(query, k, allow);
      case Kind::hnsw: return search_hnsw(query, k, allow);
    }
    return {};
  }

  Hits search_exact(const float* query, size_t k, const std::function<bool(int64_t)>& allow) const {
    std::vector<float> scores(k);
    std::vector<faiss_id> labels(k);
    faiss::SearchParameters params;
    PredicateSelector selector([&](faiss_id position) { return allow(id_at[static_cast<size_t>(position)]); });
    if (allow) params.sel = &selector;
    flat->search(1, query, static_cast<faiss_id>(k), scores.data(), labels.data(), allow ? &params : nullptr);
    return to_hits(scores, labels, [&](faiss_id position) { return id_at[static_cast<size_t>(position)]; });
  }

  Hits search_sketches(const float* query, size_t k, const std::function<bool(int64_t)>& allow) const {
    const size_t d = static_cast<size_t>(dimension);
    const size_t bits = static_cast<size_t>(sketches->nbits);
    // The query's sketch, as IndexLSH computes a stored one (rotation, then
    // one bit per sign), without BLAS: one small product is not worth a
    // BLAS call, which may also take a lock or threads of its own.
    std::vector<float> rotated(bits);
    const float* rotation = sketches->rrot.A.data();
    for (size_t bit = 0; bit < bits; ++bit) rotated[bit] = dot(rotation + bit * d, query, dimension);
    std::vector<uint8_t> sketch(sketches->code_size);
    faiss::fvecs2bitvecs(rotated.data(), sketch.data(), bits, 1);

    const size_t stored = id_at.size();
    const size_t rerank = options.lsh_rerank > 0 ? options.lsh_rerank : std::max({20 * k, stored / 100, size_t{1000}});
    std::function<bool(size_t)> allowed;
    if (allow) allowed = [&](size_t position) { return allow(id_at[position]); };
    const std::vector<int64_t> candidates = nearest_sketches(sketches->codes.data(), stored, sketches->code_size,
                                                             sketch.data(), std::max(rerank, k), allowed);

    // Exact inner products of the candidates, the best k first.
    std::vector<float> scores(candidates.size());
    const float* stored_vectors = flat->get_xb();
    for (size_t i = 0; i < candidates.size(); ++i) {
      scores[i] = dot(stored_vectors + static_cast<size_t>(candidates[i]) * d, query, dimension);
    }
    std::vector<size_t> order(candidates.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    const size_t best = std::min(k, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(best), order.end(),
                      [&](size_t a, size_t b) {
                        return scores[a] > scores[b] || (scores[a] == scores[b] && candidates[a] < candidates[b]);
                      });
    Hits hits;
    for (size_t i = 0; i < best; ++i) {
      hits.push_back({id_at[static_cast<size_t>(candidates[order[i]])], scores[order[i]]});
    }
    return hits;
  }

  Hits search_ivf(const float* query, size_t k, const std::function<bool(int64_t)>& allow) const {
    const size_t lists = ivf->nlist;
    size_t probe = options.ivf_probe > 0 ? options.ivf_probe : std::max<size_t>(1, lists * 2 / 5);
    PredicateSelector selector([&](faiss_id id) { return allow(id); });
    std::vector<float> scores(k);
    std::vector<faiss_id> labels(k);
    for (;;) {
      faiss::SearchParametersIVF params;
      params.nprobe = std::min(probe, lists);
      if (allow) params.sel = &selector;
      ivf->search(1, query, static_cast<faiss_id>(k), scores.data(), labels.data(), &params);
      Hits hits = to_hits(scores, labels, [](faiss_id id) { return static_cast<int64_t>(id); });
      // Too few in the lists probed (a restrictive filter, or short lists):
      // every list, which is an exact search over what `allow` accepts.
      if (hits.size() == k || params.nprobe >= lists) return hits;
      probe = lists;
    }
  }

  Hits search_hnsw(const float* query, size_t k, const std::function<bool(int64_t)>& allow) const {
    const bool filtered = allow || dead_count > 0;
    PredicateSelector selector([&](faiss_id position) {
      const auto at = static_cast<size_t>(position);
      return !dead[at] && (!allow || allow(id_at[at]));
    });
    std::vector<float> scores(k);
    std::vector<faiss_id> labels(k);
    faiss::SearchParametersHNSW params;
    params.efSearch = options.hnsw_ef_search;
    if (filtered) params.sel = &selector;
    hnsw->search(1, query, static_cast<faiss_id>(k), scores.data(), labels.data(), filtered ? &params : nullptr);
    auto id_of = [&](faiss_id position) { return id_at[static_cast<size_t>(position)]; };
    Hits hits = to_hits(scores, labels, id_of);
    if (hits.size() == k || !filtered) return hits;
    // The graph walk met too few accepted nodes: an exact search over the
    // graph's own storage with the same selector.
    faiss::SearchParameters exact_params;
    exact_params.sel = &selector;
    hnsw->storage->search(1, query, static_cast<faiss_id>(k), scores.data(), labels.data(), &exact_params);
    return to_hits(scores, labels, id_of);
  }

  // ---- saving and loading -------------------------------------------------

  void write(faiss::IOWriter& out, const nlohmann::json& meta) const {
    const nlohmann::json header = {
        {"dimension", dimension},         {"kind", kind_name(kind)},   {"trained_for", trained_for},
        {"positions", id_at.size()},      {"dead", dead_count},        {"sketches", sketches != nullptr},
        {"meta", meta},
    };
    const std::string text = header.dump();
    write_u64(out, text.size());
    write_bytes(out, text.data(), text.size());
    if (kind == Kind::ivf) {
      faiss::write_index(ivf.get(), &out);
      return;
    }
    write_bytes(out, id_at.data(), id_at.size() * sizeof(int64_t));
    if (kind == Kind::hnsw) {
      write_bytes(out, dead.data(), dead.size());
      faiss::write_index(hnsw.get(), &out);
      return;
    }
    faiss::write_index(flat.get(), &out);
    if (sketches) faiss::write_index(sketches.get(), &out);
  }

  // Fills this (freshly built, empty) index from a body written by write();
  // throws on anything inconsistent. Returns the caller's meta.
  nlohmann::json read(faiss::IOReader& in) {
    const uint64_t header_size = read_u64(in);
    if (header_size > (uint64_t{1} << 30)) throw std::runtime_error("an implausible header size");
    std::string text(header_size, '\0');
    read_exactly(in, text.data(), text.size());
    const nlohmann::json header = nlohmann::json::parse(text);
    if (header.at("dimension").get<int>() != dimension) throw std::runtime_error("a header of another dimension");
    const auto saved_kind = parse_kind(header.at("kind").get<std::string>());
    if (!saved_kind) throw std::runtime_error("an unknown index kind");
    const size_t positions = header.at("positions").get<size_t>();
    const size_t d = static_cast<size_t>(dimension);

    build({}, nullptr, Kind::exact);
    flat.reset();
    sketches.reset();
    kind = *saved_kind;
    trained_for = header.at("trained_for").get<size_t>();
    if (kind == Kind::ivf) {
      ivf = read_faiss_index<faiss::IndexIVFFlat>(in, dimension);
      ivf->set_direct_map_type(faiss::DirectMap::Hashtable);
      if (ivf->direct_map.hashtable.size() != static_cast<size_t>(ivf->ntotal)) {
        throw std::runtime_error("inverted lists holding an id twice");
      }
      return header.at("meta");
    }
    if (positions > (uint64_t{1} << 40) / sizeof(int64_t)) throw std::runtime_error("an implausible size");
    id_at.resize(positions);
    read_exactly(in, id_at.data(), positions * sizeof(int64_t));
    if (kind == Kind::hnsw) {
      dead.resize(positions);
      read_exactly(in, dead.data(), positions);
      hnsw = read_faiss_index<faiss::IndexHNSWFlat>(in, dimension);
      hnsw->hnsw.efSearch = options.hnsw_ef_search;
      if (static_cast<size_t>(hnsw->ntotal) != positions) throw std::runtime_error("a graph of another size");
    } else {
      flat = read_faiss_index<faiss::IndexFlatIP>(in, dimension);
      if (static_cast<size_t>(flat->ntotal) != positions) throw std::runtime_error("vectors of another count");
      if (header.at("sketches").get<bool>()) {
        sketches = read_faiss_index<faiss::IndexLSH>(in, dimension);
        if (static_cast<size_t>(sketches->ntotal) != positions || sketches->nbits % 64 != 0 ||
            !sketches->rotate_data || sketches->train_thresholds ||
            sketches->rrot.A.size() != static_cast<size_t>(sketches->nbits) * d) {
          throw std::runtime_error("sketches that do not match the vectors");
        }
      }
    }
    for (size_t position = 0; position < positions; ++position) {
      if (kind == Kind::hnsw && dead[position]) {
        ++dead_count;
        continue;
      }
      if (!position_of.emplace(id_at[position], position).second) throw std::runtime_error("an id stored twice");
    }
    return header.at("meta");
  }

  // A loaded index made to follow the options it is loaded with.
  void adopt_options() {
    if (kind == Kind::exact || kind == Kind::lsh) {
      const bool want_sketches = approximate == Kind::lsh;
      if (want_sketches && (!sketches || sketches->nbits != options.lsh_bits)) {
        sketches = make_sketches();
        sketches->add(flat->ntotal, flat->get_xb());
      } else if (!want_sketches) {
        sketches.reset();
      }
      kind = Kind::exact;  // settle() moves it on when it is large
    } else if (kind != approximate) {
      rebuild(size() > options.exact_until ? approximate : Kind::exact);
    }
    settle();
  }
};

VectorIndex::VectorIndex(int dimension, VectorIndexOptions options)
    : impl_(std::make_unique<Impl>(dimension, std::move(options))) {}

VectorIndex::~VectorIndex() = default;

int VectorIndex::dimension() const { return impl_->dimension; }

size_t VectorIndex::size() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->size();
}

std::string VectorIndex::kind() const {
  std::shared_lock lock(impl_->mutex);
  return kind_name(impl_->kind);
}

void VectorIndex::add(const std::vector<int64_t>& ids, const float* vectors) {
  std::unique_lock lock(impl_->mutex);
  impl_->add(ids, vectors);
}

void VectorIndex::remove(const std::vector<int64_t>& ids) {
  std::unique_lock lock(impl_->mutex);
  impl_->remove_ids(ids);
  impl_->settle();
}

bool VectorIndex::contains(int64_t id) const {
  std::shared_lock lock(impl_->mutex);
  return impl_->contains(id);
}

std::vector<VectorIndex::Hit> VectorIndex::search(const float* query, size_t k,
                                                  const std::function<bool(int64_t)>& allow) const {
  std::shared_lock lock(impl_->mutex);
  return impl_->search(query, k, allow);
}

void VectorIndex::save(const std::filesystem::path& file, const nlohmann::json& meta) const {
  std::shared_lock lock(impl_->mutex);
  write_vector_index_file(file, [&](faiss::IOWriter& out) { impl_->write(out, meta); });
}

std::optional<VectorIndex::Loaded> VectorIndex::load(const std::filesystem::path& file, VectorIndexOptions options) {
  std::string why;
  try {
    auto body = read_vector_index_file(file, why);
    if (body) {
      BodyReader in(*body);
      // The dimension comes from the header: peek at it before building.
      const uint64_t header_size = read_u64(in);
      if (header_size > body->size()) throw std::runtime_error("an implausible header size");
      std::string text(header_size, '\0');
      read_exactly(in, text.data(), text.size());
      const int dimension = nlohmann::json::parse(text).at("dimension").get<int>();

      auto index = std::make_unique<VectorIndex>(dimension, std::move(options));
      BodyReader again(*body);
      nlohmann::json meta = index->impl_->read(again);
      if (!again.at_end()) throw std::runtime_error("bytes after the end of the index");
      body.reset();
      index->impl_->adopt_options();
      return Loaded{std::move(index), std::move(meta)};
    }
  } catch (const Error& e) {
    why = e.what();
  } catch (const std::exception& e) {
    why = std::string("the file is damaged: ") + e.what();
  }
  spdlog::warn("vector index {} not loaded: {}", file.string(), why);
  return std::nullopt;
}

}  // namespace sb::knowledge
