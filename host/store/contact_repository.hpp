#pragma once
// Contacts: the people a workspace talks to, one per (workspace, E.164 phone).
//
// The free functions take a Connection so that services compose them inside
// one write job (or one read); ContactRepository wraps them over a Database
// for callers that need only one of them. Every lookup filters on the
// workspace. Phones must already be E.164 (messaging/phone.hpp).
#include "store/database.hpp"
#include "store/page.hpp"

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

// What search() keeps; every field set must match (nullopt: any).
struct ContactQuery {
  std::optional<std::string> phone_prefix;   // e.g. "+4930"
  std::optional<std::string> name_contains;  // case-insensitive for ASCII letters (SQLite's lower())
  std::optional<std::string> tag;            // carries this tag
  std::optional<bool> opted_out;
};

// The fields update() changes; nullopt leaves a field as it is.
struct ContactPatch {
  std::optional<std::string> name;
  std::optional<std::optional<std::string>> email;  // an inner nullopt clears it
  std::optional<nlohmann::json> tags;               // array of strings; replaces the tags
  std::optional<nlohmann::json> metadata;           // object; replaces the metadata
  std::optional<bool> opted_out;
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

// A workspace's contacts matching `q`, by (created_at, id) newest first.
// Throws sb::Error(invalid_argument) for a page limit outside 1..1000.
Page<Contact> search(Connection& c, const std::string& workspace_id, const ContactQuery& q, const PageRequest& page);

// Inserts `contact` (id "ct_..." generated when empty; created_at and
// updated_at = now; tags made unique, first occurrence kept). The phone
// must already be E.164: the api room normalizes it (the store does not
// know the messaging room) and this only checks that it starts with '+'.
// Throws sb::Error: invalid_argument for a phone without '+', tags that are
// not an array of non-empty strings or metadata that is not an object;
// not_found when the workspace is not in the contact's organization;
// conflict when the workspace has a contact with that phone (details:
// {"contact_id": the existing one}) or the id is taken.
Contact create(Connection& c, Contact contact, int64_t now);

// Applies `patch` (updated_at = now unless the patch is empty) and returns
// the contact as stored; nullopt when the workspace has no such contact.
// Throws sb::Error(invalid_argument) for tags or metadata of the wrong shape.
std::optional<Contact> update(Connection& c, const std::string& workspace_id, const std::string& id,
                              const ContactPatch& patch, int64_t now);

// Tags as a set in the order they were added: add_tags appends the ones
// the contact lacks, remove_tags drops the ones it has; updated_at = now
// only when the tags changed. False when the workspace has no such
// contact. Throws sb::Error(invalid_argument) for an empty tag.
bool add_tags(Connection& c, const std::string& workspace_id, const std::string& id,
              const std::vector<std::string>& tags, int64_t now);
bool remove_tags(Connection& c, const std::string& workspace_id, const std::string& id,
                 const std::vector<std::string>& tags, int64_t now);

// Deletes a contact that has never been in a conversation. One that has
// is refused with sb::Error(conflict): its conversations hold its messages
// and outbox rows, which are the workspace's history, so they are not
// deleted behind the caller's back (and contacts are not "soft" deleted
// either). Flow executions that name the contact without a conversation
// keep their step log and lose the link (contact_id NULL). False when the
// workspace has no such contact.
bool remove(Connection& c, const std::string& workspace_id, const std::string& id);

}  // namespace contacts

class ContactRepository {
 public:
  explicit ContactRepository(Database& db) : db_(db) {}
  std::optional<Contact> find(const std::string& workspace_id, const std::string& id);
  std::optional<Contact> find_by_phone(const std::string& workspace_id, const std::string& phone);
  contacts::Upserted upsert_seen(const ContactSighting& seen);
  std::vector<Contact> list(const std::string& workspace_id, int64_t limit = 100, int64_t offset = 0);
  int64_t count(const std::string& workspace_id);
  Page<Contact> search(const std::string& workspace_id, const ContactQuery& q, const PageRequest& page);
  Contact create(Contact contact);
  std::optional<Contact> update(const std::string& workspace_id, const std::string& id,
                                const ContactPatch& patch);
  bool add_tags(const std::string& workspace_id, const std::string& id, const std::vector<std::string>& tags);
  bool remove_tags(const std::string& workspace_id, const std::string& id, const std::vector<std::string>& tags);
  bool remove(const std::string& workspace_id, const std::string& id);

 private:
  Database& db_;
};

}  // namespace sb::store
