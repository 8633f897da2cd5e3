#pragma once
// Candidate generation for the "lsh" kind of VectorIndex: every vector has a
// sign sketch (faiss::IndexLSH: a random rotation to `bits` dimensions, one
// bit per sign), and the Hamming distance between two sketches estimates the
// angle between the vectors. A scan of all sketches picks the candidates that
// VectorIndex then re-ranks by exact inner product.
//
// This scan exists because Debian's faiss is built for baseline x86-64 and
// counts bits in software, which makes its own Hamming search several times
// slower than the popcnt instruction (docs/performance.md).
//
// Pure functions: safe on any thread.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace sb::knowledge {

// The positions of the `count` sketches nearest to `query` by Hamming
// distance (ties broken by position), among the `n` sketches of
// `code_size` bytes each stored row after row in `codes`; with `allow`, only
// positions it accepts. Fewer than `count` when fewer are allowed. Unordered.
// `code_size` must be a multiple of 8.
std::vector<int64_t> nearest_sketches(const uint8_t* codes, size_t n, size_t code_size, const uint8_t* query,
                                      size_t count, const std::function<bool(size_t)>& allow = {});

}  // namespace sb::knowledge
