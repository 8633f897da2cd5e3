// cpp-memory-crm: a Switchboard CRM connector in C++ with plugin.hpp — one
// class and one macro. Contacts live in memory, keyed by phone number or
// email; nothing survives a restart (a real connector would call its CRM's
// API through host().http()).
//
//   upsert_contact {"phone": "+15551234567", "name": "Ana", "email": ..., "tags": [...]}
//                  -> {"external_id": "mem-1", "created": true}
//   find_contact   {"phone": "..."} or {"email": "..."} -> {"contacts": [...]}
//   GET /hooks/cpp-memory-crm/<instance>/contacts -> {"contacts": [...]}
//
// Exceptions never cross the boundary: plugin.hpp turns switchboard::Error
// into its status code plus set_error, and anything else into
// SB_ERR_INTERNAL with the exception's message.
#include <switchboard/plugin.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace {

using nlohmann::json;
using switchboard::Error;

json parse_object(std::string_view text, const char* what) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw Error(SB_ERR_INVALID_ARGUMENT, std::string(what) + " must be a JSON object");
  return j;
}

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class MemoryCrm final : public switchboard::Crm {
 public:
  MemoryCrm(switchboard::Host host, std::string_view config_json) : Crm(host) {
    json config = parse_object(config_json, "the config");  // validated by the host, defaults filled
    max_contacts_ = config.value("max_contacts", std::size_t{10000});
    route("GET", "contacts", [this](const switchboard::Request&, switchboard::Response& resp) {
      resp.json(200, json{{"contacts", all_contacts()}}.dump());
    });
  }

  std::string upsert_contact(std::string_view contact_json) override {
    json contact = parse_object(contact_json, "a contact");
    const std::string phone = string_field(contact, "phone");
    const std::string email = string_field(contact, "email");
    if (phone.empty() && email.empty()) {
      throw Error(SB_ERR_INVALID_ARGUMENT, "a contact needs a \"phone\" or an \"email\"");
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::string id = find_id_locked(phone, email);
    const bool created = id.empty();
    if (created) {
      if (contacts_.size() >= max_contacts_) {
        throw Error(SB_ERR_BUSY, "the in-memory CRM is full (max_contacts = " + std::to_string(max_contacts_) + ")");
      }
      id = "mem-" + std::to_string(++next_id_);
      contacts_[id] = json::object();
    }
    json& stored = contacts_[id];
    stored.update(contact);  // fields given now win; others are kept
    stored["external_id"] = id;
    if (!phone.empty()) by_phone_[phone] = id;
    if (!email.empty()) by_email_[email] = id;
    return json{{"external_id", id}, {"created", created}}.dump();
  }

  std::string find_contact(std::string_view query_json) override {
    json query = parse_object(query_json, "a query");
    const std::string phone = string_field(query, "phone");
    const std::string email = string_field(query, "email");
    if (phone.empty() && email.empty()) throw Error(SB_ERR_INVALID_ARGUMENT, "search by \"phone\" or \"email\"");
    json found = json::array();
    std::lock_guard<std::mutex> lock(mu_);
    const std::string id = find_id_locked(phone, email);
    if (!id.empty()) found.push_back(contacts_.at(id));
    return json{{"contacts", found}}.dump();
  }

 private:
  std::string find_id_locked(const std::string& phone, const std::string& email) const {
    if (auto it = by_phone_.find(phone); !phone.empty() && it != by_phone_.end()) return it->second;
    if (auto it = by_email_.find(email); !email.empty() && it != by_email_.end()) return it->second;
    return {};
  }

  json all_contacts() {
    std::lock_guard<std::mutex> lock(mu_);
    json out = json::array();
    for (const auto& [id, contact] : contacts_) out.push_back(contact);
    return out;
  }

  std::size_t max_contacts_ = 10000;
  std::mutex mu_;  // guards everything below: the host calls from several threads
  std::uint64_t next_id_ = 0;
  std::map<std::string, json> contacts_;  // external id -> contact
  std::map<std::string, std::string> by_phone_, by_email_;
};

}  // namespace

SWITCHBOARD_CRM_PLUGIN(MemoryCrm, "cpp-memory-crm", "1.0.0")
