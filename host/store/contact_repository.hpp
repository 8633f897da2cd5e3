#pragma once
// Contacts: the people a workspace talks to, one per (workspace, E.164 phone).
//
// The free functions take a Connection so that services compose them inside
// one write job (or one read); ContactRepository wraps them over a Database
// for callers that need only one of them. Every lookup filters on the
// workspace. Phones must already be E.164 (messaging/phone.hpp).
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::store {

struct Contact {
  std::string id;
  std::string organization_id;
  std::string workspace_id;
  std::string phone;  // E.164
  std::optional<std::string> wa_id;
  std::string name;
  std::optional<std::string> email;
  nlohmann::json tags = nlohmann::json::array();
  nlohmann::json metadata = nlohmann::json::object();
  bool opted_out = false;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// {"id","organization_id","workspace_id","phone","wa_id","name","email",
//  "tags","metadata","opted_out","created_at","updated_at"}
nlohmann::json to_json(const Contact& contact);

// What an inbound message tells us about its sender.
struct ContactSighting {
  std::string organization_id;
  std::string workspace_id;
  std::string phone;  // E.164
  std::string name;   // may be empty
  std::optional<std::string> wa_id;
};

namespace contacts {

std::optional<Contact> find(Connection& c, const std::string& workspace_id, const std::string& id);
std::optional<Contact> find_by_phone(Connection& c, const std::string& workspace_id, const std::string& phone);

struct Upserted {
  Contact contact;
  bool created = false;
};
// The contact for (workspace, phone), inserted when new. An existing
// contact keeps the name an admin gave it; an empty name (or wa_id) is
// filled from the sighting.
Upserted upsert_seen(Connection& c, const ContactSighting& seen, int64_t now);

// Newest first.
std::vector<Contact> list(Connection& c, const std::string& workspace_id, int64_t limit = 100, int64_t offset = 0);
int64_t count(Connection& c, const std::string& workspace_id);

}  // namespace contacts

class ContactRepository {
 public:
  explicit ContactRepository(Database& db) : db_(db) {}
  std::optional<Contact> find(const std::string& workspace_id, const std::string& id);
  std::optional<Contact> find_by_phone(const std::string& workspace_id, const std::string& phone);
  contacts::Upserted upsert_seen(const ContactSighting& seen);
  std::vector<Contact> list(const std::string& workspace_id, int64_t limit = 100, int64_t offset = 0);
  int64_t count(const std::string& workspace_id);

 private:
  Database& db_;
};

}  // namespace sb::store
