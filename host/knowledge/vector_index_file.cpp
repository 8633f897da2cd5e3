#include "knowledge/vector_index_file.hpp"

#include "core/error.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace sb::knowledge {
namespace {

constexpr std::array<char, 8> kMagic = {'S', 'B', 'V', 'I', 'N', 'D', 'E', 'X'};
constexpr size_t kChecksumSize = crypto_generichash_BYTES;  // 32
constexpr size_t kHeaderSize = kMagic.size() + sizeof(uint32_t);

[[noreturn]] void cannot(const std::string& what, const std::filesystem::path& path) {
  throw Error(ErrorCode::unavailable, "vector index: cannot " + what + " " + path.string() + ": " + std::strerror(errno));
}

// Writes straight to the file descriptor while hashing what it writes, so a
// large index is never copied into memory to be saved.
class HashingFileWriter : public faiss::IOWriter {
 public:
  HashingFileWriter(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {
    crypto_generichash_init(&state_, nullptr, 0, kChecksumSize);
    name = path_.string();
  }

  size_t operator()(const void* ptr, size_t size, size_t nitems) override {
    write(ptr, size * nitems);
    return nitems;
  }

  void write(const void* ptr, size_t bytes) {
    crypto_generichash_update(&state_, static_cast<const unsigned char*>(ptr), bytes);
    const char* data = static_cast<const char*>(ptr);
    size_t done = 0;
    while (done < bytes) {
      const ssize_t n = ::write(fd_, data + done, bytes - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        cannot("write", path_);
      }
      done += static_cast<size_t>(n);
    }
  }

  // Appends the checksum of everything written so far (not hashed itself).
  void finish() {
    std::array<unsigned char, kChecksumSize> checksum{};
    crypto_generichash_final(&state_, checksum.data(), checksum.size());
    size_t done = 0;
    while (done < checksum.size()) {
      const ssize_t n = ::write(fd_, checksum.data() + done, checksum.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        cannot("write", path_);
      }
      done += static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
  std::filesystem::path path_;
  crypto_generichash_state state_{};
};

}  // namespace

void write_vector_index_file(const std::filesystem::path& file,
                             const std::function<void(faiss::IOWriter&)>& write_body) {
  static const bool sodium_ready = sodium_init() >= 0;
  if (!sodium_ready) throw Error(ErrorCode::internal, "vector index: libsodium failed to initialise");
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path tmp = file;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) cannot("create", tmp);
  try {
    HashingFileWriter writer(fd, tmp);
    writer.write(kMagic.data(), kMagic.size());
    const uint32_t version = kVectorIndexFormatVersion;
    writer.write(&version, sizeof version);
    write_body(writer);
    writer.finish();
    if (::fsync(fd) != 0) cannot("flush", tmp);
  } catch (const Error&) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  } catch (const std::exception& e) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::unavailable, "vector index: cannot write " + tmp.string() + ": " + e.what());
  }
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    cannot("rename into", file);
  }
  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

std::optional<std::vector<uint8_t>> read_vector_index_file(const std::filesystem::path& file, std::string& why) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) {
    why = "the file is missing or not a regular file";
    return std::nullopt;
  }
  const std::uintmax_t size = std::filesystem::file_size(file, error);
  std::ifstream in(file, std::ios::binary);
  if (error || !in) {
    why = "the file cannot be opened";
    return std::nullopt;
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    why = "the file cannot be read";
    return std::nullopt;
  }
  if (bytes.size() < kHeaderSize + kChecksumSize) {
    why = "the file is too short to be a vector index (" + std::to_string(bytes.size()) + " bytes)";
    return std::nullopt;
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    why = "the file is not a vector index (wrong magic)";
    return std::nullopt;
  }
  uint32_t version = 0;
  std::memcpy(&version, bytes.data() + kMagic.size(), sizeof version);
  if (version != kVectorIndexFormatVersion) {
    why = "the file has format version " + std::to_string(version) + ", this build reads version " +
          std::to_string(kVectorIndexFormatVersion);
    return std::nullopt;
  }
  if (sodium_init() < 0) {
    why = "libsodium failed to initialise";
    return std::nullopt;
  }
  const size_t hashed = bytes.size() - kChecksumSize;
  std::array<unsigned char, kChecksumSize> checksum{};
  crypto_generichash(checksum.data(), checksum.size(), bytes.data(), hashed, nullptr, 0);
  if (std::memcmp(checksum.data(), bytes.data() + hashed, kChecksumSize) != 0) {
    why = "the file is damaged or truncated (checksum mismatch)";
    return std::nullopt;
  }
  bytes.resize(hashed);
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(kHeaderSize));
  return bytes;
}

size_t BodyReader::operator()(void* ptr, size_t size, size_t nitems) {
  if (size == 0 || nitems == 0) return 0;
  const size_t available = (body_.size() - offset_) / size;
  const size_t items = std::min(nitems, available);
  std::memcpy(ptr, body_.data() + offset_, items * size);
  offset_ += items * size;
  return items;
}

}  // namespace sb::knowledge
