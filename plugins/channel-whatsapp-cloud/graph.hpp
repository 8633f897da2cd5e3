#pragma once
// The outbound half of channel-whatsapp-cloud: Graph API calls through the
// host's HTTP client (sb_host_api.http_request), the translation of the
// host's message shape into a Graph message, and the mapping of Graph
// errors onto ABI statuses (decided on error.code, not the HTTP status):
//
//   130429, 131056, 80007, 4, 613            -> SB_ERR_BUSY (rate limits; the outbox retries)
//   131000, 131016, 131057, 1, 2, HTTP 5xx,
//   no response                              -> SB_ERR_UNAVAILABLE / SB_ERR_TIMEOUT (retried)
//   100, 131008, 131009, 132000-132015       -> SB_ERR_INVALID_ARGUMENT (bad parameter / template)
//   190 (token expired or invalid)           -> SB_ERR_PERMANENT, and on_token_invalid()
//   anything else (131047 outside the 24 h window, 131026 cannot receive,
//   131048/368/131031 spam/policy, 131049-131053, ...)
//                                            -> SB_ERR_PERMANENT
// The error message names the Graph message, code and details; never the token.
//
// Thread-safe: no mutable state beyond the callback set at construction.
#include <nlohmann/json.hpp>
#include <switchboard/plugin.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace cloud {

struct CloudConfig {
  std::string phone_number_id;
  std::string waba_id;
  std::string graph_base_url = "https://graph.facebook.com";
  std::string graph_version = "v21.0";
  int64_t timeout_ms = 10000;
  int64_t media_timeout_ms = 30000;
  bool download_media = true;
  int64_t idempotency_slots = 10000;
  int64_t ambiguous_send_wait_ms = 30000;
  // Report "customer_service_window" in the capabilities, so the host
  // refuses a non-template send outside the 24-hour window before queuing.
  bool enforce_customer_service_window = true;

  // Parses the validated config (defaults filled); throws
  // switchboard::Error(SB_ERR_INVALID_ARGUMENT) on a missing phone_number_id.
  static CloudConfig parse(std::string_view config_json);
};

// The status for a Graph error code (see the table above).
sb_status status_for_graph_code(int64_t code, int http_status);

// No answer came (network failure or timeout): Meta may or may not have
// acted on the request.
class Unanswered : public switchboard::Error {
 public:
  using switchboard::Error::Error;
};

class GraphClient {
 public:
  GraphClient(switchboard::Host host, CloudConfig config, std::string access_token,
              std::function<void(const std::string& detail)> on_token_invalid);

  // POST /<version>/<phone_number_id>/messages with `body`; returns the
  // Graph answer ({"messaging_product","contacts","messages":[{"id"}]}).
  // Throws switchboard::Error with the mapped status.
  nlohmann::json post_message(const nlohmann::json& body) const;

  // Uploads bytes as media (multipart POST /<phone_number_id>/media);
  // returns the media id.
  std::string upload_media(std::string_view mime_type, std::string_view filename, std::string_view bytes) const;

  struct Media {
    std::string mime_type;
    std::string bytes;
  };
  // GET /<media-id> for the URL, then GET the URL with the bearer token.
  Media download_media(const std::string& media_id) const;

  // GET /<waba_id>/message_templates?fields=name,language,status, every
  // page (paging.cursors.after while paging.next is there): [{"name",
  // "language","status"}]. Throws SB_ERR_UNSUPPORTED without a waba_id.
  nlohmann::json message_templates() const;

  // GET /<phone_number_id>: checks the token and the number.
  nlohmann::json phone_number_info() const;

  const CloudConfig& config() const { return config_; }

 private:
  std::string url(std::string_view path) const;  // base/version/path
  // Sends `request` (the host's http_request shape) and returns the parsed
  // {"status","headers","body"|"body_base64"}; throws for no response.
  nlohmann::json http(nlohmann::json request) const;
  // Throws the mapped error unless `response` is 2xx; returns the parsed body.
  nlohmann::json check(const nlohmann::json& response, std::string_view what) const;

  switchboard::Host host_;
  CloudConfig config_;
  std::string token_;
  std::function<void(const std::string&)> on_token_invalid_;
};

// The Graph message for the host's message `m` ("to", "type", "text" and the
// type's fields, docs/plugins.md). A media message given as a blob is
// uploaded first through `graph` (blob bytes read with `host`). Throws
// switchboard::Error(SB_ERR_INVALID_ARGUMENT) naming what is wrong, or
// SB_ERR_UNSUPPORTED for a type the Cloud API cannot send (poll).
nlohmann::json graph_message(const nlohmann::json& m, const GraphClient& graph, const switchboard::Host& host);

// Base64 (standard alphabet, padded), for binary HTTP bodies.
std::string base64_encode(std::string_view data);
std::string base64_decode(std::string_view text);

}  // namespace cloud
