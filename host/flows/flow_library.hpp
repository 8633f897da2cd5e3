#pragma once
// The flows each workspace runs: their current revisions (what new
// executions start on) and every revision still needed by an execution that
// started earlier. Flows come from a flows directory,
//
//   <flows_dir>/<workspace id>/<name>.json   graph documents
//   <flows_dir>/<workspace id>/<name>.lua    Lua flows
//
// re-read when a file changes (rescan()), or are installed directly
// (install_source(), for tests and the API). A file that fails validation
// leaves the revision loaded before it in place; its problems are kept in
// files(). Every installed revision is saved in flow_revisions, so an
// execution finds the revision it started on after a restart even when the
// file has changed since.
//
// Threads: every member is thread-safe (one mutex; readers get shared_ptrs).
#include "flows/flow_document.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sb::flows {

struct FlowFileStatus {
  std::filesystem::path path;
  std::string workspace_id;
  std::string flow_id;  // "" when the file never loaded
  std::string hash;     // the revision loaded from it, if any
  std::vector<Problem> problems;  // of the last attempt; empty when it loaded
};

class FlowLibrary {
 public:
  FlowLibrary(store::Database& db, std::shared_ptr<const NodeCatalog> catalog);

  const std::shared_ptr<const NodeCatalog>& catalog() const { return catalog_; }

  // Reads every flow file under `dir` now and remembers `dir` for rescan().
  // A missing directory is created.
  void load_directory(const std::filesystem::path& dir);
  // Re-reads files that changed, appeared or disappeared since the last
  // look (by size and modification time). A removed file removes its flow
  // (executions in progress finish on their revision). True when the set of
  // current flows changed.
  bool rescan();

  // Validates `text` (kind by `file_name`'s extension) and, when valid, makes
  // it the current revision of its flow in `workspace_id`. Returns the
  // problems otherwise (nothing changes). not_found for an unknown workspace.
  ParseResult install_source(const std::string& workspace_id, const std::string& file_name, std::string_view text);
  void remove(const std::string& workspace_id, const std::string& flow_id);

  FlowPtr current(const std::string& workspace_id, const std::string& flow_id) const;
  // A revision by hash: from memory, else from flow_revisions (parsed again).
  FlowPtr revision(const std::string& workspace_id, const std::string& flow_id, const std::string& hash);
  // Current flows of a workspace, by id.
  std::vector<FlowPtr> flows(const std::string& workspace_id) const;
  // Every workspace with current flows.
  std::vector<std::string> workspaces() const;
  std::vector<FlowFileStatus> files() const;
  // Bumped by every change of current flows.
  uint64_t generation() const;

 private:
  struct FileStamp {
    uintmax_t size = 0;
    std::filesystem::file_time_type mtime{};
  };
  ParseResult load_file(const std::filesystem::path& file, const std::string& workspace_id);
  // Saves the revision (write job) and makes it current. Needs no lock held.
  void make_current(const std::string& organization_id, const std::string& workspace_id, FlowPtr flow);
  std::optional<std::string> organization_of(const std::string& workspace_id);

  store::Database& db_;
  std::shared_ptr<const NodeCatalog> catalog_;
  mutable std::mutex mu_;
  std::optional<std::filesystem::path> dir_;
  std::map<std::string, std::map<std::string, FlowPtr>> current_;  // workspace -> flow id -> revision
  std::map<std::string, FlowPtr> revisions_;                        // "ws/flow/hash" -> revision
  std::map<std::filesystem::path, FileStamp> stamps_;
  std::map<std::filesystem::path, FlowFileStatus> files_;
  std::map<std::string, std::string> organizations_;  // workspace -> organization
  uint64_t generation_ = 0;
};

}  // namespace sb::flows
