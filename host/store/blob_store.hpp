#pragma once
// The host's blob store: media and files kept as content-addressed files
// under <root>/<workspace>/<sha256> (the bytes) and <sha256>.meta (JSON:
// content type and size), each written to a temporary file, flushed and
// renamed into place, so a reader sees a whole blob or none. A reference is
// "blob:<sha256 hex>". Blobs are per workspace: the same bytes stored by two
// workspaces are two files, and a workspace never reads another's.
//
// store::PluginBlobs is what HostServices::set_blob_store() is given: it
// finds the workspace of a plugin instance (a channel instance's id is its
// profile id) and serves the ABI 1.1 host services blob_put / blob_get.
//
// Thread-safe: writers of the same blob race only to rename identical bytes.
#include "plugins/host_services.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace sb::store {

struct BlobInfo {
  std::string ref;           // "blob:<sha256>"
  std::string sha256;        // 64 lower-case hex digits
  std::string content_type;  // as given when first stored
  uint64_t size = 0;
  nlohmann::json to_json() const;  // {"ref","content_type","size","sha256"}
};

class BlobStore {
 public:
  explicit BlobStore(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }

  // Stores `data` for `workspace_id` and returns its description; returns
  // once the files are durable. Storing bytes already held is a no-op (the
  // first content type stays). Throws sb::Error: invalid_argument for an
  // unusable workspace id, unavailable when the disk refuses.
  BlobInfo put(const std::string& workspace_id, std::string_view content_type, std::string_view data);

  // The blob `ref` of `workspace_id` (nullopt when it holds none); with
  // `data`, its bytes too. Throws sb::Error(invalid_argument) for a
  // malformed ref or workspace id.
  std::optional<BlobInfo> get(const std::string& workspace_id, std::string_view ref, std::string* data = nullptr) const;

  // The sha256 of a well-formed ref ("blob:" + 64 lower-case hex), or nullopt.
  static std::optional<std::string> parse_ref(std::string_view ref);

 private:
  std::filesystem::path dir_of(const std::string& workspace_id) const;

  std::filesystem::path root_;
};

class PluginBlobs final : public plugins::PluginBlobStore {
 public:
  PluginBlobs(Database& db, BlobStore& blobs) : db_(db), blobs_(blobs) {}

  std::string put(const std::string& plugin_id, const std::string& instance_id, std::string_view content_type,
                  std::string_view data) override;
  std::optional<plugins::PluginBlob> get(const std::string& plugin_id, const std::string& instance_id,
                                         std::string_view ref) override;

 private:
  // The workspace of the profile `instance_id`, read each time; throws
  // sb::Error(not_found) when the instance is not a profile's.
  std::string workspace_of(const std::string& instance_id);

  Database& db_;
  BlobStore& blobs_;
};

}  // namespace sb::store
