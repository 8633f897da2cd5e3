#include "messaging/inbound_pipeline.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "messaging/contacts_identities.hpp"
#include "messaging/contacts_opt_out.hpp"
#include "messaging/message_rules.hpp"
#include "messaging/phone.hpp"
#include "messaging/status_events.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"
#include "store/message_repository.hpp"
#include "store/outbox_repository.hpp"
#include "store/profile_repository.hpp"

#include <algorithm>
#include <array>

namespace sb::messaging {

namespace {

using nlohmann::json;

constexpr size_t kMaxExternalId = 256;
constexpr size_t kMaxName = 256;
constexpr size_t kMaxText = 64 * 1024;

constexpr std::array<std::string_view, 6> kSessionStatuses = {"DISCONNECTED", "CONNECTING", "QR_READY",
                                                              "CONNECTED",    "FAILED",     "LOGGED_OUT"};

[[noreturn]] void bad(const std::string& message) { throw Error(ErrorCode::invalid_argument, message); }

std::string required_string(const json& event, const char* field, size_t max_len) {
  auto it = event.find(field);
  if (it == event.end() || it->is_null()) bad(std::string("\"") + field + "\" is missing");
  if (!it->is_string()) bad(std::string("\"") + field + "\" must be a string");
  std::string value = it->get<std::string>();
  if (value.empty()) bad(std::string("\"") + field + "\" must not be empty");
  if (value.size() > max_len) bad(std::string("\"") + field + "\" is longer than " + std::to_string(max_len) + " bytes");
  return value;
}

std::optional<std::string> optional_string(const json& event, const char* field, size_t max_len) {
  auto it = event.find(field);
  if (it == event.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) bad(std::string("\"") + field + "\" must be a string");
  std::string value = it->get<std::string>();
  if (value.size() > max_len) bad(std::string("\"") + field + "\" is longer than " + std::to_string(max_len) + " bytes");
  return value;
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// One inbound message in the host's shape, checked.
struct InboundMessage {
  std::string external_id;
  std::string from;  // E.164
  std::string from_name;
  std::string type;
  std::optional<std::string> text;
  json payload;  // everything else the channel sent (timestamp, media, ...)
};

InboundMessage normalize_inbound(const json& event) {
  if (!event.is_object()) bad("a message.inbound event must be a JSON object");
  InboundMessage m;
  m.external_id = required_string(event, "external_id", kMaxExternalId);
  auto from = event.find("from");
  if (from == event.end() || from->is_null()) bad("\"from\" is missing: the sender's phone number is required");
  if (!from->is_string()) bad("\"from\" must be a phone number string");
  m.from = normalize_phone(from->get<std::string>(), "from");
  m.from_name = optional_string(event, "from_name", kMaxName).value_or("");
  m.type = required_string(event, "type", 32);
  if (!is_message_type(m.type)) bad("\"type\" \"" + m.type + "\" is not a message type");
  m.text = optional_string(event, "text", kMaxText);
  if (m.type == "text" && (!m.text || blank(*m.text))) bad("a text message needs a non-empty \"text\"");
  if (m.text && m.text->empty()) m.text.reset();
  m.payload = event;
  for (const char* known : {"external_id", "from", "from_name", "type", "text"}) m.payload.erase(known);
  return m;
}

// The profile `profile_id`, which must be bound to `plugin_id`: a plugin
// speaks only for its own profiles.
store::Profile require_profile(store::Connection& c, const std::string& plugin_id, const std::string& profile_id) {
  auto profile = store::profiles::get(c, profile_id);
  if (!profile || profile->channel_plugin != plugin_id)
    throw Error(ErrorCode::not_found, "profile " + profile_id + " not found");
  return std::move(*profile);
}

Event make_event(std::string type, const std::string& workspace_id, const std::string& profile_id, json data) {
  Event e;
  e.type = std::move(type);
  e.workspace_id = workspace_id;
  e.profile_id = profile_id;
  e.data = std::move(data);
  e.at_ms = now_ms();
  return e;
}

}  // namespace

InboundPipeline::InboundPipeline(store::Database& db, EventBus& bus) : db_(db), bus_(bus) {}

InboundPipeline::ProfileIdentity InboundPipeline::profile_identity(store::Connection& c, const std::string& plugin_id,
                                                                   const std::string& profile_id) {
  {
    std::lock_guard lock(identities_mu_);
    auto it = identities_.find(profile_id);
    if (it != identities_.end() && it->second.channel_plugin == plugin_id) return it->second;
  }
  const store::Profile profile = require_profile(c, plugin_id, profile_id);
  ProfileIdentity identity{profile.organization_id, profile.workspace_id, profile.channel_plugin};
  std::lock_guard lock(identities_mu_);
  identities_[profile_id] = identity;
  return identity;
}

json InboundPipeline::on_plugin_event(const std::string& plugin_id, const std::string& instance_id,
                                      std::string_view type, const json& event) {
  if (type == SB_EVENT_MESSAGE_INBOUND) return receive_message(plugin_id, instance_id, event);
  if (type == SB_EVENT_MESSAGE_STATUS) return apply_message_status(plugin_id, instance_id, event);
  if (type == SB_EVENT_SESSION_STATUS) return apply_session_status(plugin_id, instance_id, event);
  bad("unknown event type \"" + std::string(type.substr(0, 64)) + "\" (expected message.inbound, message.status or "
      "session.status)");
}

json InboundPipeline::receive_message(const std::string& plugin_id, const std::string& profile_id,
                                      const json& event) {
  InboundMessage in = normalize_inbound(event);

  struct Stored {
    store::Message message;
    bool duplicate = false;
    std::optional<store::Contact> opt_changed;  // a STOP / START keyword changed the contact
    std::optional<store::Contact> new_contact;            // first message from this number
    std::optional<store::Conversation> new_conversation;  // this message opened a conversation
  };
  Stored stored = db_.write([&](store::Connection& c) {
    const store::Profile profile = require_profile(c, plugin_id, profile_id);
    if (auto first = store::messages::find_by_external_id(c, profile_id, in.external_id))
      return Stored{std::move(*first), true};

    const int64_t now = now_ms();
    store::ContactSighting seen{profile.organization_id, profile.workspace_id, in.from, in.from_name, std::nullopt};
    const store::contacts::Upserted upserted = store::contacts::upsert_seen(c, seen, now);
    const store::Contact& contact = upserted.contact;
    const store::conversations::Opened opened = store::conversations::find_or_open(c, profile.organization_id, profile.workspace_id,
                                                                    profile.id, contact.id, now);
    const store::Conversation& conversation = opened.conversation;

    store::Message m = store::new_message(conversation, "in", "received", now);
    m.external_id = in.external_id;
    m.type = in.type;
    m.text = in.text;
    m.payload = in.payload;
    store::messages::insert(c, m);
    store::conversations::touch(c, conversation.id, now);
    record_reported_identities(c, contact, plugin_id, in.payload, now);  // contacts_identities.hpp
    // Opt-out keywords (contacts_opt_out.hpp): in the same commit as the
    // message, so a STOP is never stored without taking effect.
    auto opt_changed = apply_opt_keyword(c, contact, in.type == "text" ? in.text : std::nullopt, now);
    Stored out{std::move(m), false, std::move(opt_changed)};
    if (upserted.created) out.new_contact = contact;
    if (opened.created) out.new_conversation = conversation;
    return out;
  });

  if (!stored.duplicate) {
    // What the message created first, then the message itself.
    if (stored.new_contact)
      bus_.publish(make_event("contact.created", stored.message.workspace_id, profile_id,
                              store::to_json(*stored.new_contact)));
    if (stored.new_conversation)
      bus_.publish(make_event("conversation.created", stored.message.workspace_id, profile_id,
                              store::to_json(*stored.new_conversation)));
    json data = store::to_json(stored.message);
    data["from"] = in.from;
    data["from_name"] = in.from_name;
    bus_.publish(make_event("message.received", stored.message.workspace_id, profile_id, std::move(data)));
    if (stored.opt_changed)
      bus_.publish(make_event("contact.updated", stored.message.workspace_id, profile_id,
                              store::to_json(*stored.opt_changed)));
  }
  return {{"message_id", stored.message.id},
          {"conversation_id", stored.message.conversation_id},
          {"contact_id", stored.message.contact_id},
          {"duplicate", stored.duplicate}};
}

json InboundPipeline::apply_message_status(const std::string& plugin_id, const std::string& profile_id,
                                           const json& event) {
  if (!event.is_object()) bad("a message.status event must be a JSON object");
  const std::string external_id = required_string(event, "external_id", kMaxExternalId);
  const std::string status = required_string(event, "status", 32);
  if (status != "sent" && status != "delivered" && status != "read" && status != "failed")
    bad("\"status\" must be sent, delivered, read or failed (got \"" + status.substr(0, 32) + "\")");
  std::optional<std::string> error = optional_string(event, "error", kMaxText);
  if (status == "failed" && !error) error = "the channel reported the message as failed";
  if (status != "failed") error.reset();

  struct Applied {
    std::optional<store::Message> message;  // nullopt: parked
    bool changed = false;
  };
  Applied applied = db_.write([&](store::Connection& c) {
    const ProfileIdentity profile = profile_identity(c, plugin_id, profile_id);
    auto message = store::messages::find_by_external_id(c, profile_id, external_id);
    if (!message) {
      // The channel may report a receipt while the send that produced this
      // external id is still being recorded: keep it for the outbox.
      if (store::outbox::count_in_state(c, profile_id, "sending") > 0) {
        store::messages::park_receipt(c, profile.organization_id, profile.workspace_id, profile_id, external_id,
                                      {status, error}, now_ms());
        return Applied{};
      }
      throw Error(ErrorCode::not_found,
                  "no outbound message with external id " + external_id + " on profile " + profile_id);
    }
    if (message->direction != "out")
      bad("message " + message->id + " is inbound; status receipts apply to outbound messages");
    if (!status_advances(message->status, status)) return Applied{std::move(message), false};
    store::messages::set_status(c, message->id, status, error, now_ms());
    message->status = status;
    message->error = error;
    return Applied{std::move(message), true};
  });

  if (!applied.message) return {{"external_id", external_id}, {"parked", true}, {"updated", false}};
  const store::Message& m = *applied.message;
  if (applied.changed) publish_status_change(bus_, m, m.status, m.error);
  return {{"message_id", m.id}, {"status", m.status}, {"updated", applied.changed}};
}

json InboundPipeline::apply_session_status(const std::string& plugin_id, const std::string& profile_id,
                                           const json& event) {
  if (!event.is_object()) bad("a session.status event must be a JSON object");
  const std::string status = required_string(event, "status", 32);
  if (std::find(kSessionStatuses.begin(), kSessionStatuses.end(), status) == kSessionStatuses.end())
    bad("\"status\" must be one of DISCONNECTED, CONNECTING, QR_READY, CONNECTED, FAILED, LOGGED_OUT (got \"" +
        status.substr(0, 32) + "\")");
  const std::optional<std::string> qr = optional_string(event, "qr", 8 * 1024);
  const std::optional<std::string> detail = optional_string(event, "detail", 1024);

  const std::string workspace_id = db_.write([&](store::Connection& c) {
    const store::Profile profile = require_profile(c, plugin_id, profile_id);
    // A QR code means something only while the session waits for a scan.
    store::profiles::update_status(c, profile_id, status, detail, status == "QR_READY" ? qr : std::nullopt,
                                   now_ms());
    return profile.workspace_id;
  });
  bus_.publish(make_event("session.status", workspace_id, profile_id,
                          {{"profile_id", profile_id},
                           {"status", status},
                           {"qr", qr && status == "QR_READY" ? json(*qr) : json(nullptr)},
                           {"detail", detail ? json(*detail) : json(nullptr)}}));
  return {{"profile_id", profile_id}, {"status", status}};
}

}  // namespace sb::messaging
