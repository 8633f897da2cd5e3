#include "graph.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

namespace cloud {
namespace {

using nlohmann::json;
using switchboard::Error;

[[noreturn]] void invalid(const std::string& message) { throw Error(SB_ERR_INVALID_ARGUMENT, message); }

json parse_or_null(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json(nullptr) : j;
}

// Characters (UTF-8 code points), as Meta counts its limits.
size_t chars(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string str(const json& m, const char* name) {
  auto it = m.find(name);
  return it != m.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void limit(std::string_view value, size_t max, const std::string& field) {
  if (chars(value) > max) invalid(field + " is longer than the WhatsApp Cloud API allows (" + std::to_string(max) + " characters)");
}

std::string random_boundary() {
  unsigned char bytes[12];
  RAND_bytes(bytes, sizeof bytes);
  static const char* hex = "0123456789abcdef";
  std::string out = "sbboundary";
  for (unsigned char b : bytes) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0xF]);
  }
  return out;
}

// A header/footer given as a string or as Graph's {"type":"text","text"}.
json header_of(const json& v) {
  if (v.is_string()) return {{"type", "text"}, {"text", v}};
  return v;
}
json footer_of(const json& v) {
  if (v.is_string()) return {{"text", v}};
  return v;
}

json media_object(const json& m, const std::string& type, const GraphClient& graph, const switchboard::Host& host) {
  json out = json::object();
  const std::string url = str(m, "url").empty() ? str(m, "link") : str(m, "url");
  const std::string media_id = str(m, "media_id").empty() ? str(m, "id") : str(m, "media_id");
  const std::string blob = str(m, "blob");
  const int given = !url.empty() + !media_id.empty() + !blob.empty();
  if (given != 1) invalid("a " + type + " message needs exactly one of url, media_id or blob");
  if (!url.empty()) {
    out["link"] = url;
  } else if (!media_id.empty()) {
    out["id"] = media_id;
  } else {
    auto stored = host.blob_get(blob);
    if (!stored) invalid("blob " + blob + " does not exist in this workspace");
    const json meta = parse_or_null(stored->meta_json);
    std::string mime = str(m, "mime_type");
    if (mime.empty() && meta.is_object()) mime = meta.value("content_type", std::string());
    if (mime.empty()) mime = "application/octet-stream";
    out["id"] = graph.upload_media(mime, str(m, "filename"), stored->data);
  }
  const std::string caption = str(m, "caption").empty() ? std::string() : str(m, "caption");
  if (!caption.empty()) {
    if (type == "audio" || type == "sticker") invalid("a " + type + " message cannot have a caption");
    limit(caption, 1024, "caption");
    out["caption"] = caption;
  }
  const std::string filename = str(m, "filename");
  if (!filename.empty() && type == "document") out["filename"] = filename;
  return out;
}

json contacts_object(const json& m) {
  auto it = m.find("contacts");
  if (it == m.end() || !it->is_array() || it->empty()) invalid("a contact message needs \"contacts\": [...]");
  json out = json::array();
  for (const auto& c : *it) {
    if (!c.is_object()) invalid("each contact must be an object");
    const std::string name = str(c, "name");
    if (name.empty()) invalid("each contact needs a name");
    json card = {{"name", {{"formatted_name", name}, {"first_name", name.substr(0, name.find(' '))}}}};
    if (auto p = c.find("phones"); p != c.end() && p->is_array()) {
      json phones = json::array();
      for (const auto& ph : *p) {
        json e = {{"phone", str(ph, "phone")}};
        if (!str(ph, "type").empty()) e["type"] = str(ph, "type");
        if (!str(ph, "wa_id").empty()) e["wa_id"] = str(ph, "wa_id");
        phones.push_back(std::move(e));
      }
      card["phones"] = std::move(phones);
    }
    if (auto em = c.find("emails"); em != c.end() && em->is_array()) {
      json emails = json::array();
      for (const auto& e : *em) {
        json o = {{"email", str(e, "email")}};
        if (!str(e, "type").empty()) o["type"] = str(e, "type");
        emails.push_back(std::move(o));
      }
      card["emails"] = std::move(emails);
    }
    if (!str(c, "organization").empty()) card["org"] = {{"company", str(c, "organization")}};
    out.push_back(std::move(card));
  }
  return out;
}

// The host's {type: button|list, body, buttons | button + sections,
// header?, footer?} -> Graph's interactive object.
json interactive_object(const json& m) {
  auto it = m.find("interactive");
  if (it == m.end() || !it->is_object()) invalid("an interactive message needs \"interactive\": {...}");
  const json& in = *it;
  const std::string kind = str(in, "type");
  std::string body = in.contains("body") && in["body"].is_object() ? str(in["body"], "text") : str(in, "body");
  if (body.empty()) body = str(m, "text");
  if (body.empty()) invalid("an interactive message needs a body");
  json out = {{"type", kind}, {"body", {{"text", body}}}};
  if (in.contains("header") && !in["header"].is_null()) out["header"] = header_of(in["header"]);
  if (in.contains("footer") && !in["footer"].is_null()) out["footer"] = footer_of(in["footer"]);
  if (kind == "button") {
    limit(body, 1024, "interactive.body");
    const json* buttons = in.contains("buttons") ? &in["buttons"] : nullptr;
    if (!buttons && in.contains("action") && in["action"].is_object()) buttons = &in["action"]["buttons"];
    if (!buttons || !buttons->is_array() || buttons->empty() || buttons->size() > 3) {
      invalid("interactive buttons must be 1 to 3");
    }
    json list = json::array();
    for (const auto& b : *buttons) {
      const json& r = b.contains("reply") ? b["reply"] : b;
      const std::string id = str(r, "id"), title = str(r, "title");
      if (id.empty() || title.empty()) invalid("each interactive button needs an id and a title");
      limit(title, 20, "a button title");
      limit(id, 256, "a button id");
      list.push_back({{"type", "reply"}, {"reply", {{"id", id}, {"title", title}}}});
    }
    out["action"] = {{"buttons", std::move(list)}};
  } else if (kind == "list") {
    limit(body, 4096, "interactive.body");
    const json& src = in.contains("sections") ? in : (in.contains("action") ? in["action"] : in);
    const std::string button = str(src, "button").empty() ? str(in, "button") : str(src, "button");
    if (button.empty()) invalid("an interactive list needs a button label");
    limit(button, 20, "the list's button label");
    auto sections = src.find("sections");
    if (sections == src.end() || !sections->is_array() || sections->empty()) invalid("an interactive list needs sections");
    size_t rows = 0;
    json out_sections = json::array();
    for (const auto& s : *sections) {
      json sec = json::object();
      if (!str(s, "title").empty()) sec["title"] = str(s, "title");
      json out_rows = json::array();
      if (!s.contains("rows") || !s["rows"].is_array()) invalid("each list section needs rows");
      for (const auto& r : s["rows"]) {
        const std::string id = str(r, "id"), title = str(r, "title");
        if (id.empty() || title.empty()) invalid("each list row needs an id and a title");
        limit(title, 24, "a list row title");
        json row = {{"id", id}, {"title", title}};
        if (!str(r, "description").empty()) {
          limit(str(r, "description"), 72, "a list row description");
          row["description"] = str(r, "description");
        }
        out_rows.push_back(std::move(row));
        ++rows;
      }
      sec["rows"] = std::move(out_rows);
      out_sections.push_back(std::move(sec));
    }
    if (rows > 10) invalid("an interactive list may hold at most 10 rows in all");
    out["action"] = {{"button", button}, {"sections", std::move(out_sections)}};
  } else {
    invalid("interactive.type must be button or list");
  }
  return out;
}

json template_object(const json& m) {
  auto it = m.find("template");
  if (it == m.end() || !it->is_object()) invalid("a template message needs \"template\": {...}");
  const json& t = *it;
  const std::string name = str(t, "name");
  if (name.empty()) invalid("a template needs a name");
  json language = t.contains("language") ? t["language"] : json("en_US");
  if (language.is_string()) language = {{"code", language}};
  json out = {{"name", name}, {"language", language}};
  if (t.contains("components") && t["components"].is_array()) {
    out["components"] = t["components"];
  } else if (t.contains("parameters") && t["parameters"].is_array() && !t["parameters"].empty()) {
    json params = json::array();
    for (const auto& p : t["parameters"]) {
      if (p.is_string()) params.push_back({{"type", "text"}, {"text", p}});
      else if (p.is_number()) params.push_back({{"type", "text"}, {"text", p.dump()}});
      else if (p.is_object()) params.push_back(p);
      else invalid("template parameters must be strings or objects");
    }
    out["components"] = json::array({{{"type", "body"}, {"parameters", std::move(params)}}});
  }
  return out;
}

}  // namespace

// ---- config ----

CloudConfig CloudConfig::parse(std::string_view config_json) {
  const json j = parse_or_null(config_json);
  if (!j.is_object()) invalid("the channel-whatsapp-cloud config must be a JSON object");
  CloudConfig c;
  c.phone_number_id = str(j, "phone_number_id");
  if (c.phone_number_id.empty()) invalid("phone_number_id is required (the Cloud API's id of the number)");
  c.waba_id = str(j, "waba_id");
  if (!str(j, "graph_base_url").empty()) c.graph_base_url = str(j, "graph_base_url");
  while (!c.graph_base_url.empty() && c.graph_base_url.back() == '/') c.graph_base_url.pop_back();
  if (!str(j, "graph_version").empty()) c.graph_version = str(j, "graph_version");
  c.timeout_ms = j.value("timeout_ms", c.timeout_ms);
  c.media_timeout_ms = j.value("media_timeout_ms", c.media_timeout_ms);
  c.download_media = j.value("download_media", c.download_media);
  c.idempotency_slots = std::max<int64_t>(1, j.value("idempotency_slots", c.idempotency_slots));
  c.ambiguous_send_wait_ms = std::max<int64_t>(0, j.value("ambiguous_send_wait_ms", c.ambiguous_send_wait_ms));
  c.enforce_customer_service_window = j.value("enforce_customer_service_window", c.enforce_customer_service_window);
  return c;
}

// ---- errors ----

sb_status status_for_graph_code(int64_t code, int http_status) {
  switch (code) {
    case 130429:
    case 131056:
    case 80007:
    case 4:
    case 613: return SB_ERR_BUSY;
    case 131000:
    case 131016:
    case 131057:
    case 1:
    case 2: return SB_ERR_UNAVAILABLE;
    case 100:
    case 131008:
    case 131009: return SB_ERR_INVALID_ARGUMENT;
    case 190: return SB_ERR_PERMANENT;
    default: break;
  }
  if (code >= 132000 && code <= 132015) return SB_ERR_INVALID_ARGUMENT;
  if (code == 0) {  // no Graph error body: decide on the HTTP status
    if (http_status == 429) return SB_ERR_BUSY;
    if (http_status >= 500) return SB_ERR_UNAVAILABLE;
  }
  return SB_ERR_PERMANENT;
}

// ---- GraphClient ----

GraphClient::GraphClient(switchboard::Host host, CloudConfig config, std::string access_token,
                         std::function<void(const std::string&)> on_token_invalid)
    : host_(host), config_(std::move(config)), token_(std::move(access_token)),
      on_token_invalid_(std::move(on_token_invalid)) {}

std::string GraphClient::url(std::string_view path) const {
  return config_.graph_base_url + "/" + config_.graph_version + "/" + std::string(path);
}

json GraphClient::http(json request) const {
  if (!request.contains("timeout_ms")) request["timeout_ms"] = config_.timeout_ms;
  request["headers"]["Authorization"] = "Bearer " + token_;
  std::string out;
  try {
    out = host_.http(request.dump());
  } catch (const Error& e) {
    // No response: a network failure or a timeout, both worth retrying.
    const sb_status st = e.status() == SB_ERR_TIMEOUT ? SB_ERR_TIMEOUT : SB_ERR_UNAVAILABLE;
    throw Unanswered(st, "the WhatsApp Cloud API did not answer (" + config_.graph_base_url + ")");
  }
  json response = parse_or_null(out);
  if (!response.is_object()) throw Error(SB_ERR_INTERNAL, "the host's HTTP client answered malformed JSON");
  return response;
}

json GraphClient::check(const json& response, std::string_view what) const {
  const int status = response.value("status", 0);
  const json body = parse_or_null(response.value("body", std::string()));
  if (status >= 200 && status < 300) return body.is_object() ? body : json::object();
  int64_t code = 0;
  std::string message, details, type;
  int64_t subcode = 0;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const json& err = body["error"];
    code = err.value("code", int64_t{0});
    subcode = err.value("error_subcode", int64_t{0});
    message = str(err, "message");
    type = str(err, "type");
    if (err.contains("error_data") && err["error_data"].is_object()) details = str(err["error_data"], "details");
  }
  const sb_status st = status_for_graph_code(code, status);
  std::string text = "WhatsApp Cloud API refused " + std::string(what) + ": ";
  text += message.empty() ? "HTTP " + std::to_string(status) : message;
  if (code != 0) {
    text += " (code " + std::to_string(code);
    if (subcode != 0) text += ", subcode " + std::to_string(subcode);
    text += ")";
  }
  if (!details.empty() && details != message) text += ": " + details;
  if (code == 190 && on_token_invalid_) on_token_invalid_(text);
  throw Error(st, text);
}

json GraphClient::post_message(const json& body) const {
  json request = {{"method", "POST"},
                  {"url", url(config_.phone_number_id + "/messages")},
                  {"headers", {{"Content-Type", "application/json"}}},
                  {"body", body.dump()}};
  return check(http(std::move(request)), "the message");
}

std::string GraphClient::upload_media(std::string_view mime_type, std::string_view filename,
                                      std::string_view bytes) const {
  const std::string boundary = random_boundary();
  const std::string name = filename.empty() ? std::string("file") : std::string(filename);
  std::string body;
  body.reserve(bytes.size() + 512);
  auto field = [&](std::string_view n, std::string_view v) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + std::string(n) + "\"\r\n\r\n";
    body += v;
    body += "\r\n";
  };
  field("messaging_product", "whatsapp");
  field("type", mime_type);
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name +
          "\"\r\nContent-Type: " + std::string(mime_type) + "\r\n\r\n";
  body += bytes;
  body += "\r\n--" + boundary + "--\r\n";
  json request = {{"method", "POST"},
                  {"url", url(config_.phone_number_id + "/media")},
                  {"headers", {{"Content-Type", "multipart/form-data; boundary=" + boundary}}},
                  {"body_base64", base64_encode(body)},
                  {"timeout_ms", config_.media_timeout_ms}};
  const json answer = check(http(std::move(request)), "the media upload");
  const std::string id = str(answer, "id");
  if (id.empty()) throw Error(SB_ERR_UNAVAILABLE, "the WhatsApp Cloud API answered a media upload without an id");
  return id;
}

GraphClient::Media GraphClient::download_media(const std::string& media_id) const {
  const json info = check(http({{"method", "GET"}, {"url", url(media_id)}}), "the media lookup");
  const std::string media_url = str(info, "url");
  if (media_url.empty()) throw Error(SB_ERR_UNAVAILABLE, "the WhatsApp Cloud API gave no URL for media " + media_id);
  const json response = http({{"method", "GET"},
                              {"url", media_url},
                              {"response_body", "base64"},
                              {"timeout_ms", config_.media_timeout_ms}});
  const int status = response.value("status", 0);
  if (status < 200 || status >= 300) {
    json plain = response;
    plain["body"] = base64_decode(response.value("body_base64", std::string()));
    check(plain, "the media download");
  }
  Media media;
  media.bytes = base64_decode(response.value("body_base64", std::string()));
  media.mime_type = str(info, "mime_type");
  return media;
}

namespace {
std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
  return out;
}
constexpr int kTemplatePageSize = 200;
constexpr int kMaxTemplatePages = 50;  // 10,000 templates, above any WABA's limit
}  // namespace

json GraphClient::message_templates() const {
  if (config_.waba_id.empty())
    throw Error(SB_ERR_UNSUPPORTED, "listing templates needs waba_id in the channel-whatsapp-cloud config");
  json out = json::array();
  std::string after;
  for (int page = 0; page < kMaxTemplatePages; ++page) {
    std::string u = url(config_.waba_id + "/message_templates") +
                    "?fields=name,language,status&limit=" + std::to_string(kTemplatePageSize);
    if (!after.empty()) u += "&after=" + url_encode(after);
    const json body = check(http({{"method", "GET"}, {"url", u}}), "the template listing");
    if (!body.contains("data") || !body["data"].is_array())
      throw Error(SB_ERR_UNAVAILABLE, "the WhatsApp Cloud API answered the template listing without \"data\"");
    for (const auto& t : body["data"]) {
      if (!t.is_object() || str(t, "name").empty()) continue;
      out.push_back({{"name", str(t, "name")}, {"language", str(t, "language")}, {"status", str(t, "status")}});
    }
    // Another page only when Graph links one (the last page has no "next").
    const json paging = body.contains("paging") && body["paging"].is_object() ? body["paging"] : json::object();
    if (!paging.contains("next")) return out;
    after = paging.contains("cursors") && paging["cursors"].is_object() ? str(paging["cursors"], "after") : "";
    if (after.empty()) return out;
  }
  throw Error(SB_ERR_INTERNAL, "the template listing has more than " + std::to_string(kMaxTemplatePages) + " pages");
}

json GraphClient::phone_number_info() const {
  return check(http({{"method", "GET"}, {"url", url(config_.phone_number_id)}}), "the credentials check");
}

// ---- the host's message -> a Graph message ----

json graph_message(const json& m, const GraphClient& graph, const switchboard::Host& host) {
  if (!m.is_object()) invalid("the message must be a JSON object");
  const std::string to = str(m, "to");
  if (to.empty()) invalid("the message has no recipient (\"to\")");
  const std::string type = str(m, "type").empty() ? std::string("text") : str(m, "type");
  json out = {{"messaging_product", "whatsapp"}, {"recipient_type", "individual"}, {"to", to}};
  if (type == "text") {
    const std::string text = str(m, "text");
    if (text.empty()) invalid("a text message needs a text");
    limit(text, 4096, "the text");
    json body = {{"body", text}};
    if (m.value("preview_url", false)) body["preview_url"] = true;
    out["type"] = "text";
    out["text"] = std::move(body);
  } else if (type == "image" || type == "video" || type == "audio" || type == "document" || type == "sticker") {
    json media_src = m;
    if (!m.contains("caption") && !str(m, "text").empty() && type != "audio" && type != "sticker") {
      media_src["caption"] = m["text"];
    }
    out["type"] = type;
    out[type] = media_object(media_src, type, graph, host);
  } else if (type == "location") {
    const json& loc = m.contains("location") && m["location"].is_object() ? m["location"] : m;
    if (!loc.contains("latitude") || !loc["latitude"].is_number() || !loc.contains("longitude") ||
        !loc["longitude"].is_number()) {
      invalid("a location message needs numeric latitude and longitude");
    }
    json l = {{"latitude", loc["latitude"]}, {"longitude", loc["longitude"]}};
    if (!str(loc, "name").empty()) l["name"] = str(loc, "name");
    if (!str(loc, "address").empty()) l["address"] = str(loc, "address");
    out["type"] = "location";
    out["location"] = std::move(l);
  } else if (type == "contact" || type == "contacts") {
    out["type"] = "contacts";
    out["contacts"] = contacts_object(m);
  } else if (type == "interactive") {
    out["type"] = "interactive";
    out["interactive"] = interactive_object(m);
  } else if (type == "reaction") {
    const json r = m.contains("reaction") && m["reaction"].is_object() ? m["reaction"] : json::object();
    const std::string target = str(r, "external_id");
    if (target.empty()) invalid("a reaction needs the external id (wamid) of the message it reacts to");
    out["type"] = "reaction";
    out["reaction"] = {{"message_id", target}, {"emoji", str(r, "emoji")}};
  } else if (type == "template") {
    out["type"] = "template";
    out["template"] = template_object(m);
  } else if (type == "poll") {
    throw Error(SB_ERR_UNSUPPORTED, "the WhatsApp Cloud API cannot send polls");
  } else {
    invalid("message type \"" + type + "\" is not known to channel-whatsapp-cloud");
  }
  // A reply: the external id of the message replied to.
  std::string reply_to = str(m, "reply_to_external_id");
  if (reply_to.empty() && m.contains("context") && m["context"].is_object()) reply_to = str(m["context"], "message_id");
  if (!reply_to.empty() && type != "reaction") out["context"] = {{"message_id", reply_to}};
  return out;
}

// ---- base64 ----

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) throw Error(SB_ERR_INTERNAL, "malformed base64 from the host");
  std::string out(3 * text.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) throw Error(SB_ERR_INTERNAL, "malformed base64 from the host");
  size_t len = static_cast<size_t>(n);
  if (!text.empty() && text.back() == '=') --len;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

}  // namespace cloud
