#pragma once
// The inbound pipeline: where what channel plugins emit becomes durable.
//
//   "message.inbound" {"external_id","from","from_name","type","text","timestamp",...}
//       validated and normalized (from -> E.164), then in ONE write job: the
//       profile is looked up, the message deduped on (profile, external id),
//       the contact upserted, the conversation found or opened, the message
//       stored (direction in, status received, handled 0) and the
//       conversation's last_message_at bumped. Returns
//       {"message_id","conversation_id","contact_id","duplicate"}. After the
//       commit (and only for a new message) publishes
//       Event{"message.received", data = the stored message JSON (see
//       store::to_json(Message)) plus "from" and "from_name"}.
//   "message.status" {"external_id","status","error"?}
//       moves the outbound message with that external id forward (queued <
//       sent < delivered < read; failed is terminal; anything else is
//       ignored as stale) and publishes "message.status" and
//       "message.<status>" (messaging/status_events.hpp: ids, tenant,
//       status, error, at). A receipt for an external id the host
//       does not know yet while the profile has sends in flight is parked
//       and applied when the send is recorded; otherwise not_found.
//   "session.status" {"status","qr"?,"detail"?}
//       updates the profile's status, qr and status_detail and publishes
//       "session.status" {"profile_id","status","qr","detail"}.
//
// Bad input throws sb::Error(invalid_argument) with a message naming the
// field; an unknown profile (or one bound to another plugin) not_found. A
// failed call has written nothing.
//
// Threads: called concurrently from plugin threads (HTTP workers, timers);
// it keeps no state of its own beyond its references.
#include "core/event_bus.hpp"
#include "plugins/host_services.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace sb::messaging {

class InboundPipeline final : public plugins::PluginEventSink {
 public:
  InboundPipeline(store::Database& db, EventBus& bus);

  // plugins::PluginEventSink: dispatches on `type` to the three below;
  // unknown types are invalid_argument. `instance_id` is the profile id.
  nlohmann::json on_plugin_event(const std::string& plugin_id, const std::string& instance_id, std::string_view type,
                                 const nlohmann::json& event) override;

  nlohmann::json receive_message(const std::string& plugin_id, const std::string& profile_id,
                                 const nlohmann::json& event);
  nlohmann::json apply_message_status(const std::string& plugin_id, const std::string& profile_id,
                                      const nlohmann::json& event);
  nlohmann::json apply_session_status(const std::string& plugin_id, const std::string& profile_id,
                                      const nlohmann::json& event);

 private:
  // A profile's organization, workspace and channel plugin never change
  // once it exists, so receipts (two per outbound message) look them up
  // here instead of in the database; what can change is always read fresh.
  struct ProfileIdentity {
    std::string organization_id, workspace_id, channel_plugin;
  };
  ProfileIdentity profile_identity(store::Connection& c, const std::string& plugin_id, const std::string& profile_id);

  store::Database& db_;
  EventBus& bus_;
  std::mutex identities_mu_;
  std::map<std::string, ProfileIdentity> identities_;
};

}  // namespace sb::messaging
