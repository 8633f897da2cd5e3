#pragma once
// The flows each workspace runs: their current revisions (what new
// executions start on) and every revision still needed by an execution that
// started earlier. Flows come from a flows directory,
//
//   <flows_dir>/<workspace id>/<name>.json   graph documents
//   <flows_dir>/<workspace id>/<name>.lua    Lua flows
//
// re-read when a file changes (rescan()), or are installed directly
// (install_source(), for tests). A file that fails validation leaves the
// revision loaded before it in place; its problems are kept in files().
// Every installed revision is saved in flow_revisions, so an execution finds
// the revision it started on after a restart even when the file has changed
// since.
//
// The HTTP API edits the same directory (flow_library_files.cpp): it writes
// flow files (<id>.flow.json, <id>.lua) atomically and loads them at once,
// and disables a flow by renaming its file to <file>.disabled, which
// rescan() does not load. So a flow made through the API and one copied in
// by hand are the same thing: both survive restarts and are hot-reloaded.
//
// Threads: every member is thread-safe (one mutex for the state, readers get
// shared_ptrs; one more that keeps rescans and edits of the directory apart).
#include "flows/execution_repository.hpp"
#include "flows/flow_document.hpp"
#include "store/database.hpp"
#include "store/page.hpp"

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

// A flow of a workspace as the directory holds it (the HTTP API's view).
struct FlowEntry {
  std::string flow_id;            // from the file name when the file never loaded
  std::filesystem::path path;     // its file; empty for a flow installed without one
  bool enabled = true;            // false: the file is <name>.disabled
  FlowPtr flow;                   // what runs (enabled) or what the disabled file holds; null if it never loaded
  std::vector<Problem> problems;  // of the file's last load; empty when it loaded
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

  // Checks a flow's text as the directory and install_source() do: a graph
  // document, or a Lua flow whose id defaults to `default_id`.
  ParseResult parse(FlowDefinition::Kind kind, std::string_view text, const std::string& default_id = "",
                    const std::string& source_path = "") const;
  // The directory given to load_directory(), if any.
  std::optional<std::filesystem::path> directory() const;

  // Editing the directory (the HTTP API; flow_library_files.cpp). `flow`
  // comes from parse() (so it is valid); its text is written to a temporary
  // file renamed over the target, and what was written is loaded at once.
  // unavailable without a directory, not_found for an unknown workspace.
  //
  // Every flow of a workspace, by id: loaded, refused (with problems) and
  // disabled ones.
  std::vector<FlowEntry> entries(const std::string& workspace_id) const;
  // One of them (an enabled one before a disabled one of the same id).
  std::optional<FlowEntry> entry(const std::string& workspace_id, const std::string& flow_id) const;
  // Writes a new flow as <id>.flow.json or <id>.lua. conflict when the
  // workspace has a flow (or a file) of that id, enabled or not.
  FlowEntry create_file(const std::string& workspace_id, const FlowPtr& flow);
  // Writes over the flow's file (a disabled one stays disabled, and its
  // revision is stored without starting anything). A change of kind moves
  // it to the other file name. not_found when there is no such flow.
  FlowEntry replace_file(const std::string& workspace_id, const FlowPtr& flow);
  // Removes the flow's file: no new starts; executions in progress finish
  // on their revision. not_found when there is no such flow.
  void delete_file(const std::string& workspace_id, const std::string& flow_id);
  // Renames the file to or from <name>.disabled. A disabled flow starts no
  // new executions (running ones finish); enabling loads the file again.
  // not_found, or conflict when the other name is taken.
  FlowEntry set_enabled(const std::string& workspace_id, const std::string& flow_id, bool enabled);
  // A flow's stored revisions (flow_revisions) without their sources,
  // newest first, keyed by (created_at, hash).
  store::Page<FlowRevision> revision_history(const std::string& workspace_id, const std::string& flow_id,
                                             const store::PageRequest& page) const;

  // A graph the host composes itself (a profile's auto_reply): parsed and
  // its revision saved like any other, so that an execution waiting in it
  // finds it after a restart, but never current (no message starts it by a
  // trigger). The same text gives the same revision. Throws
  // sb::Error(internal) when the text does not validate (a host bug), and
  // not_found for an unknown workspace.
  FlowPtr built_in(const std::string& workspace_id, std::string_view text);

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
  // load_file() and the file's status (and log lines), as rescan() does for
  // a changed file. The caller has recorded the file's stamp.
  void load_and_record(const std::filesystem::path& file, const std::string& workspace_id);
  // Makes `flow`, just written to `file`, current without reading it back.
  void adopt_written(const std::string& workspace_id, const std::filesystem::path& file, const FlowPtr& flow);
  void forget_file(const std::filesystem::path& file);
  std::filesystem::path require_directory() const;
  // Saves the revision (write job) and makes it current. Needs no lock held.
  void save_revision(const std::string& organization_id, const std::string& workspace_id, const FlowPtr& flow);
  void make_current(const std::string& organization_id, const std::string& workspace_id, FlowPtr flow);
  std::optional<std::string> organization_of(const std::string& workspace_id);

  store::Database& db_;
  std::shared_ptr<const NodeCatalog> catalog_;
  // Held by rescan() and by each edit: an edit's check, write and load are
  // not interleaved with a scan of the same files. Taken before mu_.
  std::mutex edit_mu_;
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
