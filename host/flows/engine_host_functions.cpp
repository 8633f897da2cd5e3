#include "flows/engine_host_functions.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "flows/cron.hpp"
#include "flows/lua_json.hpp"
#include "flows/lua_sandbox.hpp"
#include "flows/regex.hpp"
#include "messaging/message_types.hpp"

#include <cmath>
#include <cstdio>
#include <set>

namespace sb::flows {

namespace {

constexpr size_t kMaxTextLength = 4096;  // WhatsApp's limit for a text body
constexpr size_t kMaxTagLength = 64;
constexpr size_t kMaxKeyLength = 200;
constexpr int64_t kDefaultHttpTimeoutMs = 10'000;
constexpr int64_t kMaxHttpTimeoutMs = 60'000;

RunScope& scope_of(lua_State* L) { return *static_cast<RunScope*>(LuaSandbox::of(L).user_data); }

// Runs `body` and turns an exception into a Lua error raised after every
// C++ object of the call is gone (Lua errors longjmp over C++ frames).
template <class Body>
int guarded(lua_State* L, Body body) {
  char message[512];
  try {
    return body(scope_of(L));
  } catch (const std::exception& e) {
    std::snprintf(message, sizeof message, "%s", e.what());
  }
  // Nothing with a destructor is alive here: a memory error raised by the
  // push jumps over this frame without leaking.
  lua_pushstring(L, message);
  return lua_error(L);
}

std::string string_arg(lua_State* L, int index, const char* what) {
  size_t len = 0;
  const char* s = lua_type(L, index) == LUA_TSTRING ? lua_tolstring(L, index, &len) : nullptr;
  if (!s) throw Error(ErrorCode::invalid_argument, std::string(what) + " must be a string");
  return std::string(s, len);
}

void require_conversation(const RunScope& scope, const char* what) {
  if (!scope.has_conversation) {
    throw Error(ErrorCode::invalid_argument,
                std::string(what) + ": this execution has no conversation (it was started by a schedule, "
                                    "an event or a webhook without a contact)");
  }
}

int host_send(lua_State* L) {
  return guarded(L, [L](RunScope& scope) {
    require_conversation(scope, "ctx.send");
    nlohmann::json message = lua_type(L, 1) == LUA_TSTRING ? nlohmann::json(lua_tostring(L, 1))
                                                            : to_json(L, 1, "message");
    nlohmann::json normalized = normalize_outgoing(message);
    // Then the host's message shape, type by type (as the API checks a send).
    try {
      normalized = messaging::check_outgoing_object(normalized);
    } catch (const Error& e) {
      throw Error(e.code(), std::string("ctx.send: ") + e.what(), e.details());
    }
    std::string id = new_id("msg");
    scope.effects->push_back(Effect{Effect::Kind::send, {{"id", id}, {"message", std::move(normalized)}}});
    lua_pushlstring(L, id.data(), id.size());
    return 1;
  });
}

int host_tag(lua_State* L) {
  return guarded(L, [L](RunScope& scope) {
    require_conversation(scope, "ctx.tag");
    std::string tag = string_arg(L, 1, "a tag");
    if (tag.empty() || tag.size() > kMaxTagLength) {
      throw Error(ErrorCode::invalid_argument, "a tag must be 1 to " + std::to_string(kMaxTagLength) + " characters");
    }
    const bool add = lua_toboolean(L, 2);
    scope.effects->push_back(Effect{add ? Effect::Kind::tag : Effect::Kind::untag, {{"tag", tag}}});
    return 0;
  });
}

int host_handoff(lua_State* L) {
  return guarded(L, [L](RunScope& scope) {
    require_conversation(scope, "ctx.handoff");
    nlohmann::json data = nlohmann::json::object();
    if (lua_type(L, 1) == LUA_TSTRING) data["note"] = lua_tostring(L, 1);
    scope.effects->push_back(Effect{Effect::Kind::handoff, std::move(data)});
    scope.handed_off = true;
    return 0;
  });
}

int host_log(lua_State* L) {
  return guarded(L, [L](RunScope& scope) {
    std::string level = string_arg(L, 1, "a log level");
    static const std::set<std::string> levels = {"debug", "info", "warn", "error"};
    if (!levels.count(level)) throw Error(ErrorCode::invalid_argument, "log level must be debug, info, warn or error");
    size_t len = 0;
    const char* text = luaL_tolstring(L, 2, &len);
    if (scope.step_log) scope.step_log->push_back(level + ": " + std::string(text, len));
    lua_pop(L, 1);
    return 0;
  });
}

int host_warn(lua_State* L) {
  return guarded(L, [L](RunScope& scope) {
    std::string line = "warn: " + string_arg(L, 1, "a warning");
    if (scope.step_log && std::find(scope.step_log->begin(), scope.step_log->end(), line) == scope.step_log->end()) {
      scope.step_log->push_back(std::move(line));
    }
    return 0;
  });
}

std::string kv_key(lua_State* L) {
  std::string key = string_arg(L, 1, "a key");
  if (key.empty() || key.size() > kMaxKeyLength) {
    throw Error(ErrorCode::invalid_argument, "a key must be 1 to " + std::to_string(kMaxKeyLength) + " characters");
  }
  return key;
}

int host_kv_get(lua_State* L) {
  return guarded(L, [L](RunScope& scope) {
    std::string key = kv_key(L);
    std::optional<nlohmann::json> value;
    if (auto it = scope.kv_written.find(key); it != scope.kv_written.end()) {
      value = it->second;
    } else if (scope.host) {
      value = scope.host->kv_get(scope.workspace_id, key);
    }
    if (value) push_json(L, *value); else lua_pushnil(L);
    return 1;
  });
}

int host_kv_set(lua_State* L) {
  return guarded(L, [L](RunScope& scope) {
    std::string key = kv_key(L);
    if (lua_isnil(L, 2)) {
      scope.kv_written[key] = std::nullopt;
      scope.effects->push_back(Effect{Effect::Kind::kv_delete, {{"key", key}}});
    } else {
      nlohmann::json value = to_json(L, 2, "ctx.kv value");
      scope.kv_written[key] = value;
      scope.effects->push_back(Effect{Effect::Kind::kv_set, {{"key", key}, {"value", std::move(value)}}});
    }
    return 0;
  });
}

int host_http_request(lua_State* L) {
  return guarded(L, [L](RunScope&) {
    nlohmann::json request = normalize_http_request(to_json(L, 1, "request"));
    push_json(L, request);
    return 1;
  });
}

int host_ai_request(lua_State* L) {
  return guarded(L, [L](RunScope&) {
    const std::string op = string_arg(L, 1, "an AI operation");
    push_json(L, normalize_ai_request(op, to_json(L, 2, "options")));
    return 1;
  });
}

int host_now(lua_State* L) {
  return guarded(L, [L](RunScope& scope) {
    lua_pushinteger(L, scope.now_ms);
    return 1;
  });
}

int host_local_time(lua_State* L) {
  return guarded(L, [L](RunScope& scope) {
    LocalTime t = local_time(scope.now_ms, scope.timezone);
    push_json(L, {{"year", t.year}, {"month", t.month}, {"day", t.day}, {"hour", t.hour}, {"minute", t.minute},
                  {"second", t.second}, {"weekday", t.weekday}, {"timezone", scope.timezone}});
    return 1;
  });
}

int host_regex(lua_State* L) {
  return guarded(L, [L](RunScope&) {
    std::string pattern = string_arg(L, 1, "a pattern");
    std::string text = string_arg(L, 2, "a text");
    auto match = regex_search(pattern, text, lua_toboolean(L, 3));
    if (!match) {
      lua_pushnil(L);
      return 1;
    }
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : match->groups) groups.push_back(g ? nlohmann::json(*g) : nlohmann::json(nullptr));
    push_json(L, {{"match", match->match}, {"groups", groups}});
    return 1;
  });
}

bool is_http_url(const std::string& url) { return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0; }

}  // namespace

void push_host_functions(lua_State* L) {
  static const luaL_Reg functions[] = {
      {"send", host_send},         {"tag", host_tag},       {"handoff", host_handoff},
      {"log", host_log},           {"warn", host_warn},     {"kv_get", host_kv_get},
      {"kv_set", host_kv_set},     {"http_request", host_http_request}, {"ai_request", host_ai_request},
      {"now", host_now},           {"local_time", host_local_time}, {"regex", host_regex},
      {nullptr, nullptr}};
  luaL_newlib(L, functions);
}

nlohmann::json normalize_outgoing(const nlohmann::json& message) {
  if (message.is_string()) {
    const std::string text = message.get<std::string>();
    if (text.empty()) throw Error(ErrorCode::invalid_argument, "ctx.send: the text is empty");
    if (text.size() > kMaxTextLength)
      throw Error(ErrorCode::invalid_argument, "ctx.send: a text may have at most 4096 characters");
    return {{"type", "text"}, {"text", text}};
  }
  if (!message.is_object()) {
    throw Error(ErrorCode::invalid_argument, "ctx.send needs a text or a message table {type=..., ...}");
  }
  nlohmann::json out = message;
  const std::string type = message.value("type", "text");
  out["type"] = type;
  auto text_field = [&](const char* name) -> std::string {
    auto it = message.find(name);
    return it != message.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (type == "text") {
    const std::string text = text_field("text");
    if (text.empty()) throw Error(ErrorCode::invalid_argument, "ctx.send: a text message needs a non-empty text");
    if (text.size() > kMaxTextLength)
      throw Error(ErrorCode::invalid_argument, "ctx.send: a text may have at most 4096 characters");
  } else if (type == "image" || type == "video" || type == "audio" || type == "document" || type == "sticker") {
    if (!is_http_url(text_field("url"))) {
      throw Error(ErrorCode::invalid_argument, "ctx.send: a " + type + " message needs an http(s) url");
    }
  } else if (type == "interactive") {
    if (!message.contains("interactive") || !message["interactive"].is_object()) {
      throw Error(ErrorCode::invalid_argument, "ctx.send: an interactive message needs an interactive table");
    }
  } else if (type == "location") {
    if (!message.contains("latitude") || !message.contains("longitude")) {
      throw Error(ErrorCode::invalid_argument, "ctx.send: a location message needs latitude and longitude");
    }
  } else if (type != "contact" && type != "poll" && type != "reaction" && type != "template") {
    // contact, poll, reaction and template are checked by check_outgoing_object alone.
    throw Error(ErrorCode::invalid_argument, "ctx.send: unknown message type '" + type + "'");
  }
  return out;
}

nlohmann::json normalize_http_request(const nlohmann::json& request) {
  if (!request.is_object()) throw Error(ErrorCode::invalid_argument, "ctx.http needs a table {method=, url=, ...}");
  std::string method = request.value("method", "GET");
  for (auto& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  static const std::set<std::string> methods = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
  if (!methods.count(method)) throw Error(ErrorCode::invalid_argument, "ctx.http: unsupported method '" + method + "'");
  const std::string url = request.value("url", "");
  if (!is_http_url(url)) throw Error(ErrorCode::invalid_argument, "ctx.http: url must start with http:// or https://");
  nlohmann::json headers = nlohmann::json::object();
  if (request.contains("headers")) {
    if (!request["headers"].is_object()) throw Error(ErrorCode::invalid_argument, "ctx.http: headers must be a table");
    for (const auto& [name, value] : request["headers"].items()) {
      if (!value.is_string()) throw Error(ErrorCode::invalid_argument, "ctx.http: header '" + name + "' must be a string");
      headers[name] = value;
    }
  }
  std::string body;
  if (request.contains("json") && !request["json"].is_null()) {
    body = request["json"].dump();
    if (!headers.contains("Content-Type")) headers["Content-Type"] = "application/json";
  } else if (request.contains("body") && !request["body"].is_null()) {
    if (request["body"].is_string()) {
      body = request["body"].get<std::string>();
    } else {
      body = request["body"].dump();
      if (!headers.contains("Content-Type")) headers["Content-Type"] = "application/json";
    }
  }
  int64_t timeout_ms = kDefaultHttpTimeoutMs;
  if (request.contains("timeout")) {
    if (!request["timeout"].is_number() || request["timeout"].get<double>() <= 0) {
      throw Error(ErrorCode::invalid_argument, "ctx.http: timeout must be a positive number of seconds");
    }
    timeout_ms = std::min<int64_t>(kMaxHttpTimeoutMs, std::llround(request["timeout"].get<double>() * 1000));
  }
  return {{"method", method}, {"url", url}, {"headers", headers}, {"body", body}, {"timeout_ms", timeout_ms}};
}

nlohmann::json normalize_ai_request(const std::string& op, const nlohmann::json& options) {
  const std::string what = op == "reply" ? "ctx.ai_reply" : "ctx.ai_classify";
  if (op != "reply" && op != "classify") throw Error(ErrorCode::invalid_argument, "unknown AI operation '" + op + "'");
  if (!options.is_object()) throw Error(ErrorCode::invalid_argument, what + " needs a table of options");
  auto bad = [&](const std::string& message) { return Error(ErrorCode::invalid_argument, what + ": " + message); };
  auto text = [&](const char* name, size_t max, bool required) -> std::optional<std::string> {
    auto it = options.find(name);
    if (it == options.end() || it->is_null()) {
      if (required) throw bad(std::string(name) + " is required");
      return std::nullopt;
    }
    if (!it->is_string() || it->get_ref<const std::string&>().size() > max) {
      throw bad(std::string(name) + " must be a string of at most " + std::to_string(max) + " characters");
    }
    return it->get<std::string>();
  };
  nlohmann::json out = {{"op", op}};
  if (auto kb = text("knowledge_base", 200, op == "reply")) out["knowledge_base"] = *kb;
  if (auto id = text("message_id", 100, false)) out["message_id"] = *id;
  if (op == "reply") {
    out["question"] = text("question", 4000, false).value_or("");
    if (auto it = options.find("tags"); it != options.end() && !it->is_null()) {
      if (!it->is_array()) throw bad("tags must be a list of strings");
      for (const auto& t : *it)
        if (!t.is_string()) throw bad("tags must be a list of strings");
      out["tags"] = *it;
    }
    if (auto it = options.find("min_score"); it != options.end() && !it->is_null()) {
      if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 1) throw bad("min_score must be a number from 0 to 1");
      out["min_score"] = *it;
    }
    if (auto style = text("citation_style", 16, false)) {
      if (*style != "footnote" && *style != "inline" && *style != "none") {
        throw bad("citation_style must be footnote, inline or none");
      }
      out["citation_style"] = *style;
    }
    if (auto it = options.find("max_chunks"); it != options.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int>() < 1 || it->get<int>() > 20) throw bad("max_chunks must be 1 to 20");
      out["max_chunks"] = *it;
    }
  } else {
    out["text"] = text("text", 4000, false).value_or("");
    auto labels = options.find("labels");
    if (labels == options.end() || !labels->is_array() || labels->empty()) throw bad("labels must be a non-empty list");
    out["labels"] = *labels;
  }
  return out;
}

}  // namespace sb::flows
