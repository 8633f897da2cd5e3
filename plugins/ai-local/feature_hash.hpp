#pragma once
// The 64-bit hashes behind ai-local's feature hashing: FNV-1a over the
// bytes, then the MurmurHash3 finalizer, whose avalanche spreads FNV's weak
// high bits over all 64 so that a feature's bucket and sign (taken from
// different bits) are independent. Everything is fixed-width unsigned
// arithmetic: the same text hashes the same on every machine, and
// embeddings stay comparable across builds.
#include <cstdint>
#include <string_view>

namespace ai_local {

inline constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
inline constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

// What kind of feature a hash stands for; mixed into the hash so that the
// word "art" and the character trigram "art" are different features.
enum class FeatureKind : uint64_t {
  word = 0x5157a7e1d0000001ULL,
  word_pair = 0x5157a7e1d0000002ULL,
  char_gram = 0x5157a7e1d0000003ULL,
};

// MurmurHash3's fmix64.
inline constexpr uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

inline constexpr uint64_t fnv1a_step(uint64_t h, unsigned char byte) { return (h ^ byte) * kFnvPrime; }

inline uint64_t fnv1a(std::string_view bytes, uint64_t h = kFnvOffsetBasis) {
  for (char c : bytes) h = fnv1a_step(h, static_cast<unsigned char>(c));
  return h;
}

// The feature hash of a word (unmixed FNV state in, mixed hash out).
inline uint64_t word_feature(std::string_view word) {
  return mix64(fnv1a(word) ^ static_cast<uint64_t>(FeatureKind::word));
}

// The feature hash of two adjacent words, from their word features; the
// order matters ("hours opening" is not "opening hours").
inline uint64_t word_pair_feature(uint64_t first, uint64_t second) {
  return mix64((first * 0x9e3779b97f4a7c15ULL + second) ^ static_cast<uint64_t>(FeatureKind::word_pair));
}

}  // namespace ai_local
