// FlowLibrary: the flows directory as the HTTP API edits it — listing every
// flow file of a workspace (disabled ones too), writing flow files
// atomically, removing them, renaming them to and from <name>.disabled, and
// the stored revisions of a flow. See flow_library.hpp.
#include "flows/flow_library.hpp"

#include "core/error.hpp"
#include "store/keyset.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace sb::flows {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kDisabled = ".disabled";

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// <name>.json.disabled / <name>.lua.disabled: a flow file taken out of the
// directory's view by renaming, not a flow file (rescan() skips it).
bool is_disabled_flow_file(const fs::path& p) {
  const std::string name = p.filename().string();
  return ends_with(name, ".json.disabled") || ends_with(name, ".lua.disabled");
}

fs::path without_disabled(const fs::path& p) {
  std::string s = p.string();
  if (ends_with(s, kDisabled)) s.resize(s.size() - kDisabled.size());
  return s;
}

// The kind a file's name says, looking through a ".disabled".
FlowDefinition::Kind kind_of(const fs::path& p) {
  return without_disabled(p).extension() == ".lua" ? FlowDefinition::Kind::lua : FlowDefinition::Kind::graph;
}

// The id a file name gives: welcome.flow.json -> welcome, order.lua -> order
// (the default of a Lua flow, and the name of a file that never loaded).
std::string id_from_name(const fs::path& p) {
  std::string id = without_disabled(p).stem().string();
  if (ends_with(id, ".flow")) id.resize(id.size() - 5);
  return id;
}

// Where the API writes a new flow.
fs::path canonical_file(const fs::path& dir, const std::string& workspace_id, const FlowDefinition& flow) {
  return dir / workspace_id / (flow.id + (flow.kind == FlowDefinition::Kind::lua ? ".lua" : ".flow.json"));
}

bool file_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

Error file_error(const std::string& what, const fs::path& p, const std::string& why) {
  // The full path is the operator's business; the API caller sees the name.
  spdlog::error("flows: cannot {} {}: {}", what, p.string(), why);
  return Error(ErrorCode::unavailable, "cannot " + what + " the flow file " + p.filename().string() + ": " + why);
}

// Writes `text` to <target>.tmp, flushes it to disk and renames it over
// `target`: a reader (the hot reload, a restart after a crash) sees the old
// file or the new one, never half of one.
void write_atomically(const fs::path& target, std::string_view text) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  fs::path tmp = target;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw file_error("write", target, std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      fs::remove(tmp, ec);
      throw file_error("write", target, why);
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const std::string why = synced ? "" : std::strerror(errno);
  ::close(fd);
  if (!synced) {
    fs::remove(tmp, ec);
    throw file_error("write", target, why);
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw file_error("write", target, ec.message());
  }
  // The rename itself is durable once the directory is.
  if (const int dfd = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::optional<std::string> read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Error no_flow(const std::string& flow_id) {
  return Error(ErrorCode::not_found, "no flow '" + flow_id + "' in this workspace", {{"field", "flow_id"}});
}

}  // namespace

fs::path FlowLibrary::require_directory() const {
  auto dir = directory();
  if (!dir) throw Error(ErrorCode::unavailable, "this host has no flows directory");
  return *dir;
}

std::vector<FlowEntry> FlowLibrary::entries(const std::string& workspace_id) const {
  std::vector<FlowEntry> out;
  std::optional<fs::path> dir;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dir = dir_;
    const auto ws = current_.find(workspace_id);
    for (const auto& [path, status] : files_) {
      if (status.workspace_id != workspace_id) continue;
      FlowEntry e;
      e.path = path;
      e.flow_id = status.flow_id.empty() ? id_from_name(path) : status.flow_id;
      e.problems = status.problems;
      if (!status.flow_id.empty()) {
        if (ws != current_.end()) {
          if (auto it = ws->second.find(status.flow_id); it != ws->second.end() && it->second->hash == status.hash)
            e.flow = it->second;
        }
        if (!e.flow) {
          if (auto it = revisions_.find(workspace_id + "/" + status.flow_id + "/" + status.hash); it != revisions_.end())
            e.flow = it->second;
        }
      }
      out.push_back(std::move(e));
    }
    // Flows installed without a file (install_source).
    if (ws != current_.end()) {
      for (const auto& [id, flow] : ws->second) {
        const bool listed = std::any_of(out.begin(), out.end(), [&](const FlowEntry& e) { return e.flow_id == id; });
        if (!listed) out.push_back(FlowEntry{id, {}, true, flow, {}});
      }
    }
  }
  // Disabled files: read (and checked) here, outside the lock; a workspace
  // has few of them.
  if (dir) {
    std::error_code ec;
    for (fs::directory_iterator f(*dir / workspace_id, ec), end; !ec && f != end; f.increment(ec)) {
      const fs::path path = f->path();
      if (!f->is_regular_file() || !is_disabled_flow_file(path)) continue;
      FlowEntry e;
      e.path = path;
      e.enabled = false;
      const auto text = read_text(path);
      if (!text) {
        e.problems.push_back({"", "cannot read " + path.filename().string() + ": " + std::strerror(errno)});
      } else {
        ParseResult parsed = parse(kind_of(path), *text, id_from_name(path), without_disabled(path).string());
        e.flow = parsed.flow;
        e.problems = std::move(parsed.problems);
      }
      e.flow_id = e.flow ? e.flow->id : id_from_name(path);
      out.push_back(std::move(e));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const FlowEntry& a, const FlowEntry& b) {
    return a.flow_id != b.flow_id ? a.flow_id < b.flow_id : a.enabled > b.enabled;
  });
  return out;
}

std::optional<FlowEntry> FlowLibrary::entry(const std::string& workspace_id, const std::string& flow_id) const {
  for (auto& e : entries(workspace_id)) {
    if (e.flow_id == flow_id) return std::move(e);  // sorted: an enabled one first
  }
  return std::nullopt;
}

void FlowLibrary::adopt_written(const std::string& workspace_id, const fs::path& file, const FlowPtr& flow) {
  auto org = organization_of(workspace_id);
  if (!org) throw Error(ErrorCode::not_found, "no workspace '" + workspace_id + "'");
  auto loaded = std::make_shared<FlowDefinition>(*flow);
  loaded->source_path = without_disabled(file).string();
  std::error_code ec;
  const FileStamp stamp{fs::file_size(file, ec), fs::last_write_time(file, ec)};
  if (file.string() != loaded->source_path) {
    save_revision(*org, workspace_id, loaded);  // disabled: stored, not started
    return;
  }
  make_current(*org, workspace_id, loaded);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The stamp of what was written: the next rescan finds it unchanged.
    stamps_[file] = stamp;
    files_[file] = FlowFileStatus{file, workspace_id, loaded->id, loaded->hash, {}};
  }
  spdlog::info("flows: wrote {} (flow {} rev {}, {})", file.string(), loaded->id, loaded->rev,
               loaded->hash.substr(0, 12));
}

void FlowLibrary::forget_file(const fs::path& file) {
  std::lock_guard<std::mutex> lock(mu_);
  stamps_.erase(file);
  files_.erase(file);
}

FlowEntry FlowLibrary::create_file(const std::string& workspace_id, const FlowPtr& flow) {
  std::lock_guard<std::mutex> edit(edit_mu_);
  const fs::path dir = require_directory();
  const fs::path target = canonical_file(dir, workspace_id, *flow);
  fs::path disabled = target;
  disabled += kDisabled;
  if (entry(workspace_id, flow->id) || file_exists(target) || file_exists(disabled)) {
    throw Error(ErrorCode::conflict, "the workspace already has a flow '" + flow->id + "'", {{"field", "id"}});
  }
  write_atomically(target, flow->source);
  adopt_written(workspace_id, target, flow);
  return *entry(workspace_id, flow->id);
}

FlowEntry FlowLibrary::replace_file(const std::string& workspace_id, const FlowPtr& flow) {
  std::lock_guard<std::mutex> edit(edit_mu_);
  const fs::path dir = require_directory();
  auto old = entry(workspace_id, flow->id);
  if (!old) throw no_flow(flow->id);
  fs::path target;
  if (!old->path.empty() && kind_of(old->path) == flow->kind) {
    target = old->path;
  } else {
    target = canonical_file(dir, workspace_id, *flow);
    if (!old->enabled) target += kDisabled;
    if (file_exists(target) && target != old->path) {
      throw Error(ErrorCode::conflict, "the file " + target.filename().string() + " exists already");
    }
  }
  write_atomically(target, flow->source);
  if (!old->path.empty() && target != old->path) {
    std::error_code ec;
    fs::remove(old->path, ec);
    forget_file(old->path);
  }
  adopt_written(workspace_id, target, flow);
  auto now = entry(workspace_id, flow->id);
  return now ? *now : FlowEntry{flow->id, target, old->enabled, flow, {}};
}

void FlowLibrary::delete_file(const std::string& workspace_id, const std::string& flow_id) {
  std::lock_guard<std::mutex> edit(edit_mu_);
  auto old = entry(workspace_id, flow_id);
  if (!old) throw no_flow(flow_id);
  if (!old->path.empty()) {
    std::error_code ec;
    if (!fs::remove(old->path, ec) && ec) throw file_error("remove", old->path, ec.message());
    forget_file(old->path);
    spdlog::info("flows: removed {}; flow {} no longer starts", old->path.string(), flow_id);
  }
  if (old->enabled && old->flow) remove(workspace_id, flow_id);
}

FlowEntry FlowLibrary::set_enabled(const std::string& workspace_id, const std::string& flow_id, bool enabled) {
  std::lock_guard<std::mutex> edit(edit_mu_);
  auto old = entry(workspace_id, flow_id);
  if (!old) throw no_flow(flow_id);
  if (old->enabled == enabled) return *old;
  if (old->path.empty()) {
    throw Error(ErrorCode::conflict, "flow '" + flow_id + "' has no file to disable (it was installed directly)");
  }
  fs::path target = old->path;
  if (enabled) {
    target = without_disabled(old->path);
  } else {
    target += kDisabled;
  }
  if (file_exists(target)) throw Error(ErrorCode::conflict, "the file " + target.filename().string() + " exists already");
  std::error_code ec;
  fs::rename(old->path, target, ec);
  if (ec) throw file_error(enabled ? "enable" : "disable", old->path, ec.message());
  if (enabled) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stamps_[target] = FileStamp{fs::file_size(target, ec), fs::last_write_time(target, ec)};
    }
    load_and_record(target, workspace_id);
  } else {
    forget_file(old->path);
    if (old->flow) remove(workspace_id, flow_id);
    spdlog::info("flows: disabled {}; flow {} no longer starts", target.string(), flow_id);
  }
  for (auto& e : entries(workspace_id)) {
    if (e.flow_id == flow_id && e.enabled == enabled) return std::move(e);
  }
  return *old;  // not reached: the file was just renamed
}

store::Page<FlowRevision> FlowLibrary::revision_history(const std::string& workspace_id, const std::string& flow_id,
                                                       const store::PageRequest& page) const {
  return db_.read([&](store::Connection& c) {
    std::string sql =
        "SELECT organization_id, workspace_id, flow_id, hash, rev, kind, source_path, created_at "
        "FROM flow_revisions WHERE workspace_id = ? AND flow_id = ?";
    store::Params params{workspace_id, flow_id};
    store::keyset::append_page_desc(sql, params, "created_at", "hash", page);
    std::vector<FlowRevision> rows;
    for (const auto& row : c.query(sql, params)) {
      FlowRevision r;
      r.organization_id = row.text("organization_id");
      r.workspace_id = row.text("workspace_id");
      r.flow_id = row.text("flow_id");
      r.hash = row.text("hash");
      r.rev = row.integer("rev");
      r.kind = row.text("kind");
      r.source_path = row.text("source_path");
      r.created_at = row.integer("created_at");
      rows.push_back(std::move(r));
    }
    return store::keyset::cut(std::move(rows), page,
                              [](const FlowRevision& r) { return store::Cursor{r.created_at, r.hash}; });
  });
}

}  // namespace sb::flows
