#pragma once
// The C functions the prelude calls as HOST.* (flows/runtime/prelude.lua),
// and the per-run scope they work on. Internal to the engine.
#include "flows/engine.hpp"

#include <lua.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sb::flows {

// What HOST functions see of the run in progress (LuaSandbox::user_data).
struct RunScope {
  std::string workspace_id;
  std::string timezone = "UTC";
  int64_t now_ms = 0;
  bool has_conversation = false;
  bool handed_off = false;
  EngineHost* host = nullptr;
  std::vector<Effect>* effects = nullptr;
  std::vector<std::string>* step_log = nullptr;  // the current step's log lines
  // Key-value writes of this run, read back before the store (nullopt: deleted).
  std::map<std::string, std::optional<nlohmann::json>> kv_written;
};

// Pushes the HOST table.
void push_host_functions(lua_State* L);

// The checked message a flow sends: a string is a text; a table must name
// a known type and carry what that type needs. Throws sb::Error(invalid_argument).
nlohmann::json normalize_outgoing(const nlohmann::json& message);
// The checked HTTP request ctx.http makes: {method, url, headers, body,
// timeout_ms}. Throws sb::Error(invalid_argument).
nlohmann::json normalize_http_request(const nlohmann::json& request);
// The checked request of ctx.ai_reply (`op` "reply") or ctx.ai_classify
// ("classify"), as the knowledge bases take it (docs/flows.md): the fields
// each op reads, with their types and bounds checked, and "op" set. Throws
// sb::Error(invalid_argument).
nlohmann::json normalize_ai_request(const std::string& op, const nlohmann::json& options);

}  // namespace sb::flows
