#pragma once
// The shape of an outgoing message, type by type, checked before it is
// queued: what the API's send routes and the flows' ctx.send hand to the
// outbox, and what a channel's `send` receives (docs/plugins.md, "The
// message a channel sends", lists every field).
//
// A message is a type, a text and type-specific fields (the API's
// "payload"; flat beside "type" in a channel's message):
//
//   text         text (required, <= 4096 characters), preview_url?
//   image, video, audio, document, sticker
//                exactly one of url (http/https), media_id (the channel's
//                uploaded id) or blob ("blob:<sha256 hex>", the host's blob
//                store); caption? (not for audio and sticker), filename?,
//                mime_type?
//   location     latitude, longitude (numbers in range), name?, address?
//   contact      contacts: [{name, phones?: [{phone, type?}],
//                emails?: [{email, type?}], organization?}] (1..20, each
//                with a phone or an email)
//   poll         poll: {question, options: [2..12 distinct], multiple?}
//   interactive  interactive: {type: "button", body, buttons: [{id, title}]
//                (1..3, titles <= 20)} or {type: "list", body, button,
//                sections: [{title?, rows: [{id, title, description?}]}]
//                (<= 10 rows in all)}; header?, footer?. The WhatsApp Cloud
//                API spelling (body {text}, action.buttons[].reply, ...)
//                that the flow nodes write is accepted and rewritten into
//                this one, so a channel sees one shape.
//   reaction     reaction: {message_id (ours) | external_id, emoji}
//                ("" removes a reaction)
//   template     template: {name, language, components? | parameters?}
//
// Fields not listed for a type are refused (a misspelt "captoin" would
// otherwise be dropped silently). A text on a non-text message is kept as
// its preview in the inbox; for an image, video or document without a
// caption it becomes the caption, and for an interactive message without a
// body, the body.
//
// Pure functions, any thread.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace sb::messaging {

struct MessageContent {
  std::string type;
  std::string text;
  nlohmann::json payload = nlohmann::json::object();  // the type-specific fields
};

// Checks `message` and returns it in the host's shape (normalized as
// above). Throws sb::Error(invalid_argument) with a message naming the
// field and details {"field": field_prefix + path}, e.g.
// "payload.interactive.buttons[3]" for the API (field_prefix "payload.").
MessageContent check_outgoing(const MessageContent& message, std::string_view field_prefix = "payload.");

// The same for a message as one JSON object with "type" and "text" beside
// its fields (a flow's ctx.send, a channel message): returns the object in
// the host's shape. Errors name fields without a prefix.
nlohmann::json check_outgoing_object(const nlohmann::json& message);

// Whether a channel's capabilities ({"message_types": [...]}) let it send
// `type`. A channel that lists no message types is taken to send text only.
bool channel_sends(const nlohmann::json& capabilities, std::string_view type);

// Throws sb::Error(invalid_argument, "this channel does not send <type>
// messages", details {"field": "type", "reason": "unsupported"}) unless
// channel_sends(capabilities, type).
void require_channel_sends(const nlohmann::json& capabilities, std::string_view type,
                           std::string_view channel_name);

// WhatsApp's customer-service window: on a channel whose capabilities say
// "customer_service_window": true, a message that is not a template may go
// only within 24 hours of the contact's last message (kind "reply", see
// Outbox::send_kind). Throws sb::Error(invalid_argument, "more than 24
// hours since the contact last wrote: only an approved template may be
// sent", details {"field": "type", "reason": "outside_24h_window"}) for a
// "cold" non-template message on such a channel.
void require_inside_window(const nlohmann::json& capabilities, std::string_view type, std::string_view kind);

}  // namespace sb::messaging
