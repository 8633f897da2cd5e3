#include "messaging/message_types.hpp"

#include "core/error.hpp"
#include "core/text.hpp"
#include "messaging/message_rules.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <initializer_list>
#include <set>

namespace sb::messaging {

namespace {

using nlohmann::json;

// WhatsApp's limits, in characters unless said otherwise.
constexpr size_t kMaxText = 4096;
constexpr size_t kMaxCaption = 1024;
constexpr size_t kMaxFilename = 240;
constexpr size_t kMaxUrlBytes = 2048;
constexpr size_t kMaxIdBytes = 256;
constexpr size_t kMaxButtons = 3;
constexpr size_t kMaxButtonTitle = 20;
constexpr size_t kMaxListRows = 10;
constexpr size_t kMaxListSections = 10;
constexpr size_t kMaxRowTitle = 24;
constexpr size_t kMaxRowDescription = 72;
constexpr size_t kMaxHeader = 60;
constexpr size_t kMaxContacts = 20;
constexpr size_t kMinPollOptions = 2;
constexpr size_t kMaxPollOptions = 12;
constexpr size_t kMaxEmojiBytes = 32;

size_t utf8_length(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; }));
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// The path of the value being checked ("payload.interactive.buttons[1]"),
// for error messages and details.field.
class Path {
 public:
  explicit Path(std::string p) : p_(std::move(p)) {}
  Path operator/(std::string_view key) const {
    return Path(p_.empty() || p_.back() == '.' ? p_ + std::string(key) : p_ + "." + std::string(key));
  }
  Path operator[](size_t i) const { return Path(p_ + "[" + std::to_string(i) + "]"); }
  const std::string& str() const { return p_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::invalid_argument, "\"" + p_ + "\" " + what, {{"field", p_}});
  }

 private:
  std::string p_;
};

const json* find(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

const json& require_object(const json& v, const Path& at) {
  if (!v.is_object()) at.fail("must be an object");
  return v;
}

void allow_keys(const json& object, const Path& at, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : object.items()) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      (at / key).fail("is not a field of this message (allowed here: " + (list.empty() ? "none" : list) + ")");
    }
  }
}

// A string of 1..max characters (0.. with allow_empty), not blank.
std::string string_at(const json& v, const Path& at, size_t max_chars, bool allow_empty = false) {
  if (!v.is_string()) at.fail("must be a string");
  std::string s = v.get<std::string>();
  if (!allow_empty && (s.empty() || blank(s))) at.fail("must not be empty");
  if (utf8_length(s) > max_chars) at.fail("is longer than " + std::to_string(max_chars) + " characters");
  return s;
}

std::string required_string(const json& object, const char* key, const Path& at, size_t max_chars) {
  const json* v = find(object, key);
  if (!v) (at / key).fail("is required");
  return string_at(*v, at / key, max_chars);
}

std::optional<std::string> optional_string(const json& object, const char* key, const Path& at, size_t max_chars) {
  const json* v = find(object, key);
  if (!v) return std::nullopt;
  return string_at(*v, at / key, max_chars);
}

// A label given as a string or as {"text": "..."} (the Cloud API's body and
// footer) or {"type": "text", "text": "..."} (its header).
std::string label_at(const json& v, const Path& at, size_t max_chars) {
  if (v.is_object()) {
    for (const auto& [key, value] : v.items())
      if (key != "text" && !(key == "type" && value == "text")) (at / key).fail("is not supported (only a text)");
    const json* text = find(v, "text");
    if (!text) (at / "text").fail("is required");
    return string_at(*text, at / "text", max_chars);
  }
  return string_at(v, at, max_chars);
}

const json& array_at(const json& v, const Path& at, size_t min_items, size_t max_items) {
  if (!v.is_array()) at.fail("must be an array");
  if (v.size() < min_items)
    at.fail(min_items == 1 ? "must not be empty" : "needs at least " + std::to_string(min_items) + " items");
  if (v.size() > max_items) at.fail("may hold at most " + std::to_string(max_items) + " items");
  return v;
}

// ---- Types -----------------------------------------------------------------

json check_text(const MessageContent& m, const json& p, const Path& at) {
  allow_keys(p, at, {"preview_url"});
  if (m.text.empty() || blank(m.text)) Path("text").fail("must not be empty: a text message needs its text");
  if (utf8_length(m.text) > kMaxText) Path("text").fail("is longer than " + std::to_string(kMaxText) + " characters");
  json out = json::object();
  if (const json* v = find(p, "preview_url")) {
    if (!v->is_boolean()) (at / "preview_url").fail("must be true or false");
    out["preview_url"] = *v;
  }
  return out;
}

json check_media(const MessageContent& m, const json& p, const Path& at) {
  const bool captioned = m.type == "image" || m.type == "video" || m.type == "document";
  if (captioned)
    allow_keys(p, at, {"url", "media_id", "blob", "caption", "filename", "mime_type"});
  else
    allow_keys(p, at, {"url", "media_id", "blob", "filename", "mime_type"});
  json out = json::object();
  int sources = 0;
  if (const json* v = find(p, "url")) {
    ++sources;
    if (!v->is_string()) (at / "url").fail("must be a string");
    const std::string url = v->get<std::string>();
    if (!(starts_with_ascii_ci(url, "https://") || starts_with_ascii_ci(url, "http://")) || url.size() < 10)
      (at / "url").fail("must be an http:// or https:// address");
    if (url.size() > kMaxUrlBytes) (at / "url").fail("is longer than " + std::to_string(kMaxUrlBytes) + " bytes");
    if (url.find_first_of(" \t\r\n") != std::string::npos) (at / "url").fail("must not contain spaces");
    out["url"] = url;
  }
  if (const json* v = find(p, "media_id")) {
    ++sources;
    out["media_id"] = string_at(*v, at / "media_id", kMaxIdBytes);
  }
  if (const json* v = find(p, "blob")) {
    ++sources;
    if (!v->is_string()) (at / "blob").fail("must be a string");
    const std::string ref = v->get<std::string>();
    const std::string_view hex = std::string_view(ref).substr(std::min<size_t>(ref.size(), 5));
    if (ref.rfind("blob:", 0) != 0 || hex.size() != 64 ||
        !std::all_of(hex.begin(), hex.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
      (at / "blob").fail("must be a blob reference \"blob:<64 hex digits>\"");
    out["blob"] = ref;
  }
  if (sources == 0)
    (at / "url").fail("is required: a " + m.type + " message needs its media as \"url\", \"media_id\" or \"blob\"");
  if (sources > 1) (at / "url").fail("conflicts: give exactly one of \"url\", \"media_id\" and \"blob\"");

  if (captioned) {
    if (auto caption = optional_string(p, "caption", at, kMaxCaption)) {
      out["caption"] = *caption;
    } else if (!m.text.empty() && !blank(m.text)) {
      if (utf8_length(m.text) > kMaxCaption)
        Path("text").fail("is longer than " + std::to_string(kMaxCaption) + " characters, the limit of a caption");
      out["caption"] = m.text;
    }
  }
  if (auto filename = optional_string(p, "filename", at, kMaxFilename)) {
    if (filename->find_first_of("/\\") != std::string::npos) (at / "filename").fail("must be a name without a path");
    out["filename"] = *filename;
  }
  if (auto mime = optional_string(p, "mime_type", at, 100)) {
    if (mime->find('/') == std::string::npos) (at / "mime_type").fail("must be a MIME type like image/jpeg");
    out["mime_type"] = *mime;
  }
  return out;
}

double coordinate(const json& p, const char* key, const Path& at, double limit) {
  const json* v = find(p, key);
  if (!v) (at / key).fail("is required");
  if (!v->is_number()) (at / key).fail("must be a number");
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < -limit || d > limit)
    (at / key).fail("must be between -" + std::to_string(static_cast<int>(limit)) + " and " +
                    std::to_string(static_cast<int>(limit)));
  return d;
}

json check_location(const json& p, const Path& at) {
  allow_keys(p, at, {"latitude", "longitude", "name", "address"});
  json out = {{"latitude", coordinate(p, "latitude", at, 90)}, {"longitude", coordinate(p, "longitude", at, 180)}};
  if (auto name = optional_string(p, "name", at, 1000)) out["name"] = *name;
  if (auto address = optional_string(p, "address", at, 1000)) out["address"] = *address;
  return out;
}

json check_contacts(const json& p, const Path& at) {
  allow_keys(p, at, {"contacts"});
  const json* list = find(p, "contacts");
  if (!list) (at / "contacts").fail("is required: a contact message shares at least one contact");
  array_at(*list, at / "contacts", 1, kMaxContacts);
  json out = json::array();
  for (size_t i = 0; i < list->size(); ++i) {
    const Path ci = (at / "contacts")[i];
    const json& c = require_object((*list)[i], ci);
    allow_keys(c, ci, {"name", "phones", "emails", "organization"});
    json contact = {{"name", required_string(c, "name", ci, 256)}};
    auto entries = [&](const char* key, const char* value_key, size_t max_value) {
      const json* v = find(c, key);
      if (!v) return json(nullptr);
      array_at(*v, ci / key, 1, 20);
      json items = json::array();
      for (size_t j = 0; j < v->size(); ++j) {
        const Path ej = (ci / key)[j];
        const json& e = require_object((*v)[j], ej);
        allow_keys(e, ej, {value_key, "type"});
        json item = {{value_key, required_string(e, value_key, ej, max_value)}};
        if (auto type = optional_string(e, "type", ej, 20)) item["type"] = *type;
        items.push_back(std::move(item));
      }
      return items;
    };
    json phones = entries("phones", "phone", 40);
    json emails = entries("emails", "email", 320);
    if (phones.is_null() && emails.is_null()) (ci / "phones").fail("is required: a contact needs a phone or an email");
    if (!phones.is_null()) contact["phones"] = std::move(phones);
    if (!emails.is_null()) contact["emails"] = std::move(emails);
    if (auto org = optional_string(c, "organization", ci, 256)) contact["organization"] = *org;
    out.push_back(std::move(contact));
  }
  return {{"contacts", std::move(out)}};
}

json check_poll(const json& p, const Path& at) {
  allow_keys(p, at, {"poll"});
  const json* v = find(p, "poll");
  if (!v) (at / "poll").fail("is required: {\"question\", \"options\": [...], \"multiple\"}");
  const Path pa = at / "poll";
  const json& poll = require_object(*v, pa);
  allow_keys(poll, pa, {"question", "options", "multiple"});
  json out = {{"question", required_string(poll, "question", pa, 255)}};
  const json* options = find(poll, "options");
  if (!options) (pa / "options").fail("is required");
  array_at(*options, pa / "options", kMinPollOptions, kMaxPollOptions);
  std::set<std::string> seen;
  json list = json::array();
  for (size_t i = 0; i < options->size(); ++i) {
    std::string option = string_at((*options)[i], (pa / "options")[i], 100);
    if (!seen.insert(option).second) (pa / "options")[i].fail("repeats the option \"" + option + "\"");
    list.push_back(std::move(option));
  }
  out["options"] = std::move(list);
  bool multiple = false;
  if (const json* m = find(poll, "multiple")) {
    if (!m->is_boolean()) (pa / "multiple").fail("must be true or false");
    multiple = m->get<bool>();
  }
  out["multiple"] = multiple;
  return {{"poll", std::move(out)}};
}

// A button as {id, title} or the Cloud API's {type: "reply", reply: {id, title}}.
json check_button(const json& v, const Path& at, std::set<std::string>& ids) {
  const json* b = &require_object(v, at);
  Path bp = at;
  if (b->contains("reply")) {
    allow_keys(*b, at, {"type", "reply"});
    if (const json* t = find(*b, "type"); t && *t != "reply") (at / "type").fail("must be \"reply\"");
    bp = at / "reply";
    b = &require_object((*b)["reply"], bp);
  }
  allow_keys(*b, bp, {"id", "title"});
  json out = {{"id", required_string(*b, "id", bp, kMaxIdBytes)},
              {"title", required_string(*b, "title", bp, kMaxButtonTitle)}};
  if (!ids.insert(out["id"].get<std::string>()).second)
    (bp / "id").fail("repeats the id \"" + out["id"].get<std::string>() + "\"; each button needs its own");
  return out;
}

json check_interactive(const MessageContent& m, const json& p, const Path& at) {
  allow_keys(p, at, {"interactive"});
  const json* v = find(p, "interactive");
  if (!v) (at / "interactive").fail("is required: {\"type\": \"button\" | \"list\", \"body\", ...}");
  const Path ia = at / "interactive";
  const json& in = require_object(*v, ia);
  const std::string kind = required_string(in, "type", ia, 20);
  if (kind != "button" && kind != "list") (ia / "type").fail("must be \"button\" or \"list\"");

  // The Cloud API nests buttons, the list button and sections in "action".
  json flat = in;
  if (const json* action = find(in, "action")) {
    const json& a = require_object(*action, ia / "action");
    if (kind == "button")
      allow_keys(a, ia / "action", {"buttons"});
    else
      allow_keys(a, ia / "action", {"button", "sections"});
    for (const auto& [key, value] : a.items()) {
      if (in.contains(key)) (ia / key).fail("is given twice, here and in \"action\"");
      flat[key] = value;
    }
    flat.erase("action");
  }
  if (kind == "button")
    allow_keys(flat, ia, {"type", "body", "buttons", "header", "footer", "action"});
  else
    allow_keys(flat, ia, {"type", "body", "button", "sections", "header", "footer", "action"});

  json out = {{"type", kind}};
  if (const json* body = find(flat, "body")) {
    out["body"] = label_at(*body, ia / "body", kind == "button" ? kMaxCaption : kMaxText);
  } else if (!m.text.empty() && !blank(m.text)) {
    out["body"] = string_at(json(m.text), Path("text"), kind == "button" ? kMaxCaption : kMaxText);
  } else {
    (ia / "body").fail("is required: the message's text above the " + std::string(kind == "button" ? "buttons" : "list"));
  }
  if (const json* header = find(flat, "header")) out["header"] = label_at(*header, ia / "header", kMaxHeader);
  if (const json* footer = find(flat, "footer")) out["footer"] = label_at(*footer, ia / "footer", kMaxHeader);

  if (kind == "button") {
    const json* buttons = find(flat, "buttons");
    if (!buttons) (ia / "buttons").fail("is required: 1 to 3 buttons {\"id\", \"title\"}");
    array_at(*buttons, ia / "buttons", 1, kMaxButtons);
    std::set<std::string> ids;
    json list = json::array();
    for (size_t i = 0; i < buttons->size(); ++i) list.push_back(check_button((*buttons)[i], (ia / "buttons")[i], ids));
    out["buttons"] = std::move(list);
    return {{"interactive", std::move(out)}};
  }

  out["button"] = required_string(flat, "button", ia, kMaxButtonTitle);
  const json* sections = find(flat, "sections");
  if (!sections) (ia / "sections").fail("is required: [{\"title\", \"rows\": [{\"id\", \"title\"}]}]");
  array_at(*sections, ia / "sections", 1, kMaxListSections);
  std::set<std::string> ids;
  size_t rows_total = 0;
  json list = json::array();
  for (size_t i = 0; i < sections->size(); ++i) {
    const Path si = (ia / "sections")[i];
    const json& s = require_object((*sections)[i], si);
    allow_keys(s, si, {"title", "rows"});
    json section = json::object();
    if (auto title = optional_string(s, "title", si, kMaxRowTitle)) {
      section["title"] = *title;
    } else if (sections->size() > 1) {
      (si / "title").fail("is required when a list has more than one section");
    }
    const json* rows = find(s, "rows");
    if (!rows) (si / "rows").fail("is required");
    array_at(*rows, si / "rows", 1, kMaxListRows);
    json row_list = json::array();
    for (size_t j = 0; j < rows->size(); ++j) {
      const Path rj = (si / "rows")[j];
      const json& r = require_object((*rows)[j], rj);
      allow_keys(r, rj, {"id", "title", "description"});
      json row = {{"id", required_string(r, "id", rj, 200)}, {"title", required_string(r, "title", rj, kMaxRowTitle)}};
      if (auto d = optional_string(r, "description", rj, kMaxRowDescription)) row["description"] = *d;
      if (!ids.insert(row["id"].get<std::string>()).second)
        (rj / "id").fail("repeats the id \"" + row["id"].get<std::string>() + "\"; each row needs its own");
      row_list.push_back(std::move(row));
      if (++rows_total > kMaxListRows)
        rj.fail("is one row too many: a list holds at most " + std::to_string(kMaxListRows) +
                " rows in all its sections");
    }
    section["rows"] = std::move(row_list);
    list.push_back(std::move(section));
  }
  out["sections"] = std::move(list);
  return {{"interactive", std::move(out)}};
}

json check_reaction(const json& p, const Path& at) {
  allow_keys(p, at, {"reaction"});
  const json* v = find(p, "reaction");
  if (!v) (at / "reaction").fail("is required: {\"message_id\" or \"external_id\", \"emoji\"}");
  const Path ra = at / "reaction";
  const json& r = require_object(*v, ra);
  allow_keys(r, ra, {"message_id", "external_id", "emoji"});
  json out = json::object();
  auto id = optional_string(r, "message_id", ra, kMaxIdBytes);
  auto ext = optional_string(r, "external_id", ra, kMaxIdBytes);
  if (!id && !ext) (ra / "message_id").fail("is required: the message reacted to, by our id or its external_id");
  if (id) out["message_id"] = *id;
  if (ext) out["external_id"] = *ext;
  const json* emoji = find(r, "emoji");
  if (!emoji) (ra / "emoji").fail("is required (\"\" removes a reaction)");
  if (!emoji->is_string()) (ra / "emoji").fail("must be a string");
  const std::string e = emoji->get<std::string>();
  if (e.size() > kMaxEmojiBytes || utf8_length(e) > 10 || (!e.empty() && blank(e)))
    (ra / "emoji").fail("must be one emoji");
  out["emoji"] = e;
  return {{"reaction", std::move(out)}};
}

bool template_name_ok(std::string_view s) {
  return !s.empty() && s.size() <= 512 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// "en", "en_US", "pt_BR", "zh_HK", "es_419"...
bool language_ok(std::string_view s) {
  if (s.size() < 2 || s.size() > 16) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

json check_template(const json& p, const Path& at) {
  allow_keys(p, at, {"template"});
  const json* v = find(p, "template");
  if (!v) (at / "template").fail("is required: {\"name\", \"language\", \"parameters\" or \"components\"}");
  const Path ta = at / "template";
  const json& t = require_object(*v, ta);
  allow_keys(t, ta, {"name", "language", "components", "parameters"});
  const std::string name = required_string(t, "name", ta, 512);
  if (!template_name_ok(name)) (ta / "name").fail("must be a template name of lower-case letters, digits and _");
  json out = {{"name", name}};

  const json* lang = find(t, "language");
  if (!lang) (ta / "language").fail("is required, e.g. \"en_US\"");
  std::string code;
  if (lang->is_object()) {  // the Cloud API's {"code": "en_US", "policy": "deterministic"}
    allow_keys(*lang, ta / "language", {"code", "policy"});
    code = required_string(*lang, "code", ta / "language", 16);
  } else {
    code = string_at(*lang, ta / "language", 16);
  }
  if (!language_ok(code)) (ta / "language").fail("must be a language code like \"en\" or \"en_US\"");
  out["language"] = code;

  const json* components = find(t, "components");
  const json* parameters = find(t, "parameters");
  if (components && parameters)
    (ta / "parameters").fail("conflicts with \"components\": give the body's parameters or the full components");
  if (parameters) {
    const Path pp = ta / "parameters";
    if (parameters->is_array()) {
      array_at(*parameters, pp, 0, 100);
      for (size_t i = 0; i < parameters->size(); ++i) {
        const json& x = (*parameters)[i];
        if (!x.is_string() && !x.is_number()) pp[i].fail("must be a string or a number");
        if (x.is_string()) string_at(x, pp[i], 1024);
      }
    } else if (parameters->is_object()) {
      for (const auto& [key, x] : parameters->items()) {
        if (!x.is_string() && !x.is_number()) (pp / key).fail("must be a string or a number");
        if (x.is_string()) string_at(x, pp / key, 1024);
      }
    } else {
      pp.fail("must be an array of values ({{1}}, {{2}}, ...) or an object of named values");
    }
    out["parameters"] = *parameters;
  }
  if (components) {
    const Path cp = ta / "components";
    array_at(*components, cp, 1, 20);
    for (size_t i = 0; i < components->size(); ++i) {
      const Path ci = cp[i];
      const json& c = require_object((*components)[i], ci);
      const std::string type = required_string(c, "type", ci, 20);
      if (type != "header" && type != "body" && type != "button" && type != "footer")
        (ci / "type").fail("must be header, body, button or footer");
      if (const json* params = find(c, "parameters")) {
        array_at(*params, ci / "parameters", 0, 100);
        for (size_t j = 0; j < params->size(); ++j) {
          const json& x = require_object((*params)[j], (ci / "parameters")[j]);
          required_string(x, "type", (ci / "parameters")[j], 20);
        }
      }
    }
    out["components"] = *components;
  }
  return {{"template", std::move(out)}};
}

}  // namespace

MessageContent check_outgoing(const MessageContent& message, std::string_view field_prefix) {
  const std::string prefix(field_prefix);
  const Path at(prefix);
  if (!is_message_type(message.type))
    Path("type").fail("must be one of text, image, video, audio, document, sticker, location, contact, poll, "
                      "interactive, reaction, template (got \"" + message.type.substr(0, 32) + "\")");
  if (!message.payload.is_object())
    Path(prefix.empty() ? "message" : prefix.substr(0, prefix.size() - 1)).fail("must be an object");
  if (utf8_length(message.text) > kMaxText)
    Path("text").fail("is longer than " + std::to_string(kMaxText) + " characters");

  MessageContent out{message.type, message.text, json::object()};
  const json& p = message.payload;
  const std::string& t = message.type;
  if (t == "text") out.payload = check_text(message, p, at);
  else if (t == "image" || t == "video" || t == "audio" || t == "document" || t == "sticker")
    out.payload = check_media(message, p, at);
  else if (t == "location") out.payload = check_location(p, at);
  else if (t == "contact") out.payload = check_contacts(p, at);
  else if (t == "poll") out.payload = check_poll(p, at);
  else if (t == "interactive") out.payload = check_interactive(message, p, at);
  else if (t == "reaction") out.payload = check_reaction(p, at);
  else if (t == "template") out.payload = check_template(p, at);
  return out;
}

json check_outgoing_object(const json& message) {
  if (!message.is_object()) Path("message").fail("must be an object {\"type\", \"text\", ...}");
  MessageContent m;
  if (const json* type = find(message, "type")) {
    if (!type->is_string()) Path("type").fail("must be a string");
    m.type = type->get<std::string>();
  } else {
    m.type = "text";
  }
  if (const json* text = find(message, "text")) {
    if (!text->is_string()) Path("text").fail("must be a string");
    m.text = text->get<std::string>();
  }
  m.payload = message;
  m.payload.erase("type");
  m.payload.erase("text");
  MessageContent checked = check_outgoing(m, "");
  json out = checked.payload;
  out["type"] = checked.type;
  if (!checked.text.empty() || message.contains("text")) out["text"] = checked.text;
  return out;
}

bool channel_sends(const json& capabilities, std::string_view type) {
  const json* types = capabilities.is_object() ? find(capabilities, "message_types") : nullptr;
  if (!types || !types->is_array()) return type == "text";
  return std::any_of(types->begin(), types->end(), [&](const json& t) { return t.is_string() && t == type; });
}

void require_channel_sends(const json& capabilities, std::string_view type, std::string_view channel_name) {
  if (channel_sends(capabilities, type)) return;
  throw Error(ErrorCode::invalid_argument,
              "this channel does not send " + std::string(type) + " messages (" + std::string(channel_name) +
                  " lists what it sends in its capabilities' message_types)",
              {{"field", "type"}, {"reason", "unsupported"}});
}

void require_inside_window(const json& capabilities, std::string_view type, std::string_view kind) {
  if (type == "template" || kind != "cold") return;
  if (!capabilities.is_object() || capabilities.value("customer_service_window", false) != true) return;
  throw Error(ErrorCode::invalid_argument,
              "more than 24 hours since the contact last wrote: only an approved template may be sent",
              {{"field", "type"}, {"reason", "outside_24h_window"}});
}

}  // namespace sb::messaging
