#include "webhooks/webhook_events.hpp"

#include "core/ids.hpp"

#include <algorithm>

namespace sb::webhooks {

using nlohmann::json;

const std::vector<std::string>& event_names() {
  static const std::vector<std::string> names = {
      "message.received",     "message.sent",         "message.delivered", "message.read",
      "message.failed",       "session.status",       "session.qr",        "conversation.created",
      "conversation.updated", "contact.created",      "contact.updated",   "campaign.progress",
      "flow.execution.failed", "knowledge.document.ready", "knowledge.document.failed"};
  return names;
}

bool is_event_name(std::string_view name) {
  const auto& names = event_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<WebhookEvent> webhook_events_of(const Event& e) {
  const std::string& t = e.type;
  // The bus carries every status change twice: "message.status" (for the
  // event stream's listeners) and "message.<status>" (messaging/status_events.hpp).
  // Webhooks take the second, which already has the documented name.
  if (t == "message.status") return {};
  if (t == "session.status") {
    std::vector<WebhookEvent> out = {{t, e.data}};
    if (e.data.value("status", std::string()) == "QR_READY" && e.data.contains("qr") && e.data["qr"].is_string())
      out.push_back({"session.qr", {{"profile_id", e.data.value("profile_id", e.profile_id)}, {"qr", e.data["qr"]}}});
    return out;
  }
  if (t == "conversation.resolved")
    return {{"conversation.updated", {{"conversation_id", e.data.value("conversation_id", "")}, {"change", "resolved"}}}};
  if (t == "handoff.released")
    return {{"conversation.updated", {{"conversation_id", e.data.value("conversation_id", "")}, {"change", "handback"}}}};
  if (t == "flow.execution") {
    if (e.data.value("status", std::string()) == "failed") return {{"flow.execution.failed", e.data}};
    return {};
  }
  if (is_event_name(t)) return {{t, e.data}};
  return {};
}

std::string ordering_key_of(const WebhookEvent& event, const std::string& profile_id, const std::string& event_id) {
  if (auto it = event.data.find("conversation_id"); it != event.data.end() && it->is_string() && !it->empty())
    return it->get<std::string>();
  if (event.type.rfind("session.", 0) == 0 && !profile_id.empty()) return "profile:" + profile_id;
  return event_id;
}

bool filter_matches(const json& filter, const std::string& type) {
  if (filter.is_string()) return filter.get<std::string>() == "*";
  if (!filter.is_array()) return false;
  for (const auto& name : filter)
    if (name.is_string() && name.get<std::string>() == type) return true;
  return false;
}

std::string delivery_body(const WebhookEvent& event, int64_t at_ms, const std::string& organization_id,
                          const std::string& workspace_id, bool for_dashboard) {
  json body = {{"type", event.type},
               {"timestamp", iso8601(at_ms)},
               {"organization_id", organization_id},
               {"workspace_id", workspace_id},
               {"data", event.data}};
  if (for_dashboard) {
    body["agencyId"] = organization_id;
    body["tenantId"] = workspace_id;
  }
  return body.dump();
}

}  // namespace sb::webhooks
