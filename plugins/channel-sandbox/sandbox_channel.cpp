#include "sandbox_channel.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <utility>

namespace sandbox {
namespace {

using nlohmann::json;
using switchboard::Error;

constexpr const char* kMessageTypes[] = {"text",     "image",   "video", "audio",       "document", "sticker",
                                         "location", "contact", "poll",  "interactive", "reaction", "template"};
constexpr const char* kGroupsKey = "groups";

bool is_message_type(std::string_view type) {
  return std::find(std::begin(kMessageTypes), std::end(kMessageTypes), type) != std::end(kMessageTypes);
}

// "+15551234567" or "15551234567": an optional plus and 6 to 15 digits.
bool looks_like_phone(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.size() < 6 || s.size() > 15) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string digits_of(std::string_view s) {
  std::string out;
  for (char c : s)
    if (std::isdigit(static_cast<unsigned char>(c))) out.push_back(c);
  return out;
}

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

json error_body(std::string_view code, std::string_view message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

void respond_error(switchboard::Response& resp, int http_status, std::string_view code, std::string_view message) {
  resp.json(http_status, error_body(code, message).dump());
}

// How a status the host answered emit with reaches the sandbox's HTTP caller.
std::pair<int, const char*> http_error_for(sb_status status) {
  switch (status) {
    case SB_ERR_INVALID_ARGUMENT: return {400, "invalid_argument"};
    case SB_ERR_NOT_FOUND: return {404, "not_found"};
    case SB_ERR_BUSY: return {429, "rate_limited"};
    case SB_ERR_UNAVAILABLE: return {503, "unavailable"};
    case SB_ERR_TIMEOUT: return {503, "timeout"};
    default: return {500, "internal"};
  }
}

bool is_json_content_type(const json& headers) {
  if (!headers.is_object()) return false;
  auto it = headers.find("content-type");
  if (it == headers.end() || !it->is_string()) return false;
  std::string value = it->get<std::string>();
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string_view expected = "application/json";
  if (value.compare(0, expected.size(), expected) != 0) return false;
  return value.size() == expected.size() || value[expected.size()] == ';' || value[expected.size()] == ' ';
}

json parse_or_null(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json(nullptr) : j;
}

}  // namespace

SandboxConfig SandboxConfig::parse(std::string_view config_json) {
  SandboxConfig c;
  json j = config_json.empty() ? json::object() : parse_or_null(config_json);
  if (!j.is_object()) throw Error(SB_ERR_INVALID_ARGUMENT, "the sandbox config must be a JSON object");
  if (auto it = j.find("phone"); it != j.end()) {
    if (!it->is_string() || !looks_like_phone(it->get<std::string>()))
      throw Error(SB_ERR_INVALID_ARGUMENT, "config.phone must be a phone number like +15550000000");
    c.phone = it->get<std::string>();
  }
  if (auto it = j.find("receipt_delay_ms"); it != j.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0)
      throw Error(SB_ERR_INVALID_ARGUMENT, "config.receipt_delay_ms must be a non-negative integer");
    c.receipt_delay = std::chrono::milliseconds(it->get<int64_t>());
  }
  if (auto it = j.find("auto_pair"); it != j.end()) {
    if (!it->is_boolean()) throw Error(SB_ERR_INVALID_ARGUMENT, "config.auto_pair must be true or false");
    c.auto_pair = it->get<bool>();
  }
  if (auto it = j.find("fail_to"); it != j.end()) {
    if (!it->is_array()) throw Error(SB_ERR_INVALID_ARGUMENT, "config.fail_to must be an array of phone numbers");
    for (const json& phone : *it) {
      if (!phone.is_string()) throw Error(SB_ERR_INVALID_ARGUMENT, "config.fail_to must hold phone numbers");
      c.fail_to.push_back(digits_of(phone.get<std::string>()));
    }
  }
  return c;
}

SandboxChannel::SandboxChannel(switchboard::Host host, std::string_view config_json)
    : Channel(host),
      config_(SandboxConfig::parse(config_json)),
      profile_id_(host.instance_id()),
      rng_(std::random_device{}()),
      // External ids carry a per-instance nonce: the host matches receipts to
      // messages by external id, and a counter alone would repeat after a restart.
      outbound_("sbx-out-" + random_hex(8) + "-", kOutboundCapacity),
      groups_(config_.phone) {
  try {
    if (auto saved = host.kv_get(kGroupsKey)) groups_.load(parse_or_null(*saved));
  } catch (const std::exception& e) {
    host.warn(std::string("sandbox: could not read the saved groups: ") + e.what());
  }

  using switchboard::Request;
  using switchboard::Response;
  route("POST", "inbound", [this](const Request& q, Response& r) { handle_inbound(q, r); });
  route("GET", "outbound", [this](const Request& q, Response& r) { handle_outbound(q, r); });
  route("POST", "pair", [this](const Request& q, Response& r) { handle_pair(q, r); });
  route("GET", "status", [this](const Request& q, Response& r) { handle_status(q, r); });
  route("POST", "fail", [this](const Request& q, Response& r) { handle_fail(q, r); });
}

// ---- Channel table ---------------------------------------------------------

void SandboxChannel::connect() {
  if (!config_.auto_pair) {
    start_pairing(PairingEnd::at_qr);
    return;
  }
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    generation = ++generation_;
    status_ = "CONNECTED";
    qr_.clear();
  }
  announce_status_later(generation);
}

void SandboxChannel::disconnect() {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    generation = ++generation_;
    status_ = "DISCONNECTED";
    qr_.clear();
  }
  announce_status_later(generation);
}

std::string SandboxChannel::send(std::string_view message_json) {
  json message = parse_or_null(message_json);
  if (!message.is_object()) throw Error(SB_ERR_INVALID_ARGUMENT, "the message is not a JSON object");

  // A group message names its group; its "to" is the group's id too.
  std::string group_id;
  if (auto g = message.find("group_id"); g != message.end() && g->is_string()) group_id = g->get<std::string>();
  auto to = message.find("to");
  if (!group_id.empty()) {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (!groups_.exists(group_id)) throw Error(SB_ERR_PERMANENT, "the sandbox has no group " + group_id);
  } else if (to == message.end() || !to->is_string() || !looks_like_phone(to->get<std::string>())) {
    throw Error(SB_ERR_INVALID_ARGUMENT, "\"to\" must be a phone number like +15551234567");
  }
  auto type = message.find("type");
  if (type == message.end() || !type->is_string() || !is_message_type(type->get<std::string>()))
    throw Error(SB_ERR_INVALID_ARGUMENT,
                "\"type\" must be one of text, image, video, audio, document, sticker, location, contact, poll, "
                "interactive, reaction, template");
  if (*type == "text") {
    auto text = message.find("text");
    if (text == message.end() || !text->is_string() || text->get<std::string>().empty())
      throw Error(SB_ERR_INVALID_ARGUMENT, "a text message needs a non-empty \"text\"");
  }
  std::string key;
  if (auto k = message.find("idempotency_key"); k != message.end() && k->is_string()) key = k->get<std::string>();

  const std::string recipient = !group_id.empty() ? group_id : to->get<std::string>();
  bool refused = std::find(config_.fail_to.begin(), config_.fail_to.end(), digits_of(recipient)) !=
                       config_.fail_to.end();
  std::string refusal = "the sandbox refuses to send to " + recipient + " (listed in fail_to)";

  OutboundRecord stored;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (const OutboundRecord* first = outbound_.find_by_key(key)) {
      if (first->status == "failed") throw Error(SB_ERR_PERMANENT, first->error);
      return json{{"external_id", first->external_id}}.dump();
    }
    if (!refused && fail_plan_.remaining > 0 &&
        (fail_plan_.to_digits.empty() || fail_plan_.to_digits == digits_of(recipient))) {
      --fail_plan_.remaining;
      if (fail_plan_.transient) {
        ++transient_failures_;
        throw Error(SB_ERR_UNAVAILABLE, fail_plan_.error);
      }
      refused = true;
      refusal = fail_plan_.error;
    }
    OutboundRecord record;
    record.idempotency_key = key;
    record.message = std::move(message);
    record.status = refused ? "failed" : "sent";
    if (refused) record.error = refusal;
    record.sent_at = unix_now();
    stored = outbound_.append(std::move(record));
  }
  if (refused) throw Error(SB_ERR_PERMANENT, refusal);

  try {
    schedule_receipt(stored.seq, stored.external_id, "delivered");
  } catch (const std::exception& e) {
    // The message is recorded as sent; only its receipts are lost.
    host().warn(std::string("sandbox: could not schedule receipts: ") + e.what());
  }
  return json{{"external_id", stored.external_id}}.dump();
}

std::string SandboxChannel::status() {
  std::lock_guard<std::mutex> lock(state_mu_);
  return status_json_locked().dump();
}

std::string SandboxChannel::capabilities() {
  json types = json::array();
  for (const char* t : kMessageTypes) types.push_back(t);
  return json{{"message_types", types}, {"groups", true}, {"receipts", true}, {"simulated", true}}.dump();
}

std::string SandboxChannel::call(std::string_view op, std::string_view request_json) {
  const std::string name(op);
  if (name.rfind("group.", 0) != 0)
    throw Error(SB_ERR_UNSUPPORTED, "operation " + name + " is not supported by this channel");
  json request = request_json.empty() ? json::object() : parse_or_null(request_json);
  // Held across the change and its save, so that saves land in the order
  // of the changes; the host is not called under state_mu_.
  std::lock_guard<std::mutex> saving(save_mu_);
  json result;
  std::string snapshot;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    // WhatsApp's group ids look like this: digits, then @g.us.
    std::string id = "120363";
    for (int i = 0; i < 12; ++i) id.push_back(static_cast<char>('0' + rng_() % 10));
    id += "@g.us";
    result = groups_.call(name, request, id);
    if (name != SB_OP_GROUP_LIST && name != SB_OP_GROUP_INFO) snapshot = groups_.to_json().dump();
  }
  if (!snapshot.empty()) save_groups(snapshot);
  return result.dump();
}

// ---- Hook routes -------------------------------------------------------------

void SandboxChannel::handle_inbound(const switchboard::Request& req, switchboard::Response& resp) {
  if (!is_json_content_type(parse_or_null(req.headers_json)))
    return respond_error(resp, 415, "unsupported_media_type", "send the message as Content-Type: application/json");
  json body = parse_or_null(req.body);
  if (!body.is_object()) return respond_error(resp, 400, "invalid_argument", "the body must be a JSON object");

  auto from = body.find("from");
  if (from == body.end() || !from->is_string() || !looks_like_phone(from->get<std::string>()))
    return respond_error(resp, 400, "invalid_argument", "\"from\" must be a phone number like +15551234567");
  std::string type = "text";
  if (auto t = body.find("type"); t != body.end()) {
    if (!t->is_string() || !is_message_type(t->get<std::string>()))
      return respond_error(resp, 400, "invalid_argument", "\"type\" is not a known message type");
    type = t->get<std::string>();
  }
  auto text = body.find("text");
  if (text != body.end() && !text->is_string())
    return respond_error(resp, 400, "invalid_argument", "\"text\" must be a string");
  if (type == "text" && (text == body.end() || text->get<std::string>().empty()))
    return respond_error(resp, 400, "invalid_argument", "a text message needs a non-empty \"text\"");
  // The sender's name: "from_name", or "name" when there is no from_name
  // (then "name" is a field of the message, e.g. a location's).
  auto name = body.find("from_name");
  const bool name_is_sender = name == body.end();
  if (name_is_sender) name = body.find("name");
  if (name != body.end() && !name->is_string())
    return respond_error(resp, 400, "invalid_argument",
                         name_is_sender ? "\"name\" must be a string" : "\"from_name\" must be a string");
  auto id = body.find("id");
  if (id != body.end() && (!id->is_string() || id->get<std::string>().empty()))
    return respond_error(resp, 400, "invalid_argument", "\"id\" must be a non-empty string");
  auto ts = body.find("timestamp");
  if (ts != body.end() && !ts->is_number_integer())
    return respond_error(resp, 400, "invalid_argument", "\"timestamp\" must be unix seconds");

  std::string external_id;
  if (id != body.end()) {
    external_id = id->get<std::string>();
  } else {
    std::lock_guard<std::mutex> lock(state_mu_);
    external_id = "sbx-in-" + random_hex(16);
  }

  // Other fields (media, location, ...) pass through to the host as given.
  json event = body;
  event.erase("id");
  if (name_is_sender) event.erase("name");
  event["external_id"] = external_id;
  event["from"] = from->get<std::string>();
  event["from_name"] = name != body.end() ? name->get<std::string>() : std::string();
  event["type"] = type;
  event["text"] = text != body.end() ? text->get<std::string>() : std::string();
  event["timestamp"] = ts != body.end() ? ts->get<int64_t>() : unix_now();

  std::string result;
  try {
    result = host().emit(SB_EVENT_MESSAGE_INBOUND, event.dump());
  } catch (const switchboard::HostError& e) {
    // The host's own error document says best what went wrong; pass it on.
    auto [http_status, code] = http_error_for(e.status());
    json host_error = parse_or_null(e.body());
    if (host_error.is_object() && host_error.contains("error") && host_error["error"].is_object())
      return resp.json(http_status, host_error.dump());
    return respond_error(resp, http_status, code, e.what());
  } catch (const Error& e) {
    auto [http_status, code] = http_error_for(e.status());
    return respond_error(resp, http_status, code, e.what());
  }
  json answer = {{"accepted", true}, {"external_id", external_id}};
  json host_result = parse_or_null(result);
  if (host_result.is_object())
    for (auto& [k, v] : host_result.items())
      if (!answer.contains(k)) answer[k] = v;
  resp.json(200, answer.dump());
}

void SandboxChannel::handle_outbound(const switchboard::Request& req, switchboard::Response& resp) {
  std::size_t limit = kOutboundCapacity;
  json query = parse_or_null(req.query_json);
  if (query.is_object() && query.contains("limit")) {
    const json& l = query["limit"];
    std::string digits = l.is_string() ? l.get<std::string>() : std::string();
    if (digits.empty() || digits.size() > 9 || digits_of(digits) != digits || std::stoul(digits) == 0)
      return respond_error(resp, 400, "invalid_argument", "limit must be a positive integer");
    limit = std::stoul(digits);
  }
  json messages;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    messages = outbound_.to_json(limit);
  }
  resp.json(200, messages.dump());
}

void SandboxChannel::handle_pair(const switchboard::Request&, switchboard::Response& resp) {
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (status_ == "CONNECTED") return resp.json(200, json{{"status", "CONNECTED"}}.dump());
  }
  start_pairing(PairingEnd::connected);
  resp.json(202, json{{"status", "CONNECTING"}}.dump());
}

void SandboxChannel::handle_status(const switchboard::Request&, switchboard::Response& resp) {
  resp.json(200, status());
}

void SandboxChannel::handle_fail(const switchboard::Request& req, switchboard::Response& resp) {
  json body = parse_or_null(req.body);
  if (!body.is_object()) return respond_error(resp, 400, "invalid_argument", "the body must be a JSON object");
  FailurePlan plan;
  const json mode = body.value("mode", json("transient"));
  if (mode != "transient" && mode != "permanent")
    return respond_error(resp, 400, "invalid_argument", "\"mode\" must be \"transient\" or \"permanent\"");
  plan.transient = mode == "transient";
  const json count = body.value("count", json(1));
  if (!count.is_number_integer() || count.get<int64_t>() < 0 || count.get<int64_t>() > 1000000)
    return respond_error(resp, 400, "invalid_argument", "\"count\" must be an integer from 0 (clear) to 1000000");
  plan.remaining = count.get<int64_t>();
  const json error = body.value("error", json(plan.transient ? "the sandbox is simulating an outage"
                                                              : "the sandbox is simulating a refusal"));
  if (!error.is_string() || error.get<std::string>().empty() || error.get<std::string>().size() > 1000)
    return respond_error(resp, 400, "invalid_argument", "\"error\" must be a non-empty string");
  plan.error = error.get<std::string>();
  if (body.contains("to")) {
    if (!body["to"].is_string() || !looks_like_phone(body["to"].get<std::string>()))
      return respond_error(resp, 400, "invalid_argument", "\"to\" must be a phone number like +15551234567");
    plan.to_digits = digits_of(body["to"].get<std::string>());
  }
  json answer;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    fail_plan_ = plan;
    answer = {{"mode", plan.transient ? "transient" : "permanent"},
              {"remaining", plan.remaining},
              {"error", plan.error},
              {"transient_failures", transient_failures_}};
  }
  resp.json(200, answer.dump());
}

// ---- Pairing and receipts -----------------------------------------------------

void SandboxChannel::start_pairing(PairingEnd end) {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    generation = ++generation_;
    status_ = "CONNECTING";
    qr_.clear();
  }
  start_timer(std::chrono::milliseconds(0),
              [this, generation, end] { pairing_step(generation, "CONNECTING", end); });
}

void SandboxChannel::pairing_step(uint64_t generation, std::string next_status, PairingEnd end) {
  json event;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (generation != generation_) return;  // a newer walk, connect or disconnect took over
    status_ = next_status;
    qr_ = next_status == "QR_READY" ? "sandbox-qr:" + profile_id_ + ":" + random_hex(16) : std::string();
    event = {{"status", status_}};
    if (!qr_.empty()) event["qr"] = qr_;
  }
  emit_quietly(SB_EVENT_SESSION_STATUS, event);

  std::string following;
  if (next_status == "CONNECTING") following = "QR_READY";
  if (next_status == "QR_READY" && end == PairingEnd::connected) following = "CONNECTED";
  if (following.empty()) return;
  start_timer(kPairingStep, [this, generation, following, end] { pairing_step(generation, following, end); });
}

void SandboxChannel::announce_status_later(uint64_t generation) {
  start_timer(std::chrono::milliseconds(0), [this, generation] {
    json event;
    {
      std::lock_guard<std::mutex> lock(state_mu_);
      if (generation != generation_) return;
      event = {{"status", status_}};
    }
    emit_quietly(SB_EVENT_SESSION_STATUS, event);
  });
}

void SandboxChannel::schedule_receipt(uint64_t seq, std::string external_id, std::string status) {
  start_timer(config_.receipt_delay, [this, seq, external_id = std::move(external_id), status = std::move(status)] {
    deliver_receipt(seq, external_id, status);
  });
}

void SandboxChannel::deliver_receipt(uint64_t seq, const std::string& external_id, const std::string& status) {
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    outbound_.advance_status(seq, status);  // the record may have aged out; the host still wants the receipt
  }
  emit_quietly(SB_EVENT_MESSAGE_STATUS, {{"external_id", external_id}, {"status", status}, {"timestamp", unix_now()}});
  if (status == "delivered") schedule_receipt(seq, external_id, "read");
}

// ---- Helpers -------------------------------------------------------------------

void SandboxChannel::emit_quietly(std::string_view type, const nlohmann::json& event) {
  try {
    host().emit(type, event.dump());
  } catch (const std::exception& e) {
    host().warn(std::string("sandbox: ") + e.what());
  }
}

std::string SandboxChannel::random_hex(std::size_t chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(chars);
  for (std::size_t i = 0; i < chars; ++i) out.push_back(kHex[rng_() & 0xF]);
  return out;
}

void SandboxChannel::save_groups(const std::string& snapshot) {
  try {
    host().kv_put(kGroupsKey, snapshot);
  } catch (const std::exception& e) {
    // The groups stay in memory; only a restart would lose the change.
    host().warn(std::string("sandbox: could not save the groups: ") + e.what());
  }
}

nlohmann::json SandboxChannel::status_json_locked() const {
  json s = {{"status", status_}, {"phone", config_.phone}, {"profile_id", profile_id_}};
  if (!qr_.empty()) s["qr"] = qr_;
  s["detail"] = status_ == "QR_READY" ? "waiting for a scan: POST pair completes the simulated pairing"
                                      : "simulated WhatsApp number " + config_.phone;
  return s;
}

}  // namespace sandbox

SWITCHBOARD_CHANNEL_PLUGIN(sandbox::SandboxChannel, "channel-sandbox", "1.0.0")
