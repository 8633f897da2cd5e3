#include "knowledge/vector_index_sketch.hpp"

#include <cstring>

namespace sb::knowledge {
namespace {

using Distance = uint16_t;  // at most code_size * 8 bits: sketches stay far below 65536 bits

// Hamming distances of every sketch to the query, word by word. Always
// inlined so that the copy below compiled for popcnt gets the instruction.
__attribute__((always_inline)) inline void hamming_distances(const uint8_t* codes, size_t n, size_t words,
                                                             const uint64_t* query, Distance* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* code = codes + i * words * 8;
    unsigned distance = 0;
    for (size_t w = 0; w < words; ++w) {
      uint64_t word;
      std::memcpy(&word, code + w * 8, 8);
      distance += static_cast<unsigned>(__builtin_popcountll(word ^ query[w]));
    }
    out[i] = static_cast<Distance>(distance);
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt"))) void hamming_distances_popcnt(const uint8_t* codes, size_t n, size_t words,
                                                                const uint64_t* query, Distance* out) {
  hamming_distances(codes, n, words, query, out);
}
void hamming_distances_portable(const uint8_t* codes, size_t n, size_t words, const uint64_t* query, Distance* out) {
  hamming_distances(codes, n, words, query, out);
}
void compute_distances(const uint8_t* codes, size_t n, size_t words, const uint64_t* query, Distance* out) {
  static const bool has_popcnt = __builtin_cpu_supports("popcnt");
  if (has_popcnt) {
    hamming_distances_popcnt(codes, n, words, query, out);
  } else {
    hamming_distances_portable(codes, n, words, query, out);
  }
}
#else
void compute_distances(const uint8_t* codes, size_t n, size_t words, const uint64_t* query, Distance* out) {
  hamming_distances(codes, n, words, query, out);
}
#endif

}  // namespace

std::vector<int64_t> nearest_sketches(const uint8_t* codes, size_t n, size_t code_size, const uint8_t* query,
                                      size_t count, const std::function<bool(size_t)>& allow) {
  std::vector<int64_t> picked;
  if (n == 0 || count == 0) return picked;
  const size_t words = code_size / 8;
  std::vector<uint64_t> query_words(words);
  std::memcpy(query_words.data(), query, words * 8);

  // Distances first, then a histogram to find the distance below which
  // `count` sketches lie: two linear passes, no heap, no sort.
  thread_local std::vector<Distance> distances;
  distances.resize(n);
  compute_distances(codes, n, words, query_words.data(), distances.data());
  const Distance excluded = static_cast<Distance>(code_size * 8 + 1);
  if (allow) {
    for (size_t i = 0; i < n; ++i) {
      if (!allow(i)) distances[i] = excluded;
    }
  }
  std::vector<size_t> histogram(code_size * 8 + 2, 0);
  for (size_t i = 0; i < n; ++i) ++histogram[distances[i]];

  size_t below = 0;
  Distance threshold = 0;
  while (threshold < excluded && below + histogram[threshold] < count) below += histogram[threshold++];
  size_t at_threshold = threshold < excluded ? count - below : 0;
  picked.reserve(below + at_threshold);
  for (size_t i = 0; i < n; ++i) {
    if (distances[i] < threshold) {
      picked.push_back(static_cast<int64_t>(i));
    } else if (distances[i] == threshold && at_threshold > 0) {
      picked.push_back(static_cast<int64_t>(i));
      --at_threshold;
    }
  }
  return picked;
}

}  // namespace sb::knowledge
