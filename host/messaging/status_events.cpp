#include "messaging/status_events.hpp"

#include "core/ids.hpp"

namespace sb::messaging {

using nlohmann::json;

json status_event_data(const store::Message& message, const std::string& status,
                       const std::optional<std::string>& error, int64_t at_ms) {
  return {{"message_id", message.id},
          {"external_id", message.external_id ? json(*message.external_id) : json(nullptr)},
          {"conversation_id", message.conversation_id},
          {"contact_id", message.contact_id},
          {"workspace_id", message.workspace_id},
          {"organization_id", message.organization_id},
          {"profile_id", message.profile_id},
          {"direction", "out"},
          {"status", status},
          {"error", error ? json(*error) : json(nullptr)},
          {"at", at_ms}};
}

void publish_status_change(EventBus& bus, const store::Message& message, const std::string& status,
                           const std::optional<std::string>& error) {
  Event e;
  e.type = "message.status";
  e.workspace_id = message.workspace_id;
  e.profile_id = message.profile_id;
  e.at_ms = now_ms();
  e.data = status_event_data(message, status, error, e.at_ms);
  bus.publish(e);
  e.type = "message." + status;
  bus.publish(e);
}

}  // namespace sb::messaging
