#include "flows/engine.hpp"

#include "core/error.hpp"
#include "flows/embedded_files.hpp"
#include "flows/engine_host_functions.hpp"
#include "flows/lua_json.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace sb::flows {

namespace {

constexpr size_t kMaxVarsBytes = 1u << 20;  // what one execution may keep in its variables
constexpr size_t kMaxCachedFlows = 256;     // compiled flows kept per Lua state

std::string_view prelude_source() {
  for (const auto& file : embedded_flow_files()) {
    if (file.path == "runtime/prelude.lua") return file.content;
  }
  throw Error(ErrorCode::internal, "the flow runtime's prelude (flows/runtime/prelude.lua) is not embedded");
}

int64_t micros_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
}

std::string describe_failure(const CallResult& r) {
  switch (r.status) {
    case CallStatus::instructions:
    case CallStatus::memory:
    case CallStatus::timeout:
    case CallStatus::error: return r.message;
    default: return "unexpected outcome";
  }
}

}  // namespace

nlohmann::json to_json(const Step& step) {
  nlohmann::json j = {{"node", step.node},   {"type", step.type},         {"flow", step.flow},
                      {"port", step.port},   {"at", step.at},             {"duration_us", step.duration_us},
                      {"outcome", step.outcome}};
  if (!step.error.empty()) j["error"] = step.error;
  if (!step.traceback.empty()) j["traceback"] = step.traceback;
  if (!step.log.empty()) j["log"] = step.log;
  return j;
}

struct FlowEngine::Impl {
  std::shared_ptr<const NodeCatalog> catalog;
  EngineHost& host;
  EngineLimits limits;
  std::unique_ptr<LuaSandbox> sandbox;
  int prelude_ref = LUA_NOREF;  // the table P of prelude.lua
  std::unordered_map<const NodeType*, int> node_functions;  // registry refs
  std::unordered_map<std::string, int> compiled_flows;      // hash -> registry ref
  RunScope scope;  // what the HOST functions work on during a run

  Impl(std::shared_ptr<const NodeCatalog> c, EngineHost& h, EngineLimits l)
      : catalog(std::move(c)), host(h), limits(l) {
    reset_state();
  }

  lua_State* L() const { return sandbox->state(); }

  // A fresh Lua state with the prelude loaded (after a memory abort left the
  // old one too full to trust, and at construction).
  void reset_state() {
    node_functions.clear();
    compiled_flows.clear();
    sandbox = std::make_unique<LuaSandbox>(limits.memory_bytes);
    sandbox->user_data = &scope;
    lua_State* L = sandbox->state();
    sandbox->load_trusted(prelude_source(), "=prelude");
    push_host_functions(L);
    sandbox->end_budget();
    CallResult r = sandbox->call(1, 1);
    if (!r.ok()) throw Error(ErrorCode::internal, "the flow runtime's prelude failed: " + r.message);
    prelude_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }

  // Pushes P[name].
  void push_prelude(const char* name) {
    lua_rawgeti(L(), LUA_REGISTRYINDEX, prelude_ref);
    lua_getfield(L(), -1, name);
    lua_remove(L(), -2);
  }

  // Pushes the node type's function, loading its chunk once per state.
  void push_node_function(const NodeType* type) {
    auto it = node_functions.find(type);
    if (it == node_functions.end()) {
      // Runs inside the caller's budget window (a run may be under way):
      // the chunk only defines its function.
      sandbox->load_trusted(type->lua_source, type->chunk_name);
      CallResult r = sandbox->call(0, 1);
      if (!r.ok()) throw Error(ErrorCode::internal, "node type " + type->type + " failed to load: " + r.message);
      if (lua_type(L(), -1) != LUA_TFUNCTION) {
        lua_pop(L(), 1);
        throw Error(ErrorCode::internal, "node type " + type->type + " does not return a function");
      }
      it = node_functions.emplace(type, luaL_ref(L(), LUA_REGISTRYINDEX)).first;
    }
    lua_rawgeti(L(), LUA_REGISTRYINDEX, it->second);
  }

  // Pushes the compiled form of `flow`: for a graph an array with, per node,
  // {fn, config, node = {id, info = {id, type, name, ports}, resources}}; for a Lua
  // flow its chunk (a function whose _ENV reaches the run's environment).
  void push_compiled(const FlowDefinition& flow) {
    auto it = compiled_flows.find(flow.hash);
    if (it != compiled_flows.end()) {
      lua_rawgeti(L(), LUA_REGISTRYINDEX, it->second);
      return;
    }
    if (compiled_flows.size() >= kMaxCachedFlows) {
      for (auto& [hash, ref] : compiled_flows) luaL_unref(L(), LUA_REGISTRYINDEX, ref);
      compiled_flows.clear();
    }
    lua_State* L = this->L();
    if (flow.kind == FlowDefinition::Kind::lua) {
      push_prelude("user_env");
      int env = lua_gettop(L);
      sandbox->load_user(flow.source, "=flow " + flow.id, env);
      lua_remove(L, env);
    } else {
      lua_createtable(L, static_cast<int>(flow.nodes.size()), 0);
      for (size_t i = 0; i < flow.nodes.size(); ++i) {
        const FlowNode& node = flow.nodes[i];
        lua_createtable(L, 0, 3);
        push_node_function(node.type);
        lua_setfield(L, -2, "fn");
        push_json(L, node.config);
        lua_setfield(L, -2, "config");
        lua_createtable(L, 0, 3);
        lua_pushstring(L, node.id.c_str());
        lua_setfield(L, -2, "id");
        // "ports": the ports that have an edge, so that a node can tell
        // whether its error port leads anywhere (ai_reply's fallback).
        nlohmann::json wired = nlohmann::json::object();
        for (const auto& [port, target] : node.next) wired[port] = true;
        push_json(L, {{"id", node.id}, {"type", node.type->type}, {"name", node.name}, {"ports", wired}});
        lua_setfield(L, -2, "info");
        nlohmann::json resources = nlohmann::json::object();
        for (const auto& [slot, resource_id] : node.refs) {
          auto r = flow.resources.find(resource_id);
          if (r != flow.resources.end()) resources[slot] = r->second.value("config", nlohmann::json::object());
        }
        push_json(L, resources);
        lua_setfield(L, -2, "resources");
        lua_setfield(L, -2, "node");
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
      }
    }
    lua_pushvalue(L, -1);
    compiled_flows.emplace(flow.hash, luaL_ref(L, LUA_REGISTRYINDEX));
  }

  RunOutcome run(const RunInput& input);
};

FlowEngine::FlowEngine(std::shared_ptr<const NodeCatalog> catalog, EngineHost& host, EngineLimits limits)
    : impl_(std::make_unique<Impl>(std::move(catalog), host, limits)), limits_(limits) {}

FlowEngine::~FlowEngine() = default;

size_t FlowEngine::memory_used() const { return impl_->sandbox->memory_used(); }

RunOutcome FlowEngine::run(const RunInput& input) {
  try {
    return impl_->run(input);
  } catch (const std::exception& e) {
    // Only host-side defects land here (a node library that fails to load);
    // the flow still gets a failed outcome rather than a dead worker.
    RunOutcome outcome;
    outcome.status = RunOutcome::Status::failed;
    outcome.error = e.what();
    impl_->scope = RunScope{};
    return outcome;
  }
}

namespace {

// One frame of the execution's stack: a flow (by revision) and where it is.
struct Frame {
  FlowPtr flow;
  int node = -1;  // graphs: the node to run next (or waiting in)
};

nlohmann::json frames_to_json(const std::vector<Frame>& frames) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : frames) {
    nlohmann::json j = {{"flow", f.flow->id}, {"hash", f.flow->hash}};
    if (f.flow->kind == FlowDefinition::Kind::graph && f.node >= 0) j["node"] = f.flow->nodes[f.node].id;
    out.push_back(std::move(j));
  }
  return out;
}

// The port a disabled node passes the run on through.
std::string pass_through_port(const FlowNode& node) {
  if (node.next.count("next")) return "next";
  if (node.next.count("default")) return "default";
  return "";
}

}  // namespace

RunOutcome FlowEngine::Impl::run(const RunInput& input) {
  lua_State* L = this->L();
  const int base = lua_gettop(L);
  RunOutcome outcome;
  scope = RunScope{};
  scope.workspace_id = input.workspace_id;
  scope.now_ms = input.now_ms;
  scope.host = &host;
  scope.has_conversation = input.context.contains("conversation") && input.context["conversation"].is_object();
  scope.timezone = input.context.contains("workspace") ? input.context["workspace"].value("timezone", "UTC") : "UTC";
  scope.effects = &outcome.effects;

  // The stack of frames.
  std::vector<Frame> frames;
  nlohmann::json journal_json = nlohmann::json::array();
  nlohmann::json vars_json = input.initial_vars.is_object() ? input.initial_vars : nlohmann::json::object();
  const bool resuming = input.state.contains("frames");
  if (resuming) {
    for (const auto& f : input.state["frames"]) {
      const std::string id = f.value("flow", ""), hash = f.value("hash", "");
      FlowPtr flow = (frames.empty() && input.flow && input.flow->hash == hash)
                         ? input.flow
                         : host.flow_revision(input.workspace_id, id, hash);
      if (!flow) {
        outcome.status = RunOutcome::Status::failed;
        outcome.error = "revision " + hash.substr(0, 12) + " of flow '" + id + "' is no longer available";
        return outcome;
      }
      Frame frame{flow, -1};
      if (flow->kind == FlowDefinition::Kind::graph) frame.node = flow->node_index(f.value("node", ""));
      frames.push_back(frame);
    }
    vars_json = input.state.value("vars", nlohmann::json::object());
    journal_json = input.state.value("journal", nlohmann::json::array());
    if (input.resume) journal_json.push_back(*input.resume);
  } else {
    frames.push_back(Frame{input.flow, input.flow->kind == FlowDefinition::Kind::graph ? input.flow->start : -1});
  }
  if (frames.empty() || (frames.back().flow->kind == FlowDefinition::Kind::graph && frames.back().node < 0)) {
    outcome.status = RunOutcome::Status::failed;
    outcome.error = "the execution's state names no node to run";
    return outcome;
  }

  sandbox->begin_budget(limits.instructions, limits.wall);

  // ctx = P.begin(data, vars, env, graph)
  push_prelude("begin");
  {
    nlohmann::json data = input.context;
    const FlowDefinition& top = *frames.front().flow;
    data["flow"] = {{"id", top.id}, {"rev", top.rev}, {"name", top.name}};
    push_json(L, data);
  }
  push_json(L, vars_json);
  sandbox->new_environment();
  lua_pushboolean(L, frames.back().flow->kind == FlowDefinition::Kind::graph);
  CallResult begun = sandbox->call(4, 1);
  if (!begun.ok()) {
    lua_settop(L, base);
    outcome.status = RunOutcome::Status::failed;
    outcome.error = "the run could not start: " + describe_failure(begun);
    return outcome;
  }
  lua_pop(L, 1);  // the ctx stays reachable from the prelude's RUN

  bool journal_pending = resuming;  // the first scope replays the stored journal
  std::optional<nlohmann::json> scope_vars;  // variables when the current waiting scope began
  if (resuming) scope_vars = vars_json;
  int steps_run = 0;

  auto fail = [&](std::string message) {
    outcome.status = RunOutcome::Status::failed;
    outcome.error = std::move(message);
  };

  while (!frames.empty()) {
    Frame& frame = frames.back();
    const FlowDefinition& flow = *frame.flow;
    if (++steps_run > limits.max_steps) {
      fail("the flow ran " + std::to_string(limits.max_steps) +
           " steps without waiting; a loop in it never stops (add an ask or delay to the loop)");
      break;
    }
    Step step;
    step.flow = flow.id;
    step.at = input.now_ms;
    const auto started = std::chrono::steady_clock::now();
    scope.step_log = &step.log;

    CallResult r;
    std::string port;
    bool has_port = false;
    if (flow.kind == FlowDefinition::Kind::lua) {
      step.node = "main";
      step.type = "lua-flow";
      if (!scope_vars) scope_vars = vars_json;  // main is the scope: replay starts from the first vars
      push_prelude("main");
      push_compiled(flow);
      if (journal_pending) push_json(L, journal_json); else lua_pushnil(L);
      r = sandbox->call(2, 0);
    } else {
      const FlowNode& node = flow.nodes[static_cast<size_t>(frame.node)];
      step.node = node.id;
      step.type = node.type->type;
      if (node.disabled) {
        port = pass_through_port(node);
        has_port = !port.empty();
        step.outcome = "next";
        step.port = port;
        step.log.push_back("info: disabled, skipped");
      } else {
        if (node.type->waits && !journal_pending) {
          push_prelude("vars");
          CallResult got = sandbox->call(0, 1);
          if (got.ok()) {
            try {
              scope_vars = to_json(L, -1, "vars");
            } catch (const std::exception& e) {
              lua_pop(L, 1);
              fail(std::string("node '") + node.id + "': " + e.what());
              outcome.steps.push_back(std::move(step));
              break;
            }
            lua_pop(L, 1);
          }
        }
        push_prelude("step");
        push_compiled(flow);
        lua_rawgeti(L, -1, frame.node + 1);
        lua_remove(L, -2);
        const int entry = lua_gettop(L);
        lua_getfield(L, entry, "fn");
        lua_getfield(L, entry, "config");
        lua_getfield(L, entry, "node");
        lua_remove(L, entry);
        lua_pushboolean(L, node.type->waits);
        if (journal_pending) push_json(L, journal_json); else lua_pushnil(L);
        r = sandbox->call(5, 1);
      }
    }

    if (!has_port && step.outcome.empty()) {
      if (r.ok()) {
        if (flow.kind == FlowDefinition::Kind::graph) {
          if (lua_type(L, -1) == LUA_TSTRING) {
            port = lua_tostring(L, -1);
            has_port = true;
          } else if (!lua_isnil(L, -1)) {
            r.status = CallStatus::error;
            r.message = "the node returned a " + std::string(luaL_typename(L, -1)) + " instead of a port name";
          }
          lua_pop(L, 1);
        }
        if (r.ok()) step.outcome = has_port ? "next" : "end";
      }
      if (r.status == CallStatus::signal) {
        lua_getfield(L, -1, "signal");
        const std::string kind = lua_tostring(L, -1) ? lua_tostring(L, -1) : "";
        lua_pop(L, 1);
        if (kind == "wait") {
          nlohmann::json sig = to_json(L, -1, "signal");
          lua_pop(L, 1);
          WaitRequest wait;
          wait.kind = sig.value("kind", "");
          if (sig.contains("timeout_ms") && sig["timeout_ms"].is_number())
            wait.deadline_at = input.now_ms + sig["timeout_ms"].get<int64_t>();
          if (sig.contains("delay_ms") && sig["delay_ms"].is_number())
            wait.deadline_at = input.now_ms + sig["delay_ms"].get<int64_t>();
          if (sig.contains("request")) wait.request = sig["request"];
          push_prelude("journal");
          sandbox->call(0, 1);
          nlohmann::json journal = to_json(L, -1, "journal");
          lua_pop(L, 1);
          step.outcome = "wait";
          step.duration_us = micros_since(started);
          outcome.steps.push_back(std::move(step));
          outcome.status = RunOutcome::Status::waiting;
          outcome.wait = std::move(wait);
          outcome.state = {{"frames", frames_to_json(frames)},
                           {"vars", scope_vars ? *scope_vars : vars_json},
                           {"journal", journal.is_array() ? journal : nlohmann::json::array()}};
          break;
        }
        if (kind == "subflow") {
          lua_getfield(L, -1, "flow");
          const std::string sub_id = lua_tostring(L, -1) ? lua_tostring(L, -1) : "";
          lua_pop(L, 2);
          step.duration_us = micros_since(started);
          if (static_cast<int>(frames.size()) >= limits.max_subflow_depth) {
            r.status = CallStatus::error;
            r.message = "subflows nest deeper than " + std::to_string(limits.max_subflow_depth) + " levels";
          } else if (FlowPtr sub = host.current_flow(input.workspace_id, sub_id); !sub) {
            r.status = CallStatus::error;
            r.message = "subflow '" + sub_id + "' does not exist in this workspace";
          } else if (sub->kind != FlowDefinition::Kind::graph) {
            r.status = CallStatus::error;
            r.message = "subflow '" + sub_id + "' is a Lua flow; subflows must be graphs";
          } else {
            step.outcome = "subflow";
            step.port = "subflow:" + sub_id;
            outcome.steps.push_back(std::move(step));
            frames.push_back(Frame{sub, sub->start});
            journal_pending = false;
            scope_vars.reset();
            continue;
          }
        } else if (kind == "end") {
          lua_pop(L, 1);
          step.outcome = "end";
          step.duration_us = micros_since(started);
          outcome.steps.push_back(std::move(step));
          frames.clear();
          break;
        } else {
          lua_pop(L, 1);
          r.status = CallStatus::error;
          r.message = "unknown control signal '" + kind + "'";
        }
      }
      if (!r.ok()) {
        step.outcome = "error";
        step.error = describe_failure(r);
        step.traceback = r.traceback;
        if (r.status == CallStatus::memory) sandbox->collect();
        const bool can_route = flow.kind == FlowDefinition::Kind::graph &&
                               flow.nodes[static_cast<size_t>(frame.node)].next.count("error") > 0;
        if (can_route) {
          // The error port: the run goes on with a fresh budget, the error in vars.last_error.
          sandbox->begin_budget(limits.instructions, limits.wall);
          push_prelude("set_error");
          lua_pushstring(L, step.node.c_str());
          lua_pushstring(L, step.error.c_str());
          sandbox->call(2, 0);
          port = "error";
          has_port = true;
        } else {
          step.duration_us = micros_since(started);
          const std::string where = flow.kind == FlowDefinition::Kind::graph
                                        ? "node '" + step.node + "' (" + step.type + ")"
                                        : "flow '" + flow.id + "'";
          outcome.steps.push_back(step);
          fail(where + ": " + step.error);
          break;
        }
      }
    }

    step.port = port;
    step.duration_us = micros_since(started);
    outcome.steps.push_back(std::move(step));
    journal_pending = false;
    scope_vars.reset();

    // Where the run goes next; a port without an edge ends the frame.
    int next = -1;
    if (has_port && flow.kind == FlowDefinition::Kind::graph) {
      auto it = flow.nodes[static_cast<size_t>(frame.node)].next.find(port);
      if (it != flow.nodes[static_cast<size_t>(frame.node)].next.end()) next = it->second;
    }
    if (next >= 0) {
      frame.node = next;
      continue;
    }
    frames.pop_back();
    // A finished subflow returns to its subflow node's `next` port.
    while (!frames.empty()) {
      Frame& parent = frames.back();
      const auto& pnode = parent.flow->nodes[static_cast<size_t>(parent.node)];
      auto it = pnode.next.find("next");
      if (it != pnode.next.end()) {
        parent.node = it->second;
        break;
      }
      frames.pop_back();
    }
  }

  if (outcome.status != RunOutcome::Status::waiting && outcome.status != RunOutcome::Status::failed) {
    outcome.status = RunOutcome::Status::completed;
  }
  outcome.handed_off = scope.handed_off;

  // The variables now, for display, and a size check: an execution's state
  // must stay small enough to persist at every wait. Outside the budget: a
  // window that was exceeded would abort these calls too.
  sandbox->end_budget();
  push_prelude("vars");
  if (sandbox->call(0, 1).ok()) {
    try {
      outcome.vars = to_json(L, -1, "vars");
    } catch (const std::exception& e) {
      outcome.vars = nlohmann::json::object();
      if (outcome.status == RunOutcome::Status::completed) fail(e.what());
    }
    lua_pop(L, 1);
  }
  if (outcome.status == RunOutcome::Status::waiting && outcome.state.dump().size() > kMaxVarsBytes) {
    fail("the execution's variables exceed " + std::to_string(kMaxVarsBytes >> 10) + " KiB; it cannot be saved to wait");
    outcome.wait.reset();
  }
  if (outcome.status == RunOutcome::Status::failed) outcome.wait.reset();

  push_prelude("finish");
  sandbox->call(0, 0);
  lua_settop(L, base);
  scope = RunScope{};
  // A state left nearly full (a memory bomb kept alive in a cache) is replaced.
  if (sandbox->memory_used() > limits.memory_bytes / 2) {
    sandbox->collect();
    if (sandbox->memory_used() > limits.memory_bytes / 2) reset_state();
  }
  return outcome;
}

}  // namespace sb::flows
