#pragma once
// Which bus events become outbound webhook events, under which documented
// name (docs/api.md "Outbound webhooks"), and the body each delivery sends.
//
//   bus event                         webhook event
//   message.received                  message.received
//   message.status (status S)         message.S  (sent, delivered, read, failed)
//   session.status                    session.status, and session.qr when it carries a QR code
//   conversation.created / .updated   the same
//   conversation.resolved             conversation.updated {"conversation_id", "change": "resolved"}
//   handoff.released                  conversation.updated {"conversation_id", "change": "handback"}
//   contact.created / .updated        the same
//   campaign.progress                 the same
//   flow.execution (status failed)    flow.execution.failed
//   knowledge.document.ready / .failed  the same (progress is for the event stream only)
//
// Stateless: safe from any thread.
#include "core/event_bus.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace sb::webhooks {

// The documented names a subscription may filter on.
const std::vector<std::string>& event_names();
bool is_event_name(std::string_view name);
// The type of the deliveries POST .../webhooks/:id/test queues.
inline constexpr const char* kTestEvent = "webhook.test";

struct WebhookEvent {
  std::string type;     // a documented name
  nlohmann::json data;  // the "data" of the body
};

// The webhook events a bus event becomes (none for events that are not
// delivered).
std::vector<WebhookEvent> webhook_events_of(const Event& event);

// What keeps deliveries in order: the conversation id when the data has
// one, "profile:<id>" for session events, else `event_id` (no order).
std::string ordering_key_of(const WebhookEvent& event, const std::string& profile_id, const std::string& event_id);

// A subscription's filter: "*" or a list of names.
bool filter_matches(const nlohmann::json& filter, const std::string& type);

// The body of a delivery: {"type", "timestamp", "organization_id",
// "workspace_id", "data"}; dashboards also get their own names of the two
// ids, "agencyId" and "tenantId".
std::string delivery_body(const WebhookEvent& event, int64_t at_ms, const std::string& organization_id,
                          const std::string& workspace_id, bool for_dashboard);

}  // namespace sb::webhooks
