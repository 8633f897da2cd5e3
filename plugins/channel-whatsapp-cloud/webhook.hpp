#pragma once
// The inbound half of channel-whatsapp-cloud, as pure functions: the
// X-Hub-Signature-256 check and the translation of a Cloud API notification
// into the host's message.inbound / message.status events. Nothing here
// talks to the host, so the whole notification is checked before any of it
// is handed on (a malformed payload is never half-stored).
//
// Any thread; no state.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloud {

// Whether `header` ("sha256=<64 hex>") is the HMAC-SHA256 of `body` keyed
// with `app_secret`. Compares in constant time; false for any malformed
// header or an empty secret.
bool signature_valid(std::string_view app_secret, std::string_view body, std::string_view header);

// "sha256=<hex>" for `body`: what Meta sends (for tests and benches).
std::string signature_header(std::string_view app_secret, std::string_view body);

// An inbound message still missing its media bytes: `media_id` names the
// Graph media to fetch (empty for messages without media).
struct InboundItem {
  nlohmann::json event;  // the host's message.inbound shape
  std::string media_id;
};

// What one notification carries for this number.
struct Notification {
  std::vector<InboundItem> messages;
  std::vector<nlohmann::json> statuses;  // message.status events
  std::vector<std::string> notes;        // skipped items and webhook-level errors, for the log
};

// Translates a parsed notification. Changes whose metadata.phone_number_id
// is not `phone_number_id` are skipped (noted). Throws std::invalid_argument
// naming the first malformed part; nothing is returned then.
Notification parse_notification(const nlohmann::json& body, const std::string& phone_number_id);

}  // namespace cloud
