#include "flows/flow_library.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "flows/execution_repository.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <set>
#include <sstream>

namespace sb::flows {

namespace fs = std::filesystem;

namespace {

bool is_flow_file(const fs::path& p) {
  const auto ext = p.extension().string();
  return ext == ".json" || ext == ".lua";
}

// Fixture files (<flow>.conversation.json) live beside flows in examples;
// they are not flows.
bool is_fixture(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.size() > 18 && name.rfind(".conversation.json") == name.size() - 18;
}

std::string revision_key(const std::string& ws, const std::string& flow, const std::string& hash) {
  return ws + "/" + flow + "/" + hash;
}

}  // namespace

FlowLibrary::FlowLibrary(store::Database& db, std::shared_ptr<const NodeCatalog> catalog)
    : db_(db), catalog_(std::move(catalog)) {}

std::optional<std::string> FlowLibrary::organization_of(const std::string& workspace_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = organizations_.find(workspace_id); it != organizations_.end()) return it->second;
  }
  auto org = db_.read([&](store::Connection& c) -> std::optional<std::string> {
    auto row = c.query_one("SELECT organization_id FROM workspaces WHERE id = ?", {workspace_id});
    if (!row) return std::nullopt;
    return row->text("organization_id");
  });
  if (org) {
    std::lock_guard<std::mutex> lock(mu_);
    organizations_[workspace_id] = *org;
  }
  return org;
}

void FlowLibrary::save_revision(const std::string& organization_id, const std::string& workspace_id,
                                const FlowPtr& flow) {
  FlowRevision rev;
  rev.organization_id = organization_id;
  rev.workspace_id = workspace_id;
  rev.flow_id = flow->id;
  rev.hash = flow->hash;
  rev.rev = flow->rev;
  rev.kind = flow->kind == FlowDefinition::Kind::lua ? "lua" : "graph";
  rev.source = flow->source;
  rev.source_path = flow->source_path;
  rev.created_at = now_ms();
  db_.write([&](store::Connection& c) { flow_revisions::save(c, rev); });
  std::lock_guard<std::mutex> lock(mu_);
  revisions_[revision_key(workspace_id, flow->id, flow->hash)] = flow;
}

void FlowLibrary::make_current(const std::string& organization_id, const std::string& workspace_id, FlowPtr flow) {
  save_revision(organization_id, workspace_id, flow);
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = current_[workspace_id][flow->id];
  if (!slot || slot->hash != flow->hash) {
    slot = flow;
    ++generation_;
  }
}

ParseResult FlowLibrary::install_source(const std::string& workspace_id, const std::string& file_name,
                                        std::string_view text) {
  auto org = organization_of(workspace_id);
  if (!org) throw Error(ErrorCode::not_found, "no workspace '" + workspace_id + "'");
  const fs::path name(file_name);
  const bool lua = name.extension() == ".lua";
  ParseResult result = parse(lua ? FlowDefinition::Kind::lua : FlowDefinition::Kind::graph, text,
                             lua ? name.stem().string() : "", file_name);
  if (result.ok()) make_current(*org, workspace_id, result.flow);
  return result;
}

FlowPtr FlowLibrary::built_in(const std::string& workspace_id, std::string_view text) {
  ParseResult result = parse(FlowDefinition::Kind::graph, text);
  if (!result.ok()) {
    throw Error(ErrorCode::internal, "a built-in flow does not validate:\n" + format_problems(result.problems));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = revisions_.find(revision_key(workspace_id, result.flow->id, result.flow->hash));
    if (it != revisions_.end()) return it->second;
  }
  auto org = organization_of(workspace_id);
  if (!org) throw Error(ErrorCode::not_found, "no workspace '" + workspace_id + "'");
  save_revision(*org, workspace_id, result.flow);
  return result.flow;
}

ParseResult FlowLibrary::parse(FlowDefinition::Kind kind, std::string_view text, const std::string& default_id,
                               const std::string& source_path) const {
  return kind == FlowDefinition::Kind::lua ? parse_flow_lua(text, default_id, source_path)
                                           : parse_flow_json(text, catalog_, source_path);
}

std::optional<fs::path> FlowLibrary::directory() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dir_;
}

void FlowLibrary::remove(const std::string& workspace_id, const std::string& flow_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto ws = current_.find(workspace_id);
  if (ws != current_.end() && ws->second.erase(flow_id)) ++generation_;
}

ParseResult FlowLibrary::load_file(const fs::path& file, const std::string& workspace_id) {
  ParseResult result;
  auto org = organization_of(workspace_id);
  if (!org) {
    result.problems.push_back({"", "no workspace '" + workspace_id + "' (the folder name must be a workspace id)"});
    return result;
  }
  result = parse_flow_file(file, catalog_);
  if (!result.ok()) return result;
  // Two files may not define the same flow.
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [path, status] : files_) {
      if (path != file && status.workspace_id == workspace_id && status.flow_id == result.flow->id &&
          status.problems.empty()) {
        ParseResult clash;
        clash.problems.push_back({"/id", "flow '" + result.flow->id + "' is already defined by " + path.string()});
        return clash;
      }
    }
  }
  make_current(*org, workspace_id, result.flow);
  return result;
}

void FlowLibrary::load_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  {
    std::lock_guard<std::mutex> lock(mu_);
    dir_ = dir;
  }
  rescan();
}

void FlowLibrary::load_and_record(const fs::path& path, const std::string& workspace_id) {
  ParseResult result;
  try {
    result = load_file(path, workspace_id);
  } catch (const std::exception& e) {
    result.problems.push_back({"", e.what()});
  }
  FlowFileStatus status;
  status.path = path;
  status.workspace_id = workspace_id;
  if (result.ok()) {
    status.flow_id = result.flow->id;
    status.hash = result.flow->hash;
    spdlog::info("flows: loaded {} (flow {} rev {}, {})", path.string(), result.flow->id, result.flow->rev,
                 result.flow->hash.substr(0, 12));
  } else {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto old = files_.find(path); old != files_.end()) {
      status.flow_id = old->second.flow_id;  // the previous revision keeps running
      status.hash = old->second.hash;
    }
  }
  if (!result.ok()) {
    status.problems = result.problems;
    spdlog::error("flows: {} was not loaded{}:\n{}", path.string(),
                  status.hash.empty() ? "" : " (its previous revision keeps running)",
                  format_problems(result.problems));
  }
  std::lock_guard<std::mutex> lock(mu_);
  files_[path] = std::move(status);
}

bool FlowLibrary::rescan() {
  std::lock_guard<std::mutex> edit(edit_mu_);
  std::optional<fs::path> dir;
  uint64_t before;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dir = dir_;
    before = generation_;
  }
  if (!dir) return false;
  std::set<fs::path> seen;
  std::error_code ec;
  for (fs::directory_iterator ws_it(*dir, ec), end; !ec && ws_it != end; ws_it.increment(ec)) {
    if (!ws_it->is_directory()) continue;
    const std::string workspace_id = ws_it->path().filename().string();
    std::error_code ec2;
    for (fs::directory_iterator f(ws_it->path(), ec2), fend; !ec2 && f != fend; f.increment(ec2)) {
      const fs::path path = f->path();
      if (!f->is_regular_file() || !is_flow_file(path) || is_fixture(path)) continue;
      seen.insert(path);
      FileStamp stamp{f->file_size(ec2), f->last_write_time(ec2)};
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = stamps_.find(path);
        if (it != stamps_.end() && it->second.size == stamp.size && it->second.mtime == stamp.mtime) continue;
        stamps_[path] = stamp;
      }
      load_and_record(path, workspace_id);
    }
  }
  // Files that disappeared take their flows with them.
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = files_.begin(); it != files_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    if (!it->second.flow_id.empty()) {
      auto ws = current_.find(it->second.workspace_id);
      if (ws != current_.end() && ws->second.erase(it->second.flow_id)) ++generation_;
      spdlog::info("flows: {} was removed; flow {} no longer starts", it->first.string(), it->second.flow_id);
    }
    stamps_.erase(it->first);
    it = files_.erase(it);
  }
  return generation_ != before;
}

FlowPtr FlowLibrary::current(const std::string& workspace_id, const std::string& flow_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto ws = current_.find(workspace_id);
  if (ws == current_.end()) return nullptr;
  auto it = ws->second.find(flow_id);
  return it == ws->second.end() ? nullptr : it->second;
}

FlowPtr FlowLibrary::revision(const std::string& workspace_id, const std::string& flow_id, const std::string& hash) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = revisions_.find(revision_key(workspace_id, flow_id, hash)); it != revisions_.end()) return it->second;
  }
  auto stored = db_.read([&](store::Connection& c) { return flow_revisions::find(c, workspace_id, flow_id, hash); });
  if (!stored) return nullptr;
  ParseResult parsed = parse(stored->kind == "lua" ? FlowDefinition::Kind::lua : FlowDefinition::Kind::graph,
                             stored->source, stored->flow_id, stored->source_path);
  if (!parsed.ok()) {
    spdlog::error("flows: stored revision {} of flow {} no longer validates:\n{}", hash.substr(0, 12), flow_id,
                  format_problems(parsed.problems));
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu_);
  revisions_[revision_key(workspace_id, flow_id, hash)] = parsed.flow;
  return parsed.flow;
}

std::vector<FlowPtr> FlowLibrary::flows(const std::string& workspace_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FlowPtr> out;
  auto ws = current_.find(workspace_id);
  if (ws == current_.end()) return out;
  for (const auto& [id, flow] : ws->second) out.push_back(flow);
  return out;
}

std::vector<std::string> FlowLibrary::workspaces() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [ws, flows] : current_) {
    if (!flows.empty()) out.push_back(ws);
  }
  return out;
}

std::vector<FlowFileStatus> FlowLibrary::files() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FlowFileStatus> out;
  for (const auto& [path, status] : files_) out.push_back(status);
  return out;
}

uint64_t FlowLibrary::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

}  // namespace sb::flows
