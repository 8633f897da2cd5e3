#include "store/blob_store.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "store/profile_repository.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sb::store {
namespace {

bool safe_component(const std::string& s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

[[noreturn]] void disk_error(const std::string& what, const std::filesystem::path& path) {
  throw Error(ErrorCode::unavailable, "blob store: cannot " + what + " " + path.string() + ": " + std::strerror(errno));
}

// Writes `data` to `path` through a temporary file, fsync and rename, then
// fsyncs the directory so the rename survives a crash.
void write_atomically(const std::filesystem::path& path, std::string_view data) {
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) disk_error("create", tmp);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      disk_error("write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    disk_error("flush", tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    disk_error("rename into", path);
  }
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

nlohmann::json BlobInfo::to_json() const {
  return {{"ref", ref}, {"content_type", content_type}, {"size", size}, {"sha256", sha256}};
}

BlobStore::BlobStore(std::filesystem::path root) : root_(std::move(root)) {}

std::optional<std::string> BlobStore::parse_ref(std::string_view ref) {
  constexpr std::string_view prefix = "blob:";
  if (ref.size() != prefix.size() + 64 || ref.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string sha(ref.substr(prefix.size()));
  for (char c : sha) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return sha;
}

std::filesystem::path BlobStore::dir_of(const std::string& workspace_id) const {
  if (!safe_component(workspace_id)) {
    throw Error(ErrorCode::invalid_argument, "blob store: unusable workspace id \"" + workspace_id + "\"");
  }
  return root_ / workspace_id;
}

BlobInfo BlobStore::put(const std::string& workspace_id, std::string_view content_type, std::string_view data) {
  const std::filesystem::path dir = dir_of(workspace_id);
  BlobInfo info;
  info.sha256 = sha256_hex(data);
  info.ref = "blob:" + info.sha256;
  info.size = data.size();
  info.content_type = content_type.empty() ? "application/octet-stream" : std::string(content_type);
  if (auto existing = get(workspace_id, info.ref)) return *existing;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::unavailable, "blob store: cannot create " + dir.string() + ": " + ec.message());
  // Bytes first, then the description: a blob is visible once both exist.
  write_atomically(dir / info.sha256, data);
  write_atomically(dir / (info.sha256 + ".meta"),
                   nlohmann::json{{"content_type", info.content_type}, {"size", info.size}}.dump());
  return info;
}

std::optional<BlobInfo> BlobStore::get(const std::string& workspace_id, std::string_view ref, std::string* data) const {
  const auto sha = parse_ref(ref);
  if (!sha) throw Error(ErrorCode::invalid_argument, "\"" + std::string(ref) + "\" is not a blob reference (blob:<sha256>)");
  const std::filesystem::path dir = dir_of(workspace_id);
  const auto meta_text = read_file(dir / (*sha + ".meta"));
  if (!meta_text) return std::nullopt;
  BlobInfo info;
  info.sha256 = *sha;
  info.ref = "blob:" + *sha;
  try {
    const auto meta = nlohmann::json::parse(*meta_text);
    info.content_type = meta.value("content_type", std::string("application/octet-stream"));
    info.size = meta.value("size", uint64_t{0});
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a torn description cannot happen (renamed whole); treat as absent
  }
  if (data) {
    auto bytes = read_file(dir / *sha);
    if (!bytes) return std::nullopt;
    *data = std::move(*bytes);
  } else {
    std::error_code ec;
    if (!std::filesystem::exists(dir / *sha, ec)) return std::nullopt;
  }
  return info;
}

// ---- PluginBlobs ----

std::string PluginBlobs::workspace_of(const std::string& instance_id) {
  // Read every time, not cached: a profile id freed by one workspace may be
  // taken by another, and a stale answer would cross tenants. Blob calls are
  // rare (media), one indexed read each.
  auto profile = db_.read([&](Connection& c) { return profiles::get(c, instance_id); });
  if (!profile) {
    throw Error(ErrorCode::not_found, "instance " + instance_id + " belongs to no profile, so it has no blob store");
  }
  return profile->workspace_id;
}

std::string PluginBlobs::put(const std::string&, const std::string& instance_id, std::string_view content_type,
                             std::string_view data) {
  return blobs_.put(workspace_of(instance_id), content_type, data).ref;
}

std::optional<plugins::PluginBlob> PluginBlobs::get(const std::string&, const std::string& instance_id,
                                                    std::string_view ref) {
  plugins::PluginBlob blob;
  auto info = blobs_.get(workspace_of(instance_id), ref, &blob.data);
  if (!info) return std::nullopt;
  blob.meta = info->to_json();
  return blob;
}

}  // namespace sb::store
