#pragma once
// Contacts: the people a workspace talks to, one per (workspace, E.164 phone).
// Tags are kept twice: contacts.tags_json (the order they were added, what
// the API shows) and contact_tags (one row per tag, kept by triggers of
// migration 008), which tag queries and audiences read. Alternate ids the
// channels report live in contact_identities.
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
  std::optional<int64_t> opted_out_at;        // set while opted out
  std::optional<std::string> opt_out_reason;  // "keyword:STOP", "api", "import", ...
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// {"id","organization_id","workspace_id","phone","wa_id","name","email",
//  "tags","metadata","opted_out","opted_out_at","opt_out_reason",
//  "created_at","updated_at"}
nlohmann::json to_json(const Contact& contact);

// What an inbound message tells us about its sender.
struct ContactSighting {
  std::string organization_id;
  std::string workspace_id;
  std::string phone;  // E.164
  std::string name;   // may be empty
  std::optional<std::string> wa_id;
};

// A boolean query over a contact's tags: "tag:vip AND NOT tag:churned".
// A leaf (op tag) is "carries `tag`"; all_of with no operands matches every
// contact, any_of with none matches no one. Built by hand or parsed from
// text by messaging::parse_tag_query (messaging/contacts_tag_query.hpp).
struct TagQuery {
  enum class Op { tag, all_of, any_of, negate };
  Op op = Op::all_of;
  std::string tag;                 // op == tag
  std::vector<TagQuery> operands;  // all_of / any_of: any number; negate: one

  static TagQuery everyone() { return {}; }
  static TagQuery has(std::string tag) { return {Op::tag, std::move(tag), {}}; }
  static TagQuery all(std::vector<TagQuery> operands) { return {Op::all_of, "", std::move(operands)}; }
  static TagQuery any(std::vector<TagQuery> operands) { return {Op::any_of, "", std::move(operands)}; }
  static TagQuery negation(TagQuery operand) { return {Op::negate, "", {std::move(operand)}}; }
  static TagQuery all_tags(const std::vector<std::string>& tags);  // carries every one
  static TagQuery any_tag(const std::vector<std::string>& tags);   // carries at least one
};

// "tag:vip AND NOT tag:churned": the query in the syntax parse_tag_query reads.
std::string to_string(const TagQuery& q);

// What search() keeps; every field set must match (nullopt: any).
struct ContactQuery {
  std::optional<std::string> phone_prefix;   // e.g. "+4930"
  std::optional<std::string> name_contains;  // case-insensitive for ASCII letters (SQLite's lower())
  std::optional<std::string> tag;            // carries this tag
  std::optional<TagQuery> tags;              // matches this tag query
  std::optional<std::string> text;           // in the name, phone or email (case-insensitive for ASCII)
  std::optional<bool> opted_out;
};

// The fields update() changes; nullopt leaves a field as it is.
struct ContactPatch {
  std::optional<std::string> name;
  std::optional<std::optional<std::string>> email;  // an inner nullopt clears it
  std::optional<nlohmann::json> tags;               // array of strings; replaces the tags
  std::optional<nlohmann::json> metadata;           // object; replaces the metadata
  std::optional<bool> opted_out;
  std::optional<std::string> opt_out_reason;  // with opted_out = true (default "api")
};

// An import's or a caller's "this person, with these fields" for
// upsert_by_phone. Only what is set is written: an existing contact keeps
// a name, email or metadata key the input does not give, and tags are
// added, never removed (an import cannot silently erase what it does not
// mention).
struct ContactUpsert {
  std::string organization_id;
  std::string workspace_id;
  std::string phone;  // E.164
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::vector<std::string> tags;                         // added
  nlohmann::json metadata = nlohmann::json::object();    // keys set
};

// An id a channel reports for a contact besides the phone (migration 008).
struct ContactIdentity {
  std::string contact_id;
  std::string channel;     // the channel plugin, e.g. "channel-whatsapp-cloud"
  std::string profile_id;  // "" unless the id is meaningful to one profile only
  std::string kind;        // "wa_id", "bsuid", "lid", ...
  std::string value;
  int64_t created_at = 0;
};
// {"channel","profile_id","kind","value","created_at"}
nlohmann::json to_json(const ContactIdentity& identity);

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

struct UpsertResult {
  Contact contact;
  bool created = false;
  bool changed = false;  // created, or an existing contact's fields changed
};
// The contact for (workspace, phone) with `in` applied (see ContactUpsert);
// created when new. Throws
// sb::Error(invalid_argument) for an empty tag, metadata that is not an
// object, or a phone without '+'; not_found for a workspace outside the
// organization (checked only when a contact is created).
UpsertResult upsert_by_phone(Connection& c, const ContactUpsert& in, int64_t now);

// Opt-out and back: opted_out, opted_out_at = now and the reason are set
// (cleared by opt_in). nullopt when the workspace has no such contact;
// `changed` is false when it already was in that state (its opted_out_at
// and reason are then kept: the first opt-out is the one that counts).
struct OptChange {
  Contact contact;
  bool changed = false;
};
std::optional<OptChange> opt_out(Connection& c, const std::string& workspace_id, const std::string& id,
                                 const std::string& reason, int64_t now);
std::optional<OptChange> opt_in(Connection& c, const std::string& workspace_id, const std::string& id, int64_t now);
// For the outbox: whether the contact (ids are unique across workspaces)
// has opted out; false for an unknown id.
bool is_opted_out(Connection& c, const std::string& contact_id);

// Audiences for campaigns: the workspace's contacts matching `q`, by id
// ascending after `after_id` ("" for the first page), at most `limit`
// (1..10000). Opted-out contacts are left out unless `include_opted_out`.
// Throws sb::Error(invalid_argument) for a query deeper than 16 levels or
// with more than 100 tags, or a bad limit.
std::vector<Contact> contacts_matching(Connection& c, const std::string& workspace_id, const TagQuery& q,
                                       const std::string& after_id, int64_t limit, bool include_opted_out = false);
int64_t count_matching(Connection& c, const std::string& workspace_id, const TagQuery& q,
                       bool include_opted_out = false);

// Alternate ids. add_identity records `identity` for its contact (a no-op
// returning false when that contact already has it); sb::Error(conflict)
// when the id belongs to another contact of the workspace (details:
// {"contact_id": that one}), not_found when the contact is not in the
// workspace. find_by_identity: the contact with that id, if any.
bool add_identity(Connection& c, const std::string& workspace_id, const ContactIdentity& identity, int64_t now);
std::optional<Contact> find_by_identity(Connection& c, const std::string& workspace_id, const std::string& channel,
                                        const std::string& profile_id, const std::string& kind,
                                        const std::string& value);
std::vector<ContactIdentity> identities(Connection& c, const std::string& workspace_id, const std::string& contact_id);

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
