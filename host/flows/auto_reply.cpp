#include "flows/auto_reply.hpp"

#include "core/error.hpp"

#include <set>

namespace sb::flows {
namespace {

using nlohmann::json;

Error bad(const std::string& field, const std::string& message) {
  return Error(ErrorCode::invalid_argument, "auto_reply." + field + " " + message, {{"field", "auto_reply." + field}});
}

void check_text(const json& s, const char* name, size_t max) {
  auto it = s.find(name);
  if (it == s.end() || it->is_null()) return;
  if (!it->is_string() || it->get_ref<const std::string&>().empty() || it->get_ref<const std::string&>().size() > max) {
    throw bad(name, "must be a string of 1 to " + std::to_string(max) + " characters");
  }
}

}  // namespace

json checked_auto_reply(const json& setting) {
  if (setting.is_null()) return json::object();
  if (!setting.is_object()) {
    throw Error(ErrorCode::invalid_argument, "auto_reply must be an object", {{"field", "auto_reply"}});
  }
  static const std::set<std::string> known = {"enabled",        "knowledge_base", "min_score", "fallback_text",
                                              "no_answer_text", "handoff"};
  for (const auto& [key, value] : setting.items()) {
    if (!known.count(key)) throw bad(key, "is not a setting (enabled, knowledge_base, min_score, fallback_text, no_answer_text, handoff)");
  }
  json out = setting;
  if (out.contains("enabled") && !out["enabled"].is_boolean()) throw bad("enabled", "must be true or false");
  if (out.contains("handoff") && !out["handoff"].is_boolean()) throw bad("handoff", "must be true or false");
  out["enabled"] = out.value("enabled", false);
  out["handoff"] = out.value("handoff", true);
  check_text(out, "knowledge_base", 200);
  check_text(out, "fallback_text", 4096);
  check_text(out, "no_answer_text", 4096);
  if (out.contains("min_score") && !out["min_score"].is_null() &&
      (!out["min_score"].is_number() || out["min_score"].get<double>() < 0 || out["min_score"].get<double>() > 1)) {
    throw bad("min_score", "must be a number from 0 to 1");
  }
  if (out["enabled"].get<bool>() && !out.contains("knowledge_base")) {
    throw bad("knowledge_base", "is required when auto_reply is enabled");
  }
  return out;
}

bool auto_reply_enabled(const json& setting) {
  return setting.is_object() && setting.value("enabled", false) && setting.contains("knowledge_base") &&
         setting["knowledge_base"].is_string();
}

std::string auto_reply_flow(const json& setting) {
  json answer_config = {{"knowledge_base", setting.value("knowledge_base", "")},
                        {"handoff_on_error", setting.value("handoff", true)}};
  if (setting.contains("min_score") && setting["min_score"].is_number()) answer_config["min_score"] = setting["min_score"];
  if (setting.contains("fallback_text") && setting["fallback_text"].is_string()) {
    answer_config["fallback_text"] = setting["fallback_text"];
  }
  json nodes = json::array({{{"id", "answer"},
                             {"type", "ai_reply"},
                             {"typeVersion", 1},
                             {"name", "Answer from the knowledge base"},
                             {"config", answer_config}}});
  json edges = json::array();
  const bool handoff = setting.value("handoff", true);
  const std::string unsure_text = setting.value("no_answer_text", "");
  if (handoff || !unsure_text.empty()) {
    json unsure = {{"id", "unsure"}, {"typeVersion", 1}};
    if (handoff) {
      unsure["type"] = "handoff";
      unsure["name"] = "Hand off";
      unsure["config"] = {{"note", "The bot found no answer in the knowledge base."}};
      if (!unsure_text.empty()) unsure["config"]["text"] = unsure_text;
    } else {
      unsure["type"] = "send_text";
      unsure["name"] = "Not sure";
      unsure["config"] = {{"text", unsure_text}};
    }
    nodes.push_back(unsure);
    edges.push_back({{"id", "unsure"}, {"from", {{"node", "answer"}, {"port", "no_answer"}}}, {"to", {{"node", "unsure"}}}});
  }
  const json doc = {{"schema", "switchboard.flow/1"},
                    {"id", kAutoReplyFlowId},
                    {"rev", 1},
                    {"name", "Auto reply from the knowledge base"},
                    {"trigger", {{"type", "manual"}}},
                    {"start", "answer"},
                    {"nodes", nodes},
                    {"edges", edges}};
  return doc.dump(2);
}

}  // namespace sb::flows
