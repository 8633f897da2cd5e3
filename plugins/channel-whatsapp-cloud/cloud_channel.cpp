#include "cloud_channel.hpp"

#include "webhook.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace cloud {
namespace {

using nlohmann::json;
using switchboard::Error;

json parse_or_null(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json(nullptr) : j;
}

std::string header(const json& headers, const char* name) {
  if (!headers.is_object()) return {};
  auto it = headers.find(name);
  return it != headers.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string required_secret(const switchboard::Host& host, const char* name) {
  auto value = host.secret(name);
  if (!value || value->empty()) {
    throw Error(SB_ERR_INVALID_ARGUMENT, std::string(name) + " is required in the channel-whatsapp-cloud config");
  }
  return *value;
}

bool transient(sb_status s) { return s == SB_ERR_UNAVAILABLE || s == SB_ERR_BUSY || s == SB_ERR_TIMEOUT; }

bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

json error_body(std::string_view code, std::string_view message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

// FNV-1a: which slot of the bounded idempotency table a key lives in.
uint64_t slot_hash(std::string_view key) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

CloudChannel::CloudChannel(switchboard::Host host, std::string_view config_json)
    : Channel(host),
      config_(CloudConfig::parse(config_json)),
      app_secret_(required_secret(host, "app_secret")),
      verify_token_(required_secret(host, "verify_token")),
      graph_(host, config_, required_secret(host, "access_token"),
             [this](const std::string& detail) { on_token_invalid(detail); }) {
  route("GET", "webhook", [this](const switchboard::Request& req, switchboard::Response& resp) {
    handle_handshake(req, resp);
  });
  route("POST", "webhook", [this](const switchboard::Request& req, switchboard::Response& resp) {
    handle_notification(req, resp);
  });
}

// ---- session ----

void CloudChannel::connect() {
  uint64_t generation;
  {
    std::lock_guard lock(mu_);
    generation = ++generation_;
    retry_delay_ms_ = 1000;
  }
  set_status("CONNECTING", "checking the access token with the Graph API", true);
  // Off the caller's thread: the host opens every profile at start-up.
  start_timer(std::chrono::milliseconds(0), [this, generation] { check_credentials(generation); });
}

void CloudChannel::disconnect() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  set_status("DISCONNECTED", "", true);
}

void CloudChannel::check_credentials(uint64_t generation) {
  {
    std::lock_guard lock(mu_);
    if (generation != generation_) return;
  }
  try {
    const json info = graph_.phone_number_info();
    std::string detail = "WhatsApp Cloud API number " + config_.phone_number_id;
    const std::string display = info.value("display_phone_number", std::string());
    if (!display.empty()) detail += " (" + display + ")";
    set_status("CONNECTED", detail, true);
  } catch (const Error& e) {
    if (!transient(e.status())) {
      // 190 already reported FAILED through on_token_invalid.
      bool failed;
      {
        std::lock_guard lock(mu_);
        failed = status_ == "FAILED";
      }
      if (!failed) set_status("FAILED", e.what(), true);
      return;
    }
    int delay;
    {
      std::lock_guard lock(mu_);
      if (generation != generation_) return;
      delay = retry_delay_ms_;
      retry_delay_ms_ = std::min(retry_delay_ms_ * 2, 60000);
    }
    set_status("CONNECTING", std::string(e.what()) + "; retrying in " + std::to_string(delay / 1000) + " s", true);
    start_timer(std::chrono::milliseconds(delay), [this, generation] { check_credentials(generation); });
  }
}

void CloudChannel::set_status(const std::string& status, const std::string& detail, bool announce) {
  {
    std::lock_guard lock(mu_);
    if (status_ == status && detail_ == detail) return;
    status_ = status;
    detail_ = detail;
  }
  if (!announce) return;
  try {
    host().emit(SB_EVENT_SESSION_STATUS, json{{"status", status}, {"detail", detail}}.dump());
  } catch (const std::exception& e) {
    host().warn(std::string("could not report the session status: ") + e.what());
  }
}

void CloudChannel::on_token_invalid(const std::string& detail) {
  host().error("the access token was refused; the profile needs new credentials");
  set_status("FAILED", "access token invalid or expired: " + detail, true);
}

std::string CloudChannel::status() {
  std::lock_guard lock(mu_);
  json out = {{"status", status_},
              {"detail", detail_},
              {"webhooks",
               {{"accepted", accepted_.load()},
                {"malformed", malformed_.load()},
                {"bad_signature", bad_signature_.load()},
                {"refused", refused_.load()}}}};
  return out.dump();
}

std::string CloudChannel::capabilities() {
  json ops = {SB_OP_MARK_READ, SB_OP_MEDIA_UPLOAD};
  if (!config_.waba_id.empty()) ops.push_back(SB_OP_TEMPLATES_LIST);
  json caps = {{"message_types",
                {"text", "image", "video", "audio", "document", "sticker", "location", "contact", "interactive",
                 "reaction", "template"}},
               {"groups", false},
               {"operations", std::move(ops)},
               {"media", {{"url", true}, {"media_id", true}, {"blob", true}}}};
  // Meta refuses anything but a template more than 24 hours after the
  // contact last wrote (131047): the host refuses it before queuing.
  if (config_.enforce_customer_service_window) caps["customer_service_window"] = true;
  return caps.dump();
}

// ---- webhooks ----

void CloudChannel::handle_handshake(const switchboard::Request& req, switchboard::Response& resp) {
  const json query = parse_or_null(req.query_json);
  const std::string mode = header(query, "hub.mode");
  const std::string token = header(query, "hub.verify_token");
  const std::string challenge = header(query, "hub.challenge");
  if (mode != "subscribe" || !equal_constant_time(token, verify_token_)) {
    host().warn("refused a webhook subscription handshake: " +
                std::string(mode != "subscribe" ? "hub.mode is not subscribe" : "wrong verify token"));
    resp.json(403, error_body("forbidden", "the verify token does not match").dump());
    return;
  }
  host().info("webhook subscription verified");
  resp.respond(200, "text/plain", challenge);  // echoed byte for byte, never parsed
}

void CloudChannel::handle_notification(const switchboard::Request& req, switchboard::Response& resp) {
  const json headers = parse_or_null(req.headers_json);
  const std::string signature = header(headers, "x-hub-signature-256");
  if (!signature_valid(app_secret_, req.body, signature)) {
    bad_signature_.fetch_add(1);
    host().warn(std::string("refused a webhook POST (") + std::to_string(req.body.size()) + " bytes, request " +
                std::string(req.request_id) + "): " +
                (signature.empty() ? "no X-Hub-Signature-256 header" : "the X-Hub-Signature-256 does not match"));
    resp.json(401, error_body("unauthorized", "the payload signature is missing or wrong").dump());
    return;
  }

  // Checked as a whole before anything is handed on.
  Notification n;
  try {
    const json body = json::parse(req.body.begin(), req.body.end());
    n = parse_notification(body, config_.phone_number_id);
  } catch (const std::exception& e) {
    malformed_.fetch_add(1);
    host().error(std::string("malformed notification acknowledged and dropped (request ") +
                 std::string(req.request_id) + "): " + e.what());
    resp.json(200, json{{"ok", false}, {"error", {{"code", "malformed"}, {"message", e.what()}}}}.dump());
    return;
  }
  for (const auto& note : n.notes) host().log(note.find("skipped") != std::string::npos ? SB_LOG_WARN : SB_LOG_INFO, note);

  // Media first: a message is emitted with its bytes already in the blob
  // store. An unreachable Graph API gets Meta to retry the whole POST.
  for (auto& item : n.messages) {
    if (item.media_id.empty() || !config_.download_media) continue;
    try {
      GraphClient::Media media = graph_.download_media(item.media_id);
      std::string mime = item.event["media"].value("mime_type", std::string());
      if (mime.empty()) mime = media.mime_type;
      const std::string ref = host().blob_put(mime, media.bytes);
      item.event["media"]["blob"] = ref;
      item.event["media"]["size"] = media.bytes.size();
    } catch (const Error& e) {
      if (transient(e.status())) {
        host().warn(std::string("media download failed, asking Meta to retry: ") + e.what());
        resp.json(503, error_body("unavailable", "media could not be fetched yet; retry").dump());
        return;
      }
      // Gone for good: the message is kept, with why its media is missing.
      host().warn("media " + item.media_id + " could not be fetched: " + e.what());
      item.event["media"]["error"] = e.what();
    }
  }

  size_t emitted = 0;
  auto emit_all = [&](const char* type, const json& event) -> bool {
    try {
      host().emit(type, event.dump());
      ++emitted;
      return true;
    } catch (const switchboard::HostError& e) {
      if (transient(e.status())) return false;
      // Retrying will not help (a bad phone number, a receipt for a message
      // this host never sent): noted and acknowledged.
      refused_.fetch_add(1);
      const json body = parse_or_null(e.body());
      std::string why = body.is_object() && body.contains("error") ? body["error"].value("message", std::string()) : "";
      host().log(e.status() == SB_ERR_NOT_FOUND ? SB_LOG_DEBUG : SB_LOG_ERROR,
                 std::string("the host refused a ") + type + " event for " + event.value("external_id", "?") + ": " +
                     (why.empty() ? e.what() : why));
      return true;
    }
  };
  for (const auto& item : n.messages) {
    if (!emit_all(SB_EVENT_MESSAGE_INBOUND, item.event)) {
      resp.json(503, error_body("unavailable", "the host could not store the messages yet; retry").dump());
      return;
    }
  }
  for (const auto& st : n.statuses) {
    // A status of a send that was under way at a crash names its key: the
    // re-send will answer with this wamid instead of sending again.
    if (st.contains("idempotency_key") && st["status"] != "failed") {
      try {
        resolve_pending(st["idempotency_key"].get<std::string>(), st["external_id"].get<std::string>());
      } catch (const std::exception& e) {
        host().warn(std::string("could not record the wamid of an earlier send: ") + e.what());
      }
    }
    if (!emit_all(SB_EVENT_MESSAGE_STATUS, st)) {
      resp.json(503, error_body("unavailable", "the host could not store the statuses yet; retry").dump());
      return;
    }
  }
  accepted_.fetch_add(1);
  resp.json(200, json{{"ok", true}, {"messages", n.messages.size()}, {"statuses", n.statuses.size()}}.dump());
}

// ---- sending ----

namespace {

std::string idempotency_slot(const std::string& key, int64_t slots) {
  return "idem:" + std::to_string(slot_hash(key) % static_cast<uint64_t>(slots));
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::optional<CloudChannel::RecordedSend> CloudChannel::recorded_send(const std::string& key) const {
  auto value = host().kv_get(idempotency_slot(key, config_.idempotency_slots));
  if (!value) return std::nullopt;
  const json entry = parse_or_null(*value);
  if (!entry.is_object() || entry.value("key", std::string()) != key) return std::nullopt;
  RecordedSend r;
  r.external_id = entry.value("external_id", std::string());
  r.pending_since = entry.value("pending_since", int64_t{0});
  if (r.external_id.empty() && r.pending_since == 0) return std::nullopt;
  return r;
}

void CloudChannel::record_send(const std::string& key, const std::string& external_id) const {
  host().kv_put(idempotency_slot(key, config_.idempotency_slots),
                json{{"key", key}, {"external_id", external_id}}.dump());
}

void CloudChannel::record_pending(const std::string& key, int64_t now_ms) const {
  host().kv_put(idempotency_slot(key, config_.idempotency_slots), json{{"key", key}, {"pending_since", now_ms}}.dump());
}

void CloudChannel::resolve_pending(const std::string& key, const std::string& external_id) const {
  auto known = recorded_send(key);
  if (known && known->external_id.empty()) record_send(key, external_id);
}

std::string CloudChannel::send(std::string_view message_json) {
  const json m = parse_or_null(message_json);
  if (!m.is_object()) throw Error(SB_ERR_INVALID_ARGUMENT, "the message must be a JSON object");
  const std::string key = m.value("idempotency_key", std::string());
  if (!key.empty()) {
    if (auto known = recorded_send(key)) {
      if (!known->external_id.empty()) {
        host().debug("send " + key + " was already carried out; answering with its wamid");
        return json{{"external_id", known->external_id}, {"duplicate", true}}.dump();
      }
      // An earlier attempt got no recorded answer: the host stopped while
      // Meta may have taken it. Meta's status webhook for it carries the
      // key (biz_opaque_callback_data) and records the wamid; wait for it
      // a while (the outbox retries), then send again.
      const int64_t waited = wall_ms() - known->pending_since;
      if (waited < config_.ambiguous_send_wait_ms)
        throw Error(SB_ERR_UNAVAILABLE, "an earlier attempt of this message may have reached WhatsApp before the "
                                        "host stopped; waiting for its status webhook before sending again");
      host().warn("send " + key + ": no status arrived for an earlier attempt within " +
                  std::to_string(config_.ambiguous_send_wait_ms) + " ms; sending again");
    }
  }
  json body = graph_message(m, graph_, host());
  if (!key.empty()) {
    // Echoed by Meta in the message's status webhooks: how a send that
    // was under way at a crash is recognised afterwards.
    body["biz_opaque_callback_data"] = key;
    record_pending(key, wall_ms());
  }
  json answer;
  try {
    answer = graph_.post_message(body);
  } catch (const Unanswered&) {
    throw;  // Meta may have taken it: the marker stays, its status webhook will tell
  } catch (const Error&) {
    // Meta answered and refused: nothing was sent, a retry may send at once.
    if (!key.empty()) {
      try {
        host().kv_delete(idempotency_slot(key, config_.idempotency_slots));
      } catch (const std::exception& e) {
        host().warn(std::string("could not clear the send marker of ") + key + ": " + e.what());
      }
    }
    throw;
  }
  std::string wamid;
  if (answer.contains("messages") && answer["messages"].is_array() && !answer["messages"].empty()) {
    wamid = answer["messages"][0].value("id", std::string());
  }
  if (wamid.empty()) throw Error(SB_ERR_UNAVAILABLE, "the WhatsApp Cloud API accepted the message without an id");
  if (!key.empty()) {
    try {
      record_send(key, wamid);
    } catch (const std::exception& e) {
      // The message is out; only a later re-send of the same key could
      // duplicate it. Say so rather than fail a message that was sent.
      host().warn(std::string("could not record the wamid of ") + key + ": " + e.what());
    }
  }
  json out = {{"external_id", wamid}};
  if (answer.contains("contacts") && answer["contacts"].is_array() && !answer["contacts"].empty()) {
    const std::string wa_id = answer["contacts"][0].value("wa_id", std::string());
    if (!wa_id.empty()) out["wa_id"] = wa_id;
  }
  return out.dump();
}

std::string CloudChannel::call(std::string_view op, std::string_view request_json) {
  const json req = request_json.empty() ? json::object() : parse_or_null(request_json);
  if (!req.is_object()) throw Error(SB_ERR_INVALID_ARGUMENT, "the request must be a JSON object");
  if (op == SB_OP_MARK_READ) {
    const std::string id = req.value("external_id", std::string());
    if (id.empty()) throw Error(SB_ERR_INVALID_ARGUMENT, "mark_read needs the external_id (wamid) of the message");
    graph_.post_message({{"messaging_product", "whatsapp"}, {"status", "read"}, {"message_id", id}});
    return "{}";
  }
  if (op == SB_OP_MEDIA_UPLOAD) {
    const std::string ref = req.value("blob", std::string());
    if (ref.empty()) throw Error(SB_ERR_INVALID_ARGUMENT, "media.upload needs a blob reference");
    auto blob = host().blob_get(ref);
    if (!blob) throw Error(SB_ERR_NOT_FOUND, "blob " + ref + " does not exist in this workspace");
    const json meta = parse_or_null(blob->meta_json);
    std::string mime = req.value("mime_type", std::string());
    if (mime.empty() && meta.is_object()) mime = meta.value("content_type", std::string("application/octet-stream"));
    const std::string id = graph_.upload_media(mime, req.value("filename", std::string()), blob->data);
    return json{{"media_id", id}}.dump();
  }
  if (op == SB_OP_TEMPLATES_LIST) {
    // Templates live in the WABA: without its id there is nothing to list
    // (SB_ERR_UNSUPPORTED, the host then does not check template names).
    return json{{"templates", graph_.message_templates()}}.dump();
  }
  // Groups on the Cloud API need a separate Meta approval; not offered here.
  throw Error(SB_ERR_UNSUPPORTED, "operation " + std::string(op) + " is not supported by this channel");
}

}  // namespace cloud

SWITCHBOARD_CHANNEL_PLUGIN(cloud::CloudChannel, "channel-whatsapp-cloud", "1.0.0")
