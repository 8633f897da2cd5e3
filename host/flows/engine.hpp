#pragma once
// The flow interpreter: runs one segment of an execution — from its start or
// from the wait it resumes, to its next wait or its end — in a sandboxed Lua
// state, and says what the segment did. It touches no database: effects
// (sends, tags, handoff, key-value writes) come back as data for the runtime
// to commit together with the execution's new state.
//
// Durability by replay: a node (graphs) or the whole main function (Lua
// flows) that waits is run again from its start when it resumes; every ctx
// call it made before the wait returns what the journal recorded the first
// time, so nothing is done twice. The state to persist is therefore small:
// the frames (flow, revision, node), the variables as they were when the
// waiting scope began, and the journal of that scope.
//
//   state = {"frames": [{"flow", "hash", "node"}], "vars": {...},
//            "journal": [...], "scope_vars": bool}
//
// Threads: a FlowEngine and its Lua state belong to one thread at a time.
#include "flows/flow_definition.hpp"
#include "flows/lua_sandbox.hpp"
#include "flows/node_catalog.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace sb::flows {

struct EngineLimits {
  uint64_t instructions = 10'000'000;            // per run segment
  std::chrono::milliseconds wall{5000};          // per run segment
  size_t memory_bytes = 64u << 20;               // per Lua state
  int max_steps = 10'000;                        // node steps per run segment (a loop without waits)
  int max_subflow_depth = 8;
};

// What the engine asks of its surroundings while a segment runs (reads only;
// called on the engine's thread).
class EngineHost {
 public:
  virtual ~EngineHost() = default;
  // The revision of `flow_id` a new subflow frame enters (the current one).
  virtual FlowPtr current_flow(const std::string& workspace_id, const std::string& flow_id) = 0;
  // A revision by hash, for frames of an execution that started earlier.
  virtual FlowPtr flow_revision(const std::string& workspace_id, const std::string& flow_id,
                                const std::string& hash) = 0;
  virtual std::optional<nlohmann::json> kv_get(const std::string& workspace_id, const std::string& key) = 0;
};

struct Effect {
  enum class Kind { send, tag, untag, handoff, kv_set, kv_delete };
  Kind kind;
  nlohmann::json data;  // send: {"id", "message": {type, text, ...}}; tag/untag: {"tag"};
                        // handoff: {"note"}; kv_set: {"key", "value"}; kv_delete: {"key"}
};

struct Step {
  std::string node;  // node id ("main" for a Lua flow's entry function)
  std::string type;  // node type ("lua-flow" for a Lua flow)
  std::string flow;  // the flow the node belongs to (differs inside subflows)
  std::string port;  // the port taken; "" when the node waited or ended the run
  int64_t at = 0;    // epoch ms the step began
  int64_t duration_us = 0;
  std::string outcome;  // "next" | "wait" | "end" | "error"
  std::string error;    // what went wrong, for outcome "error"
  std::string traceback;
  std::vector<std::string> log;  // ctx.log lines and warnings ("warn: ...")
};
nlohmann::json to_json(const Step& step);

struct WaitRequest {
  std::string kind;  // reply | delay | http
  std::optional<int64_t> deadline_at;  // epoch ms: reply timeout, delay end
  nlohmann::json request;              // http: {method, url, headers, body, timeout_ms}
};

struct RunInput {
  FlowPtr flow;  // the execution's own flow (frames[0]); frames above it are resolved by hash
  std::string workspace_id;
  nlohmann::json state = nlohmann::json::object();  // empty: a new execution
  std::optional<nlohmann::json> resume;  // the awaited result, appended to the journal
  // {"message", "contact", "conversation", "trigger", "workspace": {"id", "timezone"}};
  // missing members are nil in Lua.
  nlohmann::json context = nlohmann::json::object();
  nlohmann::json initial_vars = nlohmann::json::object();  // a new execution's variables
  int64_t now_ms = 0;
};

struct RunOutcome {
  enum class Status { waiting, completed, failed };
  Status status = Status::completed;
  nlohmann::json state;  // what to persist (for waiting; informational otherwise)
  nlohmann::json vars;   // the variables now (for display)
  std::optional<WaitRequest> wait;
  std::vector<Effect> effects;
  std::vector<Step> steps;
  std::string error;  // failed: a message an admin understands
  bool handed_off = false;
};

class FlowEngine {
 public:
  FlowEngine(std::shared_ptr<const NodeCatalog> catalog, EngineHost& host, EngineLimits limits = {});
  ~FlowEngine();
  FlowEngine(const FlowEngine&) = delete;
  FlowEngine& operator=(const FlowEngine&) = delete;

  // Runs one segment. Never throws for anything the flow does; a bad
  // `input` (a state that names a revision that cannot be found) is a failed
  // outcome too.
  RunOutcome run(const RunInput& input);

  const EngineLimits& limits() const { return limits_; }
  size_t memory_used() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  EngineLimits limits_;
};

}  // namespace sb::flows
