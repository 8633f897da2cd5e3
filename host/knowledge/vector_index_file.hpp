#pragma once
// The file a VectorIndex is saved to: a magic, a format version, the body
// (written by the index through a faiss::IOWriter: its header, id tables and
// faiss indexes), then a BLAKE2b-256 checksum of everything before it. The
// checksum is verified before any byte of the body is parsed, so faiss never
// reads a damaged or truncated body.
//
//   "SBVINDEX" | u32 version | body ... | 32-byte checksum
//
// Pure functions over files: safe on any thread (one writer per file).
#include <faiss/impl/io.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sb::knowledge {

inline constexpr uint32_t kVectorIndexFormatVersion = 1;

// Writes a temporary file next to `file` (magic, version, what `write_body`
// writes, checksum), fsyncs it, renames it over `file` and fsyncs the
// directory: a crash leaves the old file or the new one. Throws
// sb::Error(unavailable) when the file cannot be written.
void write_vector_index_file(const std::filesystem::path& file,
                             const std::function<void(faiss::IOWriter&)>& write_body);

// The verified body of `file`, or nullopt (with `why` set) when the file is
// missing, shorter than a header, of another format or version, or its
// checksum does not match.
std::optional<std::vector<uint8_t>> read_vector_index_file(const std::filesystem::path& file, std::string& why);

// Reads a body from memory. Like fread, a read past the end returns fewer
// items than asked; faiss's readers then throw faiss::FaissException.
class BodyReader : public faiss::IOReader {
 public:
  explicit BodyReader(const std::vector<uint8_t>& body) : body_(body) {}
  size_t operator()(void* ptr, size_t size, size_t nitems) override;
  bool at_end() const { return offset_ == body_.size(); }

 private:
  const std::vector<uint8_t>& body_;
  size_t offset_ = 0;
};

}  // namespace sb::knowledge
