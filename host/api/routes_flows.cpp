// Flows, their revisions, and executions
// (/api/v1/workspaces/:workspace_id/flows..., .../executions...).
//
// A flow made here is a file in the flows directory like any other
// (FlowLibrary's editing functions): checked in full first (every problem
// at once, nothing written), written atomically, loaded at once, and then
// hot-reloaded and kept across restarts as the directory's files are.
// Disabling renames the file to <name>.disabled. docs/api/flows.md.
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "flows/execution_repository.hpp"
#include "store/conversation_repository.hpp"

#include <algorithm>
#include <regex>

namespace sb::api {
namespace {

using flows::FlowDefinition;
using flows::FlowEntry;
using flows::FlowPtr;
using nlohmann::json;
using tenancy::Permission;

constexpr size_t kMaxLuaSource = 1 << 20;  // a Lua flow's text, in bytes

const char* kind_name(FlowDefinition::Kind kind) { return kind == FlowDefinition::Kind::lua ? "lua" : "graph"; }

// The flow id of the path: an id no flow can have is simply not found.
const std::string& flow_id_param(Call& call) {
  static const std::regex kId("[a-z0-9][a-z0-9_-]{0,63}");
  const std::string& id = call.param("flow_id");
  if (!std::regex_match(id, kId))
    throw Error(ErrorCode::not_found, "no flow '" + id + "' in this workspace", {{"field", "flow_id"}});
  return id;
}

// What a request gives as a flow: {"document": {...}} or {"lua": "..."}.
struct Source {
  FlowDefinition::Kind kind = FlowDefinition::Kind::graph;
  std::string text;
  const char* field = "document";  // where problems are reported
  std::optional<std::string> id;   // "id" of the request (Lua)
};

Source read_source(const json& body) {
  const bool has_document = body.contains("document") && !body["document"].is_null();
  const bool has_lua = body.contains("lua") && !body["lua"].is_null();
  if (has_document == has_lua) {
    throw Error(ErrorCode::invalid_argument,
                has_lua ? "give \"document\" or \"lua\", not both"
                        : "\"document\" (a switchboard.flow/1 graph) or \"lua\" (a Lua flow's source) is required",
                {{"field", has_lua ? "lua" : "document"}});
  }
  Source s;
  s.id = optional_string(body, "id", 64);
  if (has_document) {
    const json document = optional_object(body, "document");
    if (s.id)
      throw Error(ErrorCode::invalid_argument, "\"id\" goes with \"lua\"; a document carries its own id",
                  {{"field", "id"}});
    // Written as the file's text, so pretty (people read and diff these).
    s.text = document.dump(2) + "\n";
    return s;
  }
  s.kind = FlowDefinition::Kind::lua;
  s.field = "lua";
  s.text = *optional_string(body, "lua", kMaxLuaSource);
  return s;
}

json problems_json(const std::vector<flows::Problem>& problems) {
  json out = json::array();
  for (const auto& p : problems) out.push_back({{"path", p.path}, {"message", p.message}});
  return out;
}

// Checks the source with the library's parser; a Lua flow's id defaults to
// `default_id` (the request's "id", or the path's flow id).
flows::ParseResult check_source(flows::FlowLibrary& library, const Source& s, const std::string& default_id) {
  auto result = library.parse(s.kind, s.text, default_id);
  if (s.kind == FlowDefinition::Kind::lua && default_id.empty()) {
    // The parser speaks of file names; here no file gives the id.
    for (auto& p : result.problems) {
      if (p.path == "/id" && p.message.rfind("the file name gives", 0) == 0)
        p.message = "a Lua flow needs an id: set id in the returned table, or give \"id\" with the request";
    }
  }
  return result;
}

FlowPtr valid_or_throw(flows::ParseResult result, const Source& s) {
  if (result.ok()) return result.flow;
  const size_t n = result.problems.size();
  const auto& first = result.problems.front();
  throw Error(ErrorCode::invalid_argument,
              "the flow has " + std::to_string(n) + (n == 1 ? " problem" : " problems") + ": " +
                  (first.path.empty() ? "" : first.path + ": ") + first.message,
              {{"field", s.field}, {"problems", problems_json(result.problems)}});
}

// Webhook secrets are for those who may edit the flow; readers see that one
// is set.
bool may_edit(Call& call, const store::Workspace& ws) {
  const auto role = call.services.access.role_of(call.principal, ws.organization_id, ws.id);
  return role && tenancy::allows(*role, Permission::edit_flows);
}

json redacted_trigger(json trigger, bool editor) {
  if (!editor && trigger.is_object() && trigger.contains("secret")) trigger["secret"] = "********";
  return trigger;
}

// The source as the API shows it: "document" (parsed) or "lua" (text).
void add_source(json& out, FlowDefinition::Kind kind, const std::string& source, const json& trigger, bool editor) {
  if (kind == FlowDefinition::Kind::lua) {
    // A secret in Lua text cannot be cut out reliably: readers do not get it.
    const bool hidden = !editor && trigger.is_object() && trigger.value("type", "") == "webhook";
    out["lua"] = hidden ? json(nullptr) : json(source);
    if (hidden) out["source_hidden"] = true;
    return;
  }
  json document = json::parse(source, nullptr, false);
  if (document.is_object() && document.contains("trigger"))
    document["trigger"] = redacted_trigger(document["trigger"], editor);
  out["document"] = document.is_discarded() ? json(nullptr) : document;
}

FlowDefinition::Kind kind_of(const FlowEntry& e) {
  if (e.flow) return e.flow->kind;
  std::string name = e.path.filename().string();
  if (name.size() > 9 && name.compare(name.size() - 9, 9, ".disabled") == 0) name.resize(name.size() - 9);
  return std::filesystem::path(name).extension() == ".lua" ? FlowDefinition::Kind::lua : FlowDefinition::Kind::graph;
}

json flow_json(const FlowEntry& e, bool editor, bool with_source) {
  const FlowPtr& f = e.flow;
  json out = {{"id", e.flow_id},
              {"name", f ? json(f->name) : json(nullptr)},
              {"rev", f ? json(f->rev) : json(nullptr)},
              {"kind", kind_name(kind_of(e))},
              {"enabled", e.enabled},
              {"trigger", f ? redacted_trigger(f->trigger, editor) : json(nullptr)},
              {"hash", f ? json(f->hash) : json(nullptr)},
              {"file", e.path.empty() ? json(nullptr) : json(e.path.filename().string())},
              {"problems", problems_json(e.problems)}};
  if (with_source) {
    if (f) {
      add_source(out, f->kind, f->source, f->trigger, editor);
    } else {
      out[kind_of(e) == FlowDefinition::Kind::lua ? "lua" : "document"] = nullptr;
    }
  }
  return out;
}

FlowEntry require_entry(flows::FlowLibrary& library, const store::Workspace& ws, const std::string& flow_id) {
  auto e = library.entry(ws.id, flow_id);
  if (!e) throw Error(ErrorCode::not_found, "no flow '" + flow_id + "' in this workspace", {{"field", "flow_id"}});
  return *e;
}

json audit_details(const FlowEntry& e) {
  json d = {{"enabled", e.enabled}};
  if (e.flow) {
    d["hash"] = e.flow->hash;
    d["rev"] = e.flow->rev;
    d["kind"] = kind_name(e.flow->kind);
  }
  return d;
}

// An execution without its internal state; `detail` adds the step log and
// the variables as they are.
json execution_json(const flows::ExecutionRecord& r, bool detail) {
  json out = flows::to_json(r);
  out.erase("state");
  if (!detail) {
    out.erase("steps");
    return out;
  }
  const json& state = r.state;
  const char* key = r.status == "waiting" ? "current_vars" : "vars";
  out["vars"] = state.is_object() && state.contains(key) ? state[key] : json::object();
  return out;
}

const std::vector<std::string> kStatuses = {"running", "waiting", "completed", "failed", "cancelled"};

}  // namespace

void register_flow_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();
  flows::FlowLibrary& library = s.flows.library();
  const std::string base = "/api/v1/workspaces/:workspace_id/flows";

  // Before the routes with a flow id in that place.
  routes.post(base + "/validate", [&library](Call& call) {
    call.workspace(Permission::read);
    call.allow_fields({"document", "lua", "id"});
    const Source src = read_source(call.body());
    const auto result = check_source(library, src, src.id.value_or(""));
    json out = {{"valid", result.ok()}, {"problems", problems_json(result.problems)}};
    if (result.ok()) {
      const FlowPtr& f = result.flow;
      out["flow"] = {{"id", f->id}, {"name", f->name}, {"rev", f->rev}, {"kind", kind_name(f->kind)},
                     {"hash", f->hash}};
    }
    return ok(out);
  });

  routes.get(base, [&library](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({});
    const auto page = call.page();
    const bool editor = may_edit(call, ws);
    // A workspace has tens of flows, not thousands: they are listed from the
    // library and paged by id.
    json data = json::array();
    json next = nullptr;
    std::string last;
    for (const auto& e : library.entries(ws.id)) {
      if (e.flow_id == last) continue;  // an enabled and a disabled file of one id: the enabled one
      last = e.flow_id;
      if (page.after && e.flow_id <= page.after->id) continue;
      if (static_cast<int64_t>(data.size()) == page.limit) {
        next = encode_cursor({0, data.back()["id"].get<std::string>()});
        break;
      }
      data.push_back(flow_json(e, editor, false));
    }
    return ok({{"data", data}, {"next_cursor", next}});
  });

  routes.post(base, [&s, &library](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    call.allow_fields({"document", "lua", "id"});
    const Source src = read_source(call.body());
    if (src.kind == FlowDefinition::Kind::lua && !src.id)
      throw Error(ErrorCode::invalid_argument, "\"id\" is required with \"lua\"", {{"field", "id"}});
    const FlowPtr flow = valid_or_throw(check_source(library, src, src.id.value_or("")), src);
    if (src.id && flow->id != *src.id)
      throw Error(ErrorCode::invalid_argument, "the Lua source returns id '" + flow->id + "', not '" + *src.id + "'",
                  {{"field", "id"}});
    const FlowEntry e = library.create_file(ws.id, flow);
    s.flows.poke_timers();  // a schedule trigger is armed now, not at the next look
    call.audit("flow.created", ws.organization_id, ws.id, "flow", e.flow_id, audit_details(e));
    return created(flow_json(e, true, true));
  });

  routes.get(base + "/:flow_id", [&library](Call& call) {
    const auto ws = call.workspace(Permission::read);
    return ok(flow_json(require_entry(library, ws, flow_id_param(call)), may_edit(call, ws), true));
  });

  routes.put(base + "/:flow_id", [&s, &library](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    const std::string& flow_id = flow_id_param(call);
    call.allow_fields({"document", "lua", "id"});
    const Source src = read_source(call.body());
    if (src.kind == FlowDefinition::Kind::graph) {
      const json& doc = call.body()["document"];
      if (doc.contains("id") && doc["id"].is_string() && doc["id"] != flow_id)
        throw Error(ErrorCode::invalid_argument,
                    "the document's id is '" + doc["id"].get<std::string>() + "'; this flow is '" + flow_id + "'",
                    {{"field", "document.id"}});
    } else if (src.id && *src.id != flow_id) {
      throw Error(ErrorCode::invalid_argument, "\"id\" must be '" + flow_id + "' (the flow of the path)",
                  {{"field", "id"}});
    }
    require_entry(library, ws, flow_id);  // 404 before 400s about the document
    const FlowPtr flow = valid_or_throw(check_source(library, src, flow_id), src);
    if (flow->id != flow_id)
      throw Error(ErrorCode::invalid_argument, "the Lua source returns id '" + flow->id + "'; this flow is '" +
                                                   flow_id + "'",
                  {{"field", src.kind == FlowDefinition::Kind::graph ? "document.id" : "id"}});
    const FlowEntry e = library.replace_file(ws.id, flow);
    s.flows.poke_timers();
    call.audit("flow.updated", ws.organization_id, ws.id, "flow", e.flow_id, audit_details(e));
    return ok(flow_json(e, true, true));
  });

  routes.del(base + "/:flow_id", [&s, &library](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    const std::string& flow_id = flow_id_param(call);
    const FlowEntry e = require_entry(library, ws, flow_id);
    library.delete_file(ws.id, flow_id);
    s.flows.poke_timers();
    call.audit("flow.deleted", ws.organization_id, ws.id, "flow", flow_id, audit_details(e));
    return no_content();
  });

  for (const bool enable : {true, false}) {
    routes.post(base + "/:flow_id/" + (enable ? "enable" : "disable"), [&s, &library, enable](Call& call) {
      const auto ws = call.workspace(Permission::edit_flows);
      const std::string& flow_id = flow_id_param(call);
      call.allow_fields({});
      const bool was = require_entry(library, ws, flow_id).enabled;
      const FlowEntry e = library.set_enabled(ws.id, flow_id, enable);
      s.flows.poke_timers();
      if (was != enable)
        call.audit(enable ? "flow.enabled" : "flow.disabled", ws.organization_id, ws.id, "flow", flow_id,
                   audit_details(e));
      return ok(flow_json(e, true, false));
    });
  }

  routes.post(base + "/:flow_id/run", [&s, &library](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    const std::string& flow_id = flow_id_param(call);
    call.allow_fields({"conversation_id", "vars"});
    const std::string conversation_id = optional_string(call.body(), "conversation_id", 100).value_or("");
    json vars = optional_object(call.body(), "vars");
    if (vars.is_null()) vars = json::object();
    const FlowEntry e = require_entry(library, ws, flow_id);
    if (!e.enabled) throw Error(ErrorCode::conflict, "flow '" + flow_id + "' is disabled; enable it first");
    if (!e.flow) throw Error(ErrorCode::conflict, "flow '" + flow_id + "' never loaded: its file has problems");
    if (!conversation_id.empty() &&
        !s.db.read([&](store::Connection& c) { return store::conversations::find(c, ws.id, conversation_id); })) {
      throw Error(ErrorCode::not_found, "no conversation '" + conversation_id + "' in this workspace",
                  {{"field", "conversation_id"}});
    }
    const json started = s.flows.start_flow(ws.id, flow_id, conversation_id, vars);
    const std::string execution_id = started.value("execution_id", "");
    call.audit("flow.run", ws.organization_id, ws.id, "flow", flow_id, {{"execution_id", execution_id}});
    auto record = s.db.read([&](store::Connection& c) { return flows::executions::find(c, ws.id, execution_id); });
    if (!record) return created(started);  // its first write failed: what the runtime said
    return created(execution_json(*record, true));
  });

  routes.get(base + "/:flow_id/revisions", [&library](Call& call) {
    const auto ws = call.workspace(Permission::read);
    const std::string& flow_id = flow_id_param(call);
    call.allow_query({});
    const auto page = call.page();
    const auto result = library.revision_history(ws.id, flow_id, page);
    // A deleted flow's revisions stay readable; an id that never had one is not found.
    if (result.items.empty() && !page.after) require_entry(library, ws, flow_id);
    return page_response(result, [](const flows::FlowRevision& r) {
      return json{{"hash", r.hash},
                  {"rev", r.rev},
                  {"kind", r.kind},
                  {"created_at", r.created_at},
                  {"file", std::filesystem::path(r.source_path).filename().string()}};
    });
  });

  routes.get(base + "/:flow_id/revisions/:hash", [&s, &library](Call& call) {
    const auto ws = call.workspace(Permission::read);
    const std::string& flow_id = flow_id_param(call);
    const std::string& hash = call.param("hash");
    auto r = s.db.read([&](store::Connection& c) { return flows::flow_revisions::find(c, ws.id, flow_id, hash); });
    if (!r) throw Error(ErrorCode::not_found, "flow '" + flow_id + "' has no revision " + hash, {{"field", "hash"}});
    const auto kind = r->kind == "lua" ? FlowDefinition::Kind::lua : FlowDefinition::Kind::graph;
    json out = {{"flow_id", r->flow_id},
                {"hash", r->hash},
                {"rev", r->rev},
                {"kind", r->kind},
                {"created_at", r->created_at},
                {"file", std::filesystem::path(r->source_path).filename().string()}};
    const bool editor = may_edit(call, ws);
    // The trigger says whether there is a secret to keep from readers; a
    // Lua revision that no longer loads is treated as if it had one.
    json trigger = {{"type", "webhook"}};
    if (!editor) {
      if (const FlowPtr f = library.revision(ws.id, flow_id, hash)) trigger = f->trigger;
    }
    add_source(out, kind, r->source, trigger, editor);
    return ok(out);
  });

  const std::string executions = "/api/v1/workspaces/:workspace_id/executions";
  routes.get(executions, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({"flow_id", "status"});
    flows::ExecutionQuery q;
    if (auto flow_id = call.query("flow_id"); flow_id && !flow_id->empty()) {
      if (flow_id->size() > 64)
        throw Error(ErrorCode::invalid_argument, "\"flow_id\" is longer than 64 characters", {{"field", "flow_id"}});
      q.flow_id = *flow_id;
    }
    if (auto status = call.query("status"); status && !status->empty()) {
      if (std::find(kStatuses.begin(), kStatuses.end(), *status) == kStatuses.end())
        throw Error(ErrorCode::invalid_argument,
                    "\"status\" must be running, waiting, completed, failed or cancelled", {{"field", "status"}});
      q.status = *status;
    }
    const auto page = call.page();
    return page_response(s.db.read([&](store::Connection& c) { return flows::executions::page(c, ws.id, q, page); }),
                         [](const flows::ExecutionRecord& r) { return execution_json(r, false); });
  });

  routes.get(executions + "/:execution_id", [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    const std::string& id = call.param("execution_id");
    auto r = s.db.read([&](store::Connection& c) { return flows::executions::find(c, ws.id, id); });
    if (!r) throw Error(ErrorCode::not_found, "no execution '" + id + "' in this workspace", {{"field", "execution_id"}});
    return ok(execution_json(*r, true));
  });
}

}  // namespace sb::api
