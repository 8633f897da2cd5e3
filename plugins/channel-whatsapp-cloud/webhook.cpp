#include "webhook.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace cloud {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw std::invalid_argument(where + ": " + what);
}

std::string hmac_sha256(std::string_view key, std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
            body.size(), digest, &len)) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(digest), len);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const json& member(const json& object, const char* name, const std::string& where) {
  if (!object.is_object()) bad(where, "must be an object");
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) bad(where, std::string("\"") + name + "\" is missing");
  return *it;
}

std::string string_member(const json& object, const char* name, const std::string& where) {
  const json& v = member(object, name, where);
  if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
    bad(where, std::string("\"") + name + "\" must be a non-empty string");
  }
  return v.get<std::string>();
}

std::string optional_string(const json& object, const char* name) {
  if (!object.is_object()) return {};
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Cloud API timestamps are unix seconds as strings.
int64_t timestamp_of(const json& object, const std::string& where) {
  auto it = object.find("timestamp");
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) bad(where, "\"timestamp\" must be unix seconds");
  const std::string& s = it->get_ref<const std::string&>();
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < 0) bad(where, "\"timestamp\" must be unix seconds");
  return v;
}

double number_member(const json& object, const char* name, const std::string& where) {
  const json& v = member(object, name, where);
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {  // some payloads quote coordinates
    char* end = nullptr;
    const std::string& s = v.get_ref<const std::string&>();
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0') return d;
  }
  bad(where, std::string("\"") + name + "\" must be a number");
}

// Copies the string fields `names` of `from` that are present.
json pick(const json& from, std::initializer_list<const char*> names) {
  json out = json::object();
  for (const char* n : names) {
    auto it = from.find(n);
    if (it != from.end() && !it->is_null()) out[n] = *it;
  }
  return out;
}

// The Cloud API's contact card -> the host's {name, phones, emails, organization}.
json host_contact(const json& card, const std::string& where) {
  if (!card.is_object()) bad(where, "must be an object");
  json out = json::object();
  const json* name = card.contains("name") ? &card["name"] : nullptr;
  std::string formatted;
  if (name && name->is_object()) {
    formatted = optional_string(*name, "formatted_name");
    if (formatted.empty()) {
      formatted = optional_string(*name, "first_name");
      const std::string last = optional_string(*name, "last_name");
      if (!last.empty()) formatted += (formatted.empty() ? "" : " ") + last;
    }
  } else if (name && name->is_string()) {
    formatted = name->get<std::string>();
  }
  out["name"] = formatted;
  json phones = json::array();
  if (auto p = card.find("phones"); p != card.end() && p->is_array()) {
    for (const auto& ph : *p) {
      if (!ph.is_object()) bad(where + ".phones", "must hold objects");
      json entry = pick(ph, {"phone", "type", "wa_id"});
      if (entry.contains("phone")) phones.push_back(std::move(entry));
    }
  }
  json emails = json::array();
  if (auto e = card.find("emails"); e != card.end() && e->is_array()) {
    for (const auto& em : *e) {
      if (!em.is_object()) bad(where + ".emails", "must hold objects");
      json entry = pick(em, {"email", "type"});
      if (entry.contains("email")) emails.push_back(std::move(entry));
    }
  }
  if (!phones.empty()) out["phones"] = std::move(phones);
  if (!emails.empty()) out["emails"] = std::move(emails);
  if (auto org = card.find("org"); org != card.end() && org->is_object()) {
    const std::string company = optional_string(*org, "company");
    if (!company.empty()) out["organization"] = company;
  }
  return out;
}

// The name and ids the change's contacts[] reports for `wa_id`.
struct ContactInfo {
  std::string name;
  std::string wa_id;
  std::string user_id;
};

ContactInfo contact_for(const json& value, const std::string& from, bool one_sender) {
  ContactInfo info;
  auto contacts = value.find("contacts");
  if (contacts == value.end() || !contacts->is_array()) return info;
  const json* chosen = nullptr;
  for (const auto& c : *contacts) {
    if (!c.is_object()) continue;
    if (optional_string(c, "wa_id") == from || optional_string(c, "user_id") == from) {
      chosen = &c;
      break;
    }
  }
  // `from` and wa_id may differ (e.g. a number that changed format): a
  // change whose messages all come from one sender and that names one
  // contact speaks for that one.
  if (!chosen && one_sender && contacts->size() == 1 && (*contacts)[0].is_object()) chosen = &(*contacts)[0];
  if (!chosen) return info;
  info.wa_id = optional_string(*chosen, "wa_id");
  info.user_id = optional_string(*chosen, "user_id");
  if (auto p = chosen->find("profile"); p != chosen->end() && p->is_object()) info.name = optional_string(*p, "name");
  return info;
}

InboundItem translate_message(const json& m, const json& value, bool one_sender, const std::string& where,
                              std::vector<std::string>& notes, bool& skip) {
  InboundItem item;
  const std::string id = string_member(m, "id", where);
  const std::string from = string_member(m, "from", where);
  const std::string type = string_member(m, "type", where);
  const ContactInfo contact = contact_for(value, from, one_sender);
  json e = json::object();
  e["external_id"] = id;
  // `from` is normally the sender's number; when it is not (a business-scoped
  // user id), the contact's wa_id is the number.
  const std::string digits_from = from.front() == '+' ? from.substr(1) : from;
  const bool from_is_phone = std::all_of(digits_from.begin(), digits_from.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  const bool wa_id_is_phone = !contact.wa_id.empty() && std::all_of(contact.wa_id.begin(), contact.wa_id.end(),
                                                                     [](char ch) { return ch >= '0' && ch <= '9'; });
  if (!from_is_phone && !wa_id_is_phone) {
    // The host files messages by phone: one it cannot attribute is noted
    // (and logged) rather than refusing the whole batch.
    notes.push_back("message " + id + " skipped: its sender " + from.substr(0, 64) + " has no phone number");
    skip = true;
    return item;
  }
  e["from"] = "+" + (from_is_phone ? digits_from : contact.wa_id);
  e["from_name"] = contact.name;
  e["timestamp"] = timestamp_of(m, where);
  e["wa_id"] = contact.wa_id.empty() ? from : contact.wa_id;
  json identities = json::array();
  identities.push_back({{"kind", "wa_id"}, {"value", e["wa_id"]}});
  if (!contact.user_id.empty()) identities.push_back({{"kind", "bsuid"}, {"value", contact.user_id}});
  if (!from_is_phone && from != contact.user_id) identities.push_back({{"kind", "bsuid"}, {"value", from}});
  else if (!contact.wa_id.empty() && contact.wa_id != from) identities.push_back({{"kind", "from"}, {"value", from}});
  e["identities"] = std::move(identities);
  for (const char* extra : {"context", "referral"}) {
    if (auto it = m.find(extra); it != m.end() && it->is_object()) e[extra] = *it;
  }
  const std::string at = where + "." + type;

  if (type == "text") {
    const json& t = member(m, "text", where);
    e["type"] = "text";
    e["text"] = string_member(t, "body", at);
  } else if (type == "image" || type == "video" || type == "audio" || type == "document" || type == "sticker") {
    const json& media = member(m, type.c_str(), where);
    item.media_id = string_member(media, "id", at);
    e["type"] = type;
    json md = pick(media, {"mime_type", "sha256", "filename", "voice", "animated"});
    md["media_id"] = item.media_id;
    e["media"] = std::move(md);
    const std::string caption = optional_string(media, "caption");
    if (!caption.empty()) {
      e["text"] = caption;
      e["caption"] = caption;
    }
  } else if (type == "location") {
    const json& loc = member(m, "location", where);
    json out = pick(loc, {"name", "address", "url"});
    out["latitude"] = number_member(loc, "latitude", at);
    out["longitude"] = number_member(loc, "longitude", at);
    e["type"] = "location";
    e["location"] = out;
    const std::string name = optional_string(loc, "name");
    if (!name.empty()) e["text"] = name;
  } else if (type == "contacts") {
    const json& cards = member(m, "contacts", where);
    if (!cards.is_array() || cards.empty()) bad(at, "must be a non-empty array");
    json out = json::array();
    for (size_t i = 0; i < cards.size(); ++i) {
      out.push_back(host_contact(cards[i], at + "[" + std::to_string(i) + "]"));
    }
    e["type"] = "contact";
    e["contacts"] = out;
    const std::string first = out[0].value("name", std::string());
    if (!first.empty()) e["text"] = first;
  } else if (type == "interactive") {
    const json& in = member(m, "interactive", where);
    const std::string kind = string_member(in, "type", at);
    if (kind != "button_reply" && kind != "list_reply" && kind != "nfm_reply") {
      bad(at, "\"type\" \"" + kind + "\" is not a known interactive reply");
    }
    json reply = json::object();
    reply["type"] = kind;
    if (kind == "nfm_reply") {
      const json& r = member(in, "nfm_reply", at);
      reply["response_json"] = optional_string(r, "response_json");
      reply["name"] = optional_string(r, "name");
      e["text"] = optional_string(r, "body");
    } else {
      const json& r = member(in, kind.c_str(), at);
      reply["id"] = string_member(r, "id", at + "." + kind);
      reply["title"] = optional_string(r, "title");
      if (kind == "list_reply") reply["description"] = optional_string(r, "description");
      e["text"] = reply["title"];
    }
    e["type"] = "interactive";
    e["interactive"] = std::move(reply);
  } else if (type == "button") {
    // A quick-reply button of a template.
    const json& b = member(m, "button", where);
    e["type"] = "interactive";
    e["interactive"] = {{"type", "button"}, {"payload", optional_string(b, "payload")}, {"title", optional_string(b, "text")}};
    e["text"] = optional_string(b, "text");
  } else if (type == "reaction") {
    const json& r = member(m, "reaction", where);
    const std::string target = string_member(r, "message_id", at);
    e["type"] = "reaction";
    // An empty emoji removes a reaction.
    e["reaction"] = {{"external_id", target}, {"emoji", optional_string(r, "emoji")}};
    const std::string emoji = optional_string(r, "emoji");
    if (!emoji.empty()) e["text"] = emoji;
  } else {
    // "unsupported", "system", "order", "request_welcome", ...: nothing the
    // host can show as a message. Noted, not refused (Meta would retry).
    std::string detail;
    if (auto errs = m.find("errors"); errs != m.end() && errs->is_array() && !errs->empty()) {
      detail = ": " + (*errs)[0].value("title", std::string());
    }
    notes.push_back("message " + id + " of type \"" + type + "\" skipped" + detail);
    skip = true;
  }
  if (e.contains("text") && e["text"].is_string() && e["text"].get_ref<const std::string&>().empty()) e.erase("text");
  item.event = std::move(e);
  return item;
}

json translate_status(const json& s, const std::string& where, bool& skip) {
  const std::string id = string_member(s, "id", where);
  const std::string status = string_member(s, "status", where);
  json e = {{"external_id", id}, {"status", status}, {"timestamp", timestamp_of(s, where)}};
  const std::string recipient = optional_string(s, "recipient_id");
  if (!recipient.empty()) e["recipient_id"] = recipient;
  // Our idempotency key, echoed from the send (cloud_channel.cpp).
  const std::string opaque = optional_string(s, "biz_opaque_callback_data");
  if (!opaque.empty()) e["idempotency_key"] = opaque;
  if (status == "failed") {
    std::string reason = "the WhatsApp Cloud API reported the message as failed";
    if (auto errs = s.find("errors"); errs != s.end() && errs->is_array() && !errs->empty() && (*errs)[0].is_object()) {
      const json& err = (*errs)[0];
      std::string title = optional_string(err, "title");
      if (title.empty()) title = optional_string(err, "message");
      std::string details;
      if (auto d = err.find("error_data"); d != err.end() && d->is_object()) details = optional_string(*d, "details");
      reason = title.empty() ? reason : title;
      if (err.contains("code") && err["code"].is_number_integer()) {
        reason += " (code " + std::to_string(err["code"].get<int64_t>()) + ")";
        e["error_code"] = err["code"];
      }
      if (!details.empty() && details != title) reason += ": " + details;
    }
    e["error"] = reason;
  } else if (status != "sent" && status != "delivered" && status != "read") {
    skip = true;  // "played" (voice notes), "deleted", ...: no host status
  }
  return e;
}

}  // namespace

bool signature_valid(std::string_view app_secret, std::string_view body, std::string_view header) {
  constexpr std::string_view prefix = "sha256=";
  if (app_secret.empty() || header.size() != prefix.size() + 64 || header.substr(0, prefix.size()) != prefix) {
    return false;
  }
  unsigned char given[32];
  for (size_t i = 0; i < 32; ++i) {
    const int hi = hex_value(header[prefix.size() + 2 * i]);
    const int lo = hex_value(header[prefix.size() + 2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    given[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  const std::string expected = hmac_sha256(app_secret, body);
  if (expected.size() != 32) return false;
  return CRYPTO_memcmp(given, expected.data(), 32) == 0;
}

std::string signature_header(std::string_view app_secret, std::string_view body) {
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned char c : hmac_sha256(app_secret, body)) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0xF]);
  }
  return out;
}

Notification parse_notification(const json& body, const std::string& phone_number_id) {
  Notification n;
  if (!body.is_object()) bad("the notification", "must be a JSON object");
  const std::string object = optional_string(body, "object");
  if (object != "whatsapp_business_account") {
    bad("\"object\"", "must be \"whatsapp_business_account\" (got \"" + object.substr(0, 64) + "\")");
  }
  const json& entries = member(body, "entry", "the notification");
  if (!entries.is_array()) bad("\"entry\"", "must be an array");
  for (size_t ei = 0; ei < entries.size(); ++ei) {
    const std::string ew = "entry[" + std::to_string(ei) + "]";
    const json& changes = member(entries[ei], "changes", ew);
    if (!changes.is_array()) bad(ew + ".changes", "must be an array");
    for (size_t ci = 0; ci < changes.size(); ++ci) {
      const std::string cw = ew + ".changes[" + std::to_string(ci) + "]";
      const json& change = changes[ci];
      const std::string field = optional_string(change, "field");
      if (field != "messages") {
        n.notes.push_back(cw + ": field \"" + field + "\" ignored");
        continue;
      }
      const json& value = member(change, "value", cw);
      const std::string vw = cw + ".value";
      const std::string pid = optional_string(member(value, "metadata", vw), "phone_number_id");
      if (pid != phone_number_id) {
        n.notes.push_back(cw + ": for phone number id " + pid.substr(0, 32) + ", not this profile's; skipped");
        continue;
      }
      if (auto ms = value.find("messages"); ms != value.end()) {
        if (!ms->is_array()) bad(vw + ".messages", "must be an array");
        std::string first_from;
        bool one_sender = true;
        for (const auto& msg : *ms) {
          const std::string f = optional_string(msg, "from");
          if (first_from.empty()) first_from = f;
          else if (f != first_from) one_sender = false;
        }
        for (size_t mi = 0; mi < ms->size(); ++mi) {
          bool skip = false;
          InboundItem item = translate_message((*ms)[mi], value, one_sender,
                                               vw + ".messages[" + std::to_string(mi) + "]", n.notes, skip);
          if (!skip) n.messages.push_back(std::move(item));
        }
      }
      if (auto ss = value.find("statuses"); ss != value.end()) {
        if (!ss->is_array()) bad(vw + ".statuses", "must be an array");
        for (size_t si = 0; si < ss->size(); ++si) {
          bool skip = false;
          json st = translate_status((*ss)[si], vw + ".statuses[" + std::to_string(si) + "]", skip);
          if (!skip) n.statuses.push_back(std::move(st));
        }
      }
      if (auto errs = value.find("errors"); errs != value.end() && errs->is_array()) {
        for (const auto& err : *errs) {
          n.notes.push_back(cw + ": the Cloud API reported an error: " + optional_string(err, "title") + " (code " +
                            (err.contains("code") ? err["code"].dump() : std::string("?")) + ")");
        }
      }
    }
  }
  return n;
}

}  // namespace cloud
