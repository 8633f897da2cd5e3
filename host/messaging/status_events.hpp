#pragma once
// How a change of an outbound message's status reaches the event bus: one
// helper that the outbox (sent, failed) and the inbound pipeline (receipts:
// delivered, read, failed) both call, so that every status change is
// published the same way.
//
// Each change is published twice, with the same data:
//   "message.status"     the event listeners have always had (SSE, flows);
//   "message.<status>"   "message.sent", "message.delivered", "message.read"
//                        or "message.failed", for listeners that want one.
// data: {"message_id","external_id","conversation_id","contact_id",
//        "workspace_id","organization_id","profile_id","direction":"out",
//        "status","error","at"} — external_id and error null when unknown,
//        `at` in unix milliseconds.
//
// Call after the change is committed. Any thread.
#include "core/event_bus.hpp"
#include "store/message_repository.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace sb::messaging {

// The data of a status event for `message` taking `status`.
nlohmann::json status_event_data(const store::Message& message, const std::string& status,
                                 const std::optional<std::string>& error, int64_t at_ms);

// Publishes "message.status" and "message.<status>" for `message` (its
// external id as it is now) taking `status`.
void publish_status_change(EventBus& bus, const store::Message& message, const std::string& status,
                           const std::optional<std::string>& error);

}  // namespace sb::messaging
