#include "fakes/fake_graph_api.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <stdexcept>

namespace sb::test {
namespace {

using nlohmann::json;

json graph_error(const std::string& message, const std::string& type, int64_t code, int64_t subcode = 0,
                 const std::string& details = "") {
  json err = {{"message", message}, {"type", type}, {"code", code}, {"fbtrace_id", "AFakeTrace123"}};
  if (subcode != 0) err["error_subcode"] = subcode;
  if (!details.empty()) err["error_data"] = {{"messaging_product", "whatsapp"}, {"details", details}};
  return {{"error", err}};
}

json invalid_parameter(const std::string& details) {
  return graph_error("(#100) Invalid parameter", "OAuthException", 100, 0, details);
}

size_t chars(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool nonempty_string(const json& o, const char* name) {
  return o.is_object() && o.contains(name) && o[name].is_string() && !o[name].get_ref<const std::string&>().empty();
}

// What the real API would refuse in a message body; "" when it is fine.
std::string check_message(const json& b, const std::set<std::string>& known_media) {
  if (!b.is_object()) return "the body must be a JSON object";
  if (b.value("messaging_product", "") != "whatsapp") return "messaging_product must be whatsapp";
  if (!nonempty_string(b, "to")) return "to is required";
  static const std::regex phone(R"(^\+?[0-9]{6,15}$)");
  if (!std::regex_match(b["to"].get<std::string>(), phone)) return "to is not a phone number";
  const std::string type = b.value("type", "text");
  if (!b.contains(type) || (!b[type].is_object() && type != "contacts")) return "the " + type + " object is required";
  const json& o = b[type];
  if (type == "text") {
    if (!nonempty_string(o, "body")) return "text.body is required";
    if (chars(o["body"]) > 4096) return "text.body is too long";
  } else if (type == "image" || type == "video" || type == "audio" || type == "document" || type == "sticker") {
    const bool has_id = nonempty_string(o, "id"), has_link = nonempty_string(o, "link");
    if (has_id == has_link) return type + " needs exactly one of id or link";
    if (has_id && !known_media.count(o["id"].get<std::string>())) return "media id " + o["id"].get<std::string>() + " is unknown";
    if (o.contains("caption") && (type == "audio" || type == "sticker")) return type + " cannot have a caption";
    if (o.contains("caption") && chars(o.value("caption", "")) > 1024) return "caption is too long";
  } else if (type == "location") {
    if (!o.contains("latitude") || !o["latitude"].is_number() || !o.contains("longitude") || !o["longitude"].is_number())
      return "location needs numeric latitude and longitude";
  } else if (type == "contacts") {
    if (!o.is_array() || o.empty()) return "contacts must be a non-empty array";
    for (const auto& c : o)
      if (!c.contains("name") || !nonempty_string(c["name"], "formatted_name")) return "contacts[].name.formatted_name is required";
  } else if (type == "interactive") {
    const std::string kind = o.value("type", "");
    if (!o.contains("body") || !nonempty_string(o["body"], "text")) return "interactive.body.text is required";
    if (!o.contains("action") || !o["action"].is_object()) return "interactive.action is required";
    const json& a = o["action"];
    if (kind == "button") {
      if (chars(o["body"]["text"]) > 1024) return "interactive.body.text is too long";
      if (!a.contains("buttons") || !a["buttons"].is_array() || a["buttons"].empty() || a["buttons"].size() > 3)
        return "action.buttons must hold 1 to 3 buttons";
      for (const auto& btn : a["buttons"]) {
        if (btn.value("type", "") != "reply" || !btn.contains("reply")) return "buttons[].type must be reply";
        if (!nonempty_string(btn["reply"], "id") || !nonempty_string(btn["reply"], "title")) return "buttons[].reply needs id and title";
        if (chars(btn["reply"]["title"]) > 20) return "a button title is longer than 20 characters";
      }
    } else if (kind == "list") {
      if (!nonempty_string(a, "button")) return "action.button is required";
      if (chars(a["button"]) > 20) return "action.button is longer than 20 characters";
      if (!a.contains("sections") || !a["sections"].is_array() || a["sections"].empty()) return "action.sections is required";
      size_t rows = 0;
      for (const auto& s : a["sections"]) {
        if (!s.contains("rows") || !s["rows"].is_array()) return "sections[].rows is required";
        for (const auto& r : s["rows"]) {
          if (!nonempty_string(r, "id") || !nonempty_string(r, "title")) return "rows[] need id and title";
          if (chars(r["title"]) > 24) return "a row title is longer than 24 characters";
          ++rows;
        }
      }
      if (rows > 10) return "a list may hold at most 10 rows";
    } else {
      return "interactive.type must be button or list";
    }
  } else if (type == "template") {
    if (!nonempty_string(o, "name")) return "template.name is required";
    if (!o.contains("language") || !nonempty_string(o["language"], "code")) return "template.language.code is required";
    if (o.contains("components")) {
      if (!o["components"].is_array()) return "template.components must be an array";
      for (const auto& c : o["components"]) {
        if (!nonempty_string(c, "type")) return "components[].type is required";
        if (c.contains("parameters"))
          for (const auto& p : c["parameters"])
            if (!nonempty_string(p, "type")) return "parameters[].type is required";
      }
    }
  } else if (type == "reaction") {
    if (!nonempty_string(o, "message_id")) return "reaction.message_id is required";
    if (!o.contains("emoji") || !o["emoji"].is_string()) return "reaction.emoji is required";
  } else {
    return "type " + type + " is not supported";
  }
  return "";
}

std::string header_or(const httplib::Request& req, const char* name) {
  return req.has_header(name) ? req.get_header_value(name) : std::string();
}

}  // namespace

FakeGraphApi::FakeGraphApi(std::string access_token, std::string phone_number_id, std::string version)
    : token_(std::move(access_token)), phone_number_id_(std::move(phone_number_id)), version_(std::move(version)) {
  route();
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("the fake Graph API could not bind a loopback port");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeGraphApi::~FakeGraphApi() {
  {
    std::lock_guard lock(deliver_mu_);
    deliver_stop_ = true;
  }
  deliver_cv_.notify_all();
  if (deliver_thread_.joinable()) deliver_thread_.join();
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

void FakeGraphApi::answer(const httplib::Request& req, httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
  GraphRequest r;
  r.method = req.method;
  r.path = req.path;
  r.authorization = header_or(req, "Authorization");
  r.content_type = header_or(req, "Content-Type");
  r.body = req.body;
  r.json = json::parse(req.body, nullptr, false);
  if (r.json.is_discarded()) r.json = nullptr;
  r.status = status;
  std::lock_guard lock(mu_);
  requests_.push_back(std::move(r));
}

bool FakeGraphApi::authorized(const httplib::Request& req, httplib::Response& res) {
  const std::string auth = header_or(req, "Authorization");
  bool expired;
  {
    std::lock_guard lock(mu_);
    expired = token_expired_;
  }
  if (expired) {
    answer(req, res, 401,
           graph_error("Error validating access token: Session has expired on Friday, 04-Dec-26 10:00:00 PST.",
                       "OAuthException", 190, 463));
    return false;
  }
  if (auth != "Bearer " + token_) {
    answer(req, res, 401, graph_error("Invalid OAuth access token - Cannot parse access token", "OAuthException", 190));
    return false;
  }
  return true;
}

void FakeGraphApi::route() {
  const std::string v = "/" + version_ + "/";
  server_.Get(v + phone_number_id_, [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    answer(req, res, 200,
           {{"verified_name", "Switchboard Test"}, {"display_phone_number", "+1 555-010-0000"},
            {"id", phone_number_id_}, {"quality_rating", "GREEN"}});
  });
  server_.Post(v + phone_number_id_ + "/messages",
               [this](const httplib::Request& req, httplib::Response& res) { on_messages(req, res); });
  server_.Post(v + phone_number_id_ + "/media",
               [this](const httplib::Request& req, httplib::Response& res) { on_upload(req, res); });
  server_.Get(v + waba_id_ + "/message_templates",
              [this](const httplib::Request& req, httplib::Response& res) { on_templates(req, res); });
  server_.Get(v + R"(([A-Za-z0-9_.-]+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    const std::string id = req.matches[1];
    std::optional<Media> m;
    bool fail = false;
    {
      std::lock_guard lock(mu_);
      if (media_failures_ > 0) {
        --media_failures_;
        fail = true;
      }
      auto it = media_.find(id);
      if (it != media_.end()) m = it->second;
    }
    if (fail) {
      answer(req, res, 500, graph_error("An unexpected error has occurred. Please retry your request later.",
                                        "OAuthException", 2));
      return;
    }
    if (!m) {
      answer(req, res, 400,
             graph_error("Unsupported get request. Object with ID '" + id + "' does not exist", "GraphMethodException",
                         100, 33));
      return;
    }
    answer(req, res, 200,
           {{"messaging_product", "whatsapp"},
            {"url", base_url() + "/download/" + id},
            {"mime_type", m->mime_type},
            {"sha256", "fake"},
            {"file_size", m->bytes.size()},
            {"id", id}});
  });
  server_.Get(R"(/download/([A-Za-z0-9_.-]+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    const std::string id = req.matches[1];
    Media m;
    bool found = false;
    {
      std::lock_guard lock(mu_);
      auto it = media_.find(id);
      if (it != media_.end()) {
        m = it->second;
        found = true;
      }
    }
    if (!found) {
      answer(req, res, 404, graph_error("media not found", "GraphMethodException", 100));
      return;
    }
    answer(req, res, 200, nullptr);
    res.set_content(m.bytes, m.mime_type);
  });
}

std::optional<FakeGraphApi::Failure> FakeGraphApi::take_failure(const std::string& to) {
  std::lock_guard lock(mu_);
  for (auto it = failures_.begin(); it != failures_.end(); ++it) {
    if (!it->to.empty() && it->to != to) continue;
    const Failure f = it->failure;
    if (it->times > 0 && --it->times == 0) failures_.erase(it);
    if (f == Failure::expired_token) token_expired_ = true;
    return f;
  }
  return std::nullopt;
}

void FakeGraphApi::on_messages(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  if (header_or(req, "Content-Type").rfind("application/json", 0) != 0) {
    answer(req, res, 400, invalid_parameter("the body must be application/json"));
    return;
  }
  const json b = json::parse(req.body, nullptr, false);
  if (b.is_discarded()) {
    answer(req, res, 400, graph_error("(#100) The parameter messaging_product is required.", "OAuthException", 100));
    return;
  }
  // Mark as read.
  if (b.is_object() && b.contains("status")) {
    if (b.value("status", "") != "read" || !nonempty_string(b, "message_id") || b.value("messaging_product", "") != "whatsapp") {
      answer(req, res, 400, invalid_parameter("mark as read needs messaging_product, status read and message_id"));
      return;
    }
    {
      std::lock_guard lock(mu_);
      read_.push_back(b["message_id"]);
    }
    answer(req, res, 200, {{"success", true}});
    return;
  }
  std::set<std::string> known;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, m] : media_) known.insert(id);
  }
  if (const std::string problem = check_message(b, known); !problem.empty()) {
    answer(req, res, 400, invalid_parameter(problem));
    return;
  }
  std::string to = b["to"];
  if (!to.empty() && to.front() == '+') to.erase(0, 1);
  if (auto f = take_failure(to)) {
    switch (*f) {
      case Failure::rate_limit:
        answer(req, res, 400, graph_error("(#130429) Rate limit hit", "OAuthException", 130429, 0,
                                          "Cloud API message throughput has been reached."));
        return;
      case Failure::pair_rate:
        answer(req, res, 400, graph_error("(#131056) (Business Account, Consumer Account) pair rate limit hit",
                                          "OAuthException", 131056, 0,
                                          "Too many messages sent from the sender phone number to the same recipient"));
        return;
      case Failure::outside_window:
        answer(req, res, 400, graph_error("(#131047) Re-engagement message", "OAuthException", 131047, 0,
                                          "Message failed to send because more than 24 hours have passed since the "
                                          "customer last replied to this number."));
        return;
      case Failure::invalid_recipient:
        answer(req, res, 400, graph_error("(#131026) Message Undeliverable", "OAuthException", 131026, 0,
                                          "The recipient cannot receive this message."));
        return;
      case Failure::unknown_template:
        answer(req, res, 404, graph_error("(#132001) Template name does not exist in the translation",
                                          "OAuthException", 132001, 0, "template name does not exist"));
        return;
      case Failure::expired_token:
        answer(req, res, 401,
               graph_error("Error validating access token: Session has expired.", "OAuthException", 190, 463));
        return;
      case Failure::server_error:
        res.status = 500;
        res.set_content("Internal Server Error", "text/plain");
        {
          GraphRequest r;
          r.method = req.method;
          r.path = req.path;
          r.body = req.body;
          r.status = 500;
          std::lock_guard lock(mu_);
          requests_.push_back(std::move(r));
        }
        return;
    }
  }
  if (b.value("type", "") == "template") {
    const std::string name = b["template"]["name"], language = b["template"]["language"]["code"];
    bool exists = false;
    {
      std::lock_guard lock(mu_);
      for (const auto& t : templates_)
        if (t.name == name && t.language == language && t.status == "APPROVED") exists = true;
    }
    if (!exists) {
      answer(req, res, 404, graph_error("(#132001) Template name does not exist in the translation", "OAuthException",
                                        132001, 0, "template name (" + name + ") does not exist in " + language));
      return;
    }
  }
  std::string wamid;
  std::chrono::milliseconds latency;
  {
    std::lock_guard lock(mu_);
    wamid = "wamid.FAKE" + std::to_string(next_id_++);
    sent_.push_back(b);
    latency = send_latency_;
  }
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
  // Meta's `sent` status follows its answer.
  queue_status(wamid, to, b.value("biz_opaque_callback_data", std::string()));
  answer(req, res, 200,
         {{"messaging_product", "whatsapp"},
          {"contacts", json::array({{{"input", b["to"]}, {"wa_id", to}}})},
          {"messages", json::array({{{"id", wamid}}})}});
}

void FakeGraphApi::set_send_latency(std::chrono::milliseconds latency) {
  std::lock_guard lock(mu_);
  send_latency_ = latency;
}

void FakeGraphApi::deliver_statuses(std::string host_url, std::string hook_path, std::string app_secret) {
  std::lock_guard lock(deliver_mu_);
  deliver_url_ = std::move(host_url);
  deliver_path_ = std::move(hook_path);
  deliver_secret_ = std::move(app_secret);
  delivering_ = true;
  if (!deliver_thread_.joinable()) deliver_thread_ = std::thread([this] { deliver_loop(); });
  // Retargeted: whatever waits goes to the new address now.
  for (auto& d : deliveries_) d.due = std::chrono::steady_clock::now();
  deliver_cv_.notify_all();
}

size_t FakeGraphApi::statuses_delivered() const {
  std::lock_guard lock(deliver_mu_);
  return delivered_;
}

size_t FakeGraphApi::statuses_pending() const {
  std::lock_guard lock(deliver_mu_);
  return deliveries_.size() + in_flight_;
}

void FakeGraphApi::queue_status(const std::string& wamid, const std::string& recipient, const std::string& opaque) {
  std::lock_guard lock(deliver_mu_);
  if (!delivering_) return;
  json status = {{"id", wamid},
                 {"status", "sent"},
                 {"timestamp", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count())},
                 {"recipient_id", recipient},
                 {"conversation", {{"id", "CONVERSATION-" + wamid}, {"origin", {{"type", "marketing"}}}}},
                 {"pricing", {{"billable", true}, {"pricing_model", "CBP"}, {"category", "marketing"}}}};
  if (!opaque.empty()) status["biz_opaque_callback_data"] = opaque;
  deliveries_.push_back(
      {cloud_notification(phone_number_id_, json::array(), json::array({status})).dump(), std::chrono::steady_clock::now()});
  deliver_cv_.notify_all();
}

void FakeGraphApi::deliver_loop() {
  std::unique_lock lock(deliver_mu_);
  while (!deliver_stop_) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<Delivery> due;
    auto next = now + std::chrono::seconds(1);
    for (auto it = deliveries_.begin(); it != deliveries_.end();) {
      if (it->due <= now) {
        due.push_back(std::move(*it));
        it = deliveries_.erase(it);
      } else {
        next = std::min(next, it->due);
        ++it;
      }
    }
    if (due.empty()) {
      deliver_cv_.wait_until(lock, next);
      continue;
    }
    const std::string url = deliver_url_, path = deliver_path_, secret = deliver_secret_;
    in_flight_ = due.size();
    lock.unlock();
    httplib::Client client(url);
    client.set_connection_timeout(0, 300000);
    client.set_read_timeout(2, 0);
    client.set_write_timeout(2, 0);
    std::vector<Delivery> failed;
    size_t ok = 0;
    for (auto& d : due) {
      bool stopping;
      {
        std::lock_guard l(deliver_mu_);
        stopping = deliver_stop_;
      }
      if (!stopping) {
        auto r = post_signed_webhook(client, path, d.body, secret);
        if (r && r->status == 200) {
          ++ok;
          continue;
        }
      }
      // Meta retries with backoff while the endpoint is down or refuses.
      d.due = std::chrono::steady_clock::now() + d.backoff;
      d.backoff = std::min(d.backoff * 2, std::chrono::milliseconds(1000));
      failed.push_back(std::move(d));
    }
    lock.lock();
    delivered_ += ok;
    in_flight_ = 0;
    for (auto& d : failed) deliveries_.push_back(std::move(d));
  }
}

void FakeGraphApi::on_upload(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  if (!req.is_multipart_form_data()) {
    answer(req, res, 400, invalid_parameter("the upload must be multipart/form-data"));
    return;
  }
  if (!req.has_file("messaging_product") || req.get_file_value("messaging_product").content != "whatsapp") {
    answer(req, res, 400, graph_error("(#100) The parameter messaging_product is required.", "OAuthException", 100));
    return;
  }
  if (!req.has_file("file")) {
    answer(req, res, 400, graph_error("(#100) The parameter file is required.", "OAuthException", 100));
    return;
  }
  const auto file = req.get_file_value("file");
  const std::string type = req.has_file("type") ? req.get_file_value("type").content : file.content_type;
  std::string id;
  {
    std::lock_guard lock(mu_);
    id = "media" + std::to_string(next_id_++);
    media_[id] = Media{file.content, type};
  }
  answer(req, res, 200, {{"id", id}});
}

void FakeGraphApi::on_templates(const httplib::Request& req, httplib::Response& res) {
  {
    std::lock_guard lock(mu_);
    ++template_listings_;
  }
  if (!authorized(req, res)) return;
  bool fail;
  std::vector<Template> all;
  int page_size;
  {
    std::lock_guard lock(mu_);
    fail = template_failures_ > 0;
    if (fail) --template_failures_;
    all = templates_;
    page_size = template_page_size_;
  }
  if (fail) {
    answer(req, res, 500, graph_error("An unexpected error has occurred. Please retry your request later.",
                                      "OAuthException", 2));
    return;
  }
  // Graph answers only the fields asked for (and the id).
  const std::string fields = req.has_param("fields") ? req.get_param_value("fields") : "";
  for (const char* f : {"name", "language", "status"}) {
    if (fields.find(f) == std::string::npos) {
      answer(req, res, 400, invalid_parameter(std::string("the test expects fields to include ") + f));
      return;
    }
  }
  size_t limit = req.has_param("limit") ? std::stoul(req.get_param_value("limit")) : 25;
  limit = std::min<size_t>(std::max<size_t>(limit, 1), static_cast<size_t>(page_size));
  size_t from = 0;
  if (req.has_param("after")) {
    const std::string after = req.get_param_value("after");
    if (after.rfind("QVFI", 0) != 0) {
      answer(req, res, 400, invalid_parameter("after is not a cursor of this listing"));
      return;
    }
    from = std::stoul(after.substr(4));
  }
  json data = json::array();
  for (size_t i = from; i < all.size() && i < from + limit; ++i)
    data.push_back({{"name", all[i].name}, {"language", all[i].language}, {"status", all[i].status},
                    {"id", std::string("tpl").append(std::to_string(i))}});
  json body = {{"data", data}};
  if (!data.empty()) {
    const size_t end = from + data.size();
    body["paging"] = {{"cursors", {{"before", std::string("QVFI").append(std::to_string(from))},
                                   {"after", std::string("QVFI").append(std::to_string(end))}}}};
    if (end < all.size())
      body["paging"]["next"] = base_url() + req.path + "?fields=" + fields + "&limit=" + std::to_string(limit) +
                               "&after=QVFI" + std::to_string(end);
  }
  answer(req, res, 200, body);
}

void FakeGraphApi::fail_next(Failure failure, int times, const std::string& to) {
  std::lock_guard lock(mu_);
  failures_.push_back({failure, times, to.empty() || to.front() != '+' ? to : to.substr(1)});
}

void FakeGraphApi::fail_always(const std::string& to, Failure failure) {
  std::lock_guard lock(mu_);
  failures_.push_back({failure, -1, to.empty() || to.front() != '+' ? to : to.substr(1)});
}

void FakeGraphApi::clear_failures() {
  std::lock_guard lock(mu_);
  failures_.clear();
  token_expired_ = false;
}

void FakeGraphApi::fail_media_lookups(int times) {
  std::lock_guard lock(mu_);
  media_failures_ = times;
}

std::string FakeGraphApi::add_media(const std::string& bytes, const std::string& mime_type) {
  std::lock_guard lock(mu_);
  const std::string id = "inbound" + std::to_string(next_id_++);
  media_[id] = Media{bytes, mime_type};
  return id;
}

std::string FakeGraphApi::uploaded(const std::string& media_id) const {
  std::lock_guard lock(mu_);
  auto it = media_.find(media_id);
  return it == media_.end() ? std::string() : it->second.bytes;
}

std::string FakeGraphApi::uploaded_type(const std::string& media_id) const {
  std::lock_guard lock(mu_);
  auto it = media_.find(media_id);
  return it == media_.end() ? std::string() : it->second.mime_type;
}

std::vector<GraphRequest> FakeGraphApi::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<json> FakeGraphApi::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

std::vector<std::string> FakeGraphApi::marked_read() const {
  std::lock_guard lock(mu_);
  return read_;
}

size_t FakeGraphApi::sent_count() const {
  std::lock_guard lock(mu_);
  return sent_.size();
}

void FakeGraphApi::add_template(const std::string& name, const std::string& language, const std::string& status) {
  std::lock_guard lock(mu_);
  templates_.push_back({name, language, status});
}

void FakeGraphApi::set_templates(std::vector<Template> templates) {
  std::lock_guard lock(mu_);
  templates_ = std::move(templates);
}

void FakeGraphApi::fail_template_listings(int times) {
  std::lock_guard lock(mu_);
  template_failures_ = times;
}

void FakeGraphApi::set_template_page_size(int size) {
  std::lock_guard lock(mu_);
  template_page_size_ = std::max(1, size);
}

size_t FakeGraphApi::template_listings() const {
  std::lock_guard lock(mu_);
  return template_listings_;
}

std::string meta_signature(const std::string& app_secret, const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), app_secret.data(), static_cast<int>(app_secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &len);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xF]);
  }
  return out;
}

httplib::Result post_signed_webhook(httplib::Client& client, const std::string& path, const std::string& body,
                                    const std::string& app_secret, const std::string* signature) {
  httplib::Headers headers = {{"User-Agent", "facebookexternalua"}};
  const std::string sig = signature ? *signature : meta_signature(app_secret, body);
  if (!sig.empty()) headers.emplace("X-Hub-Signature-256", sig);
  return client.Post(path.c_str(), headers, body, "application/json");
}

json cloud_notification(const std::string& phone_number_id, const json& messages, const json& statuses,
                        const std::string& sender_name) {
  json msgs = json::array();
  json contacts = json::array();
  std::set<std::string> seen;
  const auto now = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
  for (json m : messages) {
    if (!m.contains("from")) m["from"] = "15551230001";
    if (!m.contains("timestamp")) m["timestamp"] = now;
    const std::string from = m["from"];
    if (seen.insert(from).second) contacts.push_back({{"profile", {{"name", sender_name}}}, {"wa_id", from}});
    msgs.push_back(std::move(m));
  }
  json value = {{"messaging_product", "whatsapp"},
                {"metadata", {{"display_phone_number", "15550100000"}, {"phone_number_id", phone_number_id}}}};
  if (!msgs.empty()) {
    value["contacts"] = contacts;
    value["messages"] = msgs;
  }
  if (!statuses.empty()) value["statuses"] = statuses;
  return {{"object", "whatsapp_business_account"},
          {"entry", json::array({{{"id", "WABA-TEST"}, {"changes", json::array({{{"field", "messages"}, {"value", value}}})}}})}};
}

}  // namespace sb::test
