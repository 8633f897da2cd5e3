#pragma once
// A profile's auto_reply: "answer from the knowledge base, hand off when
// unsure" without drawing a flow. The setting is stored on the profile
// ({"enabled", "knowledge_base", "min_score", "fallback_text",
// "no_answer_text", "handoff"}); when it is on, a message that no keyword
// trigger takes runs a graph the host composes from it (an ai_reply node
// whose no_answer port leads to a handoff), before any catch-all message
// trigger (docs/flows.md, "Which flow gets a message").
//
// Pure functions: safe on any thread.
#include <nlohmann/json.hpp>

#include <string>

namespace sb::flows {

// The id executions of the built-in graph carry.
inline constexpr const char* kAutoReplyFlowId = "auto-reply";

// The setting checked, with its defaults filled; {} (or enabled false)
// is off. Throws sb::Error(invalid_argument) naming the field
// ("auto_reply.knowledge_base is required when enabled").
nlohmann::json checked_auto_reply(const nlohmann::json& setting);
bool auto_reply_enabled(const nlohmann::json& setting);

// The graph document (switchboard.flow/1) that answers for the setting.
std::string auto_reply_flow(const nlohmann::json& setting);

}  // namespace sb::flows
