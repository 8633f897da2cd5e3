// Contacts of a workspace (/api/v1/workspaces/:workspace_id/contacts):
// search, create, read, edit, delete, and their tags as a set.
//
// Every change is published on the bus once committed: contact.created,
// contact.updated, contact.deleted, and contact.tagged for each tag a
// contact gains here, so that flows with an event trigger on a tag run for
// tags people add just as for tags flows add.
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "messaging/phone.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"

#include <algorithm>

namespace sb::api {
namespace {

using nlohmann::json;
using tenancy::Permission;

constexpr size_t kMaxTags = 50;
constexpr size_t kMaxTagLength = 100;
constexpr size_t kMaxMetadataBytes = 16 * 1024;
constexpr size_t kMaxNameLength = 200;

Error bad(const char* field, const std::string& message) {
  return Error(ErrorCode::invalid_argument, message, {{"field", field}});
}

Error contact_not_found(const std::string& id) {
  return Error(ErrorCode::not_found, "contact " + id + " not found in this workspace", {{"field", "contact_id"}});
}

// ?phone= is a prefix of E.164 numbers. phone.hpp knows only whole numbers
// (8 to 15 digits), so the prefix is padded with zeros to a whole number's
// length, normalized by the same rules as stored phones (which separators,
// where "+" may be), and the padding cut off again. A missing "+" is added:
// an unencoded "+" in a query string arrives as a space.
std::string phone_prefix(const std::string& typed) {
  const Error invalid =
      bad("phone", "\"phone\" must be the start of a phone number in E.164 form, such as +4930 (got \"" +
                       typed.substr(0, 40) + "\")");
  const auto digits =
      static_cast<size_t>(std::count_if(typed.begin(), typed.end(), [](char c) { return c >= '0' && c <= '9'; }));
  if (digits == 0) throw invalid;
  const auto first = typed.find_first_not_of(" \t-()");
  std::string whole = (first != std::string::npos && typed[first] == '+') ? typed : "+" + typed;
  const size_t padding = digits < 8 ? 8 - digits : 0;
  whole.append(padding, '0');
  const auto normalized = messaging::try_normalize_phone(whole);
  if (!normalized) throw invalid;
  return normalized->substr(0, normalized->size() - padding);
}

// The phone of a new contact in E.164, or invalid_argument naming "phone".
std::string contact_phone(const json& body) {
  const std::string typed = required_string(body, "phone", 40);
  try {
    return messaging::normalize_phone(typed, "phone");
  } catch (const Error& e) {
    throw Error(e.code(), e.what(), {{"field", "phone"}});
  }
}

std::optional<bool> bool_query(const Call& call, const char* name) {
  const auto text = call.query(name);
  if (!text || text->empty()) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  throw bad(name, std::string("\"") + name + "\" must be true or false");
}

// A non-empty filter value of at most `max` characters, if given.
std::optional<std::string> text_query(const Call& call, const char* name, size_t max) {
  auto text = call.query(name);
  if (!text || text->empty()) return std::nullopt;
  if (text->size() > max)
    throw bad(name, std::string("\"") + name + "\" is longer than " + std::to_string(max) + " characters");
  return text;
}

// A basic shape check (one "@", a dot in the domain, no spaces): whether
// the mailbox exists is not ours to know.
bool plausible_email(const std::string& email) {
  const auto at = email.find('@');
  if (at == std::string::npos || at == 0 || at > 64 || email.find('@', at + 1) != std::string::npos) return false;
  const std::string domain = email.substr(at + 1);
  const auto dot = domain.find('.');
  if (dot == std::string::npos || dot == 0 || domain.back() == '.' || domain.find("..") != std::string::npos)
    return false;
  return std::none_of(email.begin(), email.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

// "email": a string, or null (no email).
std::optional<std::string> email_field(const json& body) {
  auto email = optional_string(body, "email", 254);
  if (email && !plausible_email(*email))
    throw bad("email", "\"email\" must be an email address such as ana@example.com");
  return email;
}

// "tags": an array of at most kMaxTags strings of 1..kMaxTagLength
// characters (null: none); nullopt when absent.
std::optional<json> tags_field(const json& body) {
  if (!body.contains("tags")) return std::nullopt;
  return json(optional_string_array(body, "tags", kMaxTags, kMaxTagLength));
}

// "metadata": an object of at most kMaxMetadataBytes as JSON (null: empty);
// nullopt when absent. The limit keeps one contact from filling the
// database (and every page of contacts) with one caller's blobs.
std::optional<json> metadata_field(const json& body) {
  if (!body.contains("metadata")) return std::nullopt;
  json metadata = optional_object(body, "metadata");
  if (metadata.is_null()) return json::object();
  if (metadata.dump().size() > kMaxMetadataBytes)
    throw bad("metadata", "\"metadata\" is larger than " + std::to_string(kMaxMetadataBytes / 1024) +
                              " KiB as JSON");
  return metadata;
}

store::Contact find_contact(store::Connection& c, const store::Workspace& ws, const std::string& id) {
  auto contact = store::contacts::find(c, ws.id, id);
  if (!contact) throw contact_not_found(id);
  return *contact;
}

// The tags of `after` that `before` lacked (before may be empty: a new contact).
std::vector<std::string> gained_tags(const json& before, const json& after) {
  std::vector<std::string> out;
  for (const auto& t : after)
    if (t.is_string() && std::find(before.begin(), before.end(), t) == before.end())
      out.push_back(t.get<std::string>());
  return out;
}

// Whether an edit left the contact as it was (updated_at aside: two edits
// may fall in one millisecond).
bool same_content(const store::Contact& a, const store::Contact& b) {
  return a.name == b.name && a.email == b.email && a.tags == b.tags && a.metadata == b.metadata &&
         a.opted_out == b.opted_out;
}

// The conversation a flow started by a tag runs in: the contact's most
// recently changed open (else pending) one, if any. Without one the flow
// still runs, without a conversation (as a flow run by a webhook).
std::optional<store::Conversation> active_conversation(store::Connection& c, const store::Workspace& ws,
                                                       const std::string& contact_id) {
  store::PageRequest one;
  one.limit = 1;
  for (const char* status : {"open", "pending"}) {
    store::ConversationQuery q;
    q.contact_id = contact_id;
    q.status = status;
    auto page = store::conversations::search(c, ws.id, q, one);
    if (!page.items.empty()) return page.items.front();
  }
  return std::nullopt;
}

// What a write job hands back for publishing after the commit.
struct Changed {
  store::Contact contact;
  std::vector<std::string> gained;  // tags the contact did not have before
  std::optional<store::Conversation> conversation;  // for contact.tagged, when tags were gained
  bool changed = true;
};

void publish(ApiServices& s, const char* type, const std::string& workspace_id, json data) {
  s.bus.publish(Event{type, workspace_id, "", std::move(data), now_ms()});
}

// contact.tagged as the flow runtime publishes it ({"contact_id",
// "conversation_id", "tag", "depth"}); depth 0: no flow caused it.
void publish_tagged(ApiServices& s, const Changed& ch) {
  for (const auto& tag : ch.gained) {
    s.bus.publish(Event{"contact.tagged", ch.contact.workspace_id, ch.conversation ? ch.conversation->profile_id : "",
                        {{"contact_id", ch.contact.id},
                         {"conversation_id", ch.conversation ? ch.conversation->id : ""},
                         {"tag", tag},
                         {"depth", 0}},
                        now_ms()});
  }
}

}  // namespace

void register_contact_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();
  const std::string base = "/api/v1/workspaces/:workspace_id/contacts";
  const std::string item = base + "/:contact_id";

  routes.get(base, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({"phone", "name", "tag", "opted_out"});
    const auto page = call.page();
    store::ContactQuery q;
    if (auto phone = text_query(call, "phone", 40)) q.phone_prefix = phone_prefix(*phone);
    q.name_contains = text_query(call, "name", kMaxNameLength);
    q.tag = text_query(call, "tag", kMaxTagLength);
    q.opted_out = bool_query(call, "opted_out");
    return page_response(s.db.read([&](store::Connection& c) { return store::contacts::search(c, ws.id, q, page); }),
                         [](const store::Contact& ct) { return store::to_json(ct); });
  });

  routes.post(base, [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_fields({"phone", "name", "email", "wa_id", "tags", "metadata", "opted_out"});
    const json& body = call.body();
    store::Contact contact;
    contact.organization_id = ws.organization_id;
    contact.workspace_id = ws.id;
    contact.phone = contact_phone(body);
    contact.name = optional_string(body, "name", kMaxNameLength).value_or("");
    contact.email = email_field(body);
    contact.wa_id = optional_string(body, "wa_id", 100);
    if (contact.wa_id && contact.wa_id->empty()) contact.wa_id.reset();
    contact.tags = tags_field(body).value_or(json::array());
    contact.metadata = metadata_field(body).value_or(json::object());
    contact.opted_out = optional_bool(body, "opted_out").value_or(false);
    Changed ch;
    // A conflict on the phone comes from the store with the existing
    // contact's id in details.contact_id.
    ch.contact = s.db.write([&](store::Connection& c) { return store::contacts::create(c, contact, now_ms()); });
    ch.gained = gained_tags(json::array(), ch.contact.tags);
    publish(s, "contact.created", ws.id, store::to_json(ch.contact));
    publish_tagged(s, ch);
    return created(store::to_json(ch.contact));
  });

  routes.get(item, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    const std::string id = call.param("contact_id");
    return ok(store::to_json(s.db.read([&](store::Connection& c) { return find_contact(c, ws, id); })));
  });

  routes.patch(item, [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_fields({"name", "email", "tags", "metadata", "opted_out"});
    const json& body = call.body();
    store::ContactPatch patch;
    // null clears a name or an email (a contact's name may be empty, as
    // one first seen without a profile name).
    if (body.contains("name")) patch.name = optional_string(body, "name", kMaxNameLength).value_or("");
    if (body.contains("email")) patch.email = email_field(body);
    patch.tags = tags_field(body);
    patch.metadata = metadata_field(body);
    patch.opted_out = optional_bool(body, "opted_out");
    const std::string id = call.param("contact_id");
    const Changed ch = s.db.write([&](store::Connection& c) {
      Changed out;
      const store::Contact before = find_contact(c, ws, id);
      out.contact = *store::contacts::update(c, ws.id, id, patch, now_ms());
      out.changed = !same_content(before, out.contact);
      out.gained = gained_tags(before.tags, out.contact.tags);
      if (!out.gained.empty()) out.conversation = active_conversation(c, ws, id);
      return out;
    });
    if (ch.changed) publish(s, "contact.updated", ws.id, store::to_json(ch.contact));
    publish_tagged(s, ch);
    return ok(store::to_json(ch.contact));
  });

  routes.del(item, [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    const std::string id = call.param("contact_id");
    // The store refuses (conflict) a contact that has conversations.
    if (!s.db.write([&](store::Connection& c) { return store::contacts::remove(c, ws.id, id); }))
      throw contact_not_found(id);
    call.audit("contact.deleted", ws.organization_id, ws.id, "contact", id);
    publish(s, "contact.deleted", ws.id, {{"id", id}});
    return no_content();
  });

  routes.post(item + "/tags", [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_fields({"tags"});
    const json& body = call.body();
    if (!body.contains("tags") || body["tags"].is_null())
      throw bad("tags", "\"tags\" is required: an array of the tags to add");
    const auto tags = optional_string_array(body, "tags", kMaxTags, kMaxTagLength);
    if (tags.empty()) throw bad("tags", "\"tags\" must name at least one tag");
    const std::string id = call.param("contact_id");
    const Changed ch = s.db.write([&](store::Connection& c) {
      Changed out;
      const store::Contact before = find_contact(c, ws, id);
      json merged = before.tags;
      for (const auto& t : tags)
        if (std::find(merged.begin(), merged.end(), t) == merged.end()) merged.push_back(t);
      if (merged.size() > kMaxTags)
        throw bad("tags", "a contact holds at most " + std::to_string(kMaxTags) + " tags; it has " +
                              std::to_string(before.tags.size()));
      store::contacts::add_tags(c, ws.id, id, tags, now_ms());
      out.contact = find_contact(c, ws, id);
      out.gained = gained_tags(before.tags, out.contact.tags);
      out.changed = !out.gained.empty();
      if (out.changed) out.conversation = active_conversation(c, ws, id);
      return out;
    });
    if (ch.changed) publish(s, "contact.updated", ws.id, store::to_json(ch.contact));
    publish_tagged(s, ch);
    return ok(store::to_json(ch.contact));
  });

  routes.del(item + "/tags/:tag", [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    const std::string id = call.param("contact_id");
    const std::string tag = call.param("tag");
    // Removing a tag the contact does not have is not an error: the
    // contact ends up without it either way.
    const Changed ch = s.db.write([&](store::Connection& c) {
      Changed out;
      const store::Contact before = find_contact(c, ws, id);
      store::contacts::remove_tags(c, ws.id, id, {tag}, now_ms());
      out.contact = find_contact(c, ws, id);
      out.changed = out.contact.tags != before.tags;
      return out;
    });
    if (ch.changed) publish(s, "contact.updated", ws.id, store::to_json(ch.contact));
    return ok(store::to_json(ch.contact));
  });
}

}  // namespace sb::api
