// Contacts of a workspace (/api/v1/workspaces/:workspace_id/contacts):
// search, create, read, edit, delete, their tags as a set, opt-out and
// opt-in, and CSV import and export (messaging/contacts_csv.hpp).
//
// Every change is published on the bus once committed: contact.created,
// contact.updated, contact.deleted, and contact.tagged for each tag a
// contact gains here, so that flows with an event trigger on a tag run for
// tags people add just as for tags flows add. An import publishes one
// contact.imported summary, plus contact.created / contact.updated per
// contact when it changed at most kMaxTouchedKept (1000) contacts.
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "messaging/contacts_csv.hpp"
#include "messaging/contacts_tag_query.hpp"
#include "messaging/phone.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"

#include <algorithm>

namespace sb::api {
namespace {

using nlohmann::json;
using tenancy::Permission;

constexpr size_t kMaxTags = messaging::kMaxContactTags;
constexpr size_t kMaxTagLength = messaging::kMaxContactTagLength;
constexpr size_t kMaxMetadataBytes = messaging::kMaxContactMetadataBytes;
constexpr size_t kMaxNameLength = messaging::kMaxContactNameLength;
constexpr int64_t kExportPage = 1000;

Error bad(const char* field, const std::string& message) {
  return Error(ErrorCode::invalid_argument, message, {{"field", field}});
}

Error contact_not_found(const std::string& id) {
  return Error(ErrorCode::not_found, "contact " + id + " not found in this workspace", {{"field", "contact_id"}});
}

// ?phone= is a prefix of E.164 numbers: "+" (added when missing: an
// unencoded "+" in a query string arrives as a space) and 1 to 15 digits,
// separators dropped.
std::string phone_prefix(const std::string& typed) {
  const Error invalid =
      bad("phone", "\"phone\" must be the start of a phone number in E.164 form, such as +4930 (got \"" +
                       typed.substr(0, 40) + "\")");
  std::string out = "+";
  bool plus_seen = false;
  for (char c : typed) {
    if (c >= '0' && c <= '9') {
      out.push_back(c);
    } else if (c == '+' && !plus_seen && out.size() == 1) {
      plus_seen = true;
    } else if (c != ' ' && c != '-' && c != '(' && c != ')' && c != '.' && c != '\t') {
      throw invalid;
    }
  }
  if (out.size() < 2 || out.size() > 16) throw invalid;
  return out;
}

// "default_region": an ISO 3166 region ("US", "DE") in which phones written
// without "+" are read; none: such phones are refused.
std::string region_value(const std::string& typed, const char* field) {
  std::string region;
  for (char c : typed) region.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (!messaging::is_phone_region(region))
    throw bad(field, std::string("\"") + field + "\" must be an ISO 3166 region code such as US or DE (got \"" +
                         typed.substr(0, 10) + "\")");
  return region;
}

// The phone of a new contact in E.164 (a valid number: see phone.hpp), or
// invalid_argument naming "phone" and why.
std::string contact_phone(const json& body) {
  const std::string typed = required_string(body, "phone", 64);
  std::string region;
  if (auto r = optional_string(body, "default_region", 10)) region = region_value(*r, "default_region");
  return messaging::validate_phone(typed, "phone", region);
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

// "email": a string, or null (no email).
std::optional<std::string> email_field(const json& body) {
  auto email = optional_string(body, "email", messaging::kMaxContactEmailLength);
  if (email && !messaging::plausible_email(*email))
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
    call.allow_query({"phone", "name", "tag", "tags", "q", "opted_out"});
    const auto page = call.page();
    store::ContactQuery q;
    if (auto phone = text_query(call, "phone", 40)) q.phone_prefix = phone_prefix(*phone);
    q.name_contains = text_query(call, "name", kMaxNameLength);
    q.tag = text_query(call, "tag", kMaxTagLength);
    if (auto tags = text_query(call, "tags", 4000)) q.tags = messaging::parse_tag_query(*tags, "tags");
    q.text = text_query(call, "q", kMaxNameLength);
    q.opted_out = bool_query(call, "opted_out");
    return page_response(s.db.read([&](store::Connection& c) { return store::contacts::search(c, ws.id, q, page); }),
                         [](const store::Contact& ct) { return store::to_json(ct); });
  });

  // CSV export in the import's format (before the item's GET, whose
  // :contact_id would match "export"), streamed a page of contacts at a
  // time (by id); ?tags= narrows it to a tag query. Each page is its own
  // read, so a long export does not hold a reader for its whole length.
  routes.get(base + "/export", [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({"tags"});
    store::TagQuery query = store::TagQuery::everyone();
    if (auto tags = text_query(call, "tags", 4000)) query = messaging::parse_tag_query(*tags, "tags");
    const auto keys =
        s.db.read([&](store::Connection& c) { return messaging::contact_metadata_keys(c, ws.id); });
    ApiResponse res;
    res.content_type = "text/csv; charset=utf-8";
    res.headers["Content-Disposition"] = "attachment; filename=\"contacts-" + ws.id + ".csv\"";
    res.stream = [&s, ws_id = ws.id, query, keys](const StreamWriter& write) {
      if (!write(messaging::contact_csv_header(keys))) return;
      std::string after;
      for (;;) {
        const auto page = s.db.read([&](store::Connection& c) {
          return store::contacts::contacts_matching(c, ws_id, query, after, kExportPage, true);
        });
        if (page.empty()) return;
        std::string chunk;
        for (const auto& contact : page) chunk += messaging::contact_csv_record(contact, keys);
        if (!write(chunk)) return;
        if (static_cast<int64_t>(page.size()) < kExportPage) return;
        after = page.back().id;
      }
    };
    return res;
  });

  routes.post(base, [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_fields({"phone", "default_region", "name", "email", "wa_id", "tags", "metadata", "opted_out"});
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

  // Opt-out and opt-in: campaigns skip an opted-out contact (the outbox
  // enforces it) and sends to it are refused. Repeating one is not an
  // error; the first opt-out's time and reason are kept.
  routes.post(item + "/opt-out", [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_fields({"reason"});
    const std::string reason = optional_string(call.body(), "reason", 200).value_or("api");
    const std::string id = call.param("contact_id");
    const auto change = s.db.write(
        [&](store::Connection& c) { return store::contacts::opt_out(c, ws.id, id, reason, now_ms()); });
    if (!change) throw contact_not_found(id);
    if (change->changed) {
      call.audit("contact.opted_out", ws.organization_id, ws.id, "contact", id, {{"reason", reason}});
      publish(s, "contact.updated", ws.id, store::to_json(change->contact));
    }
    return ok(store::to_json(change->contact));
  });

  routes.post(item + "/opt-in", [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_fields({});
    const std::string id = call.param("contact_id");
    const auto change =
        s.db.write([&](store::Connection& c) { return store::contacts::opt_in(c, ws.id, id, now_ms()); });
    if (!change) throw contact_not_found(id);
    if (change->changed) {
      call.audit("contact.opted_in", ws.organization_id, ws.id, "contact", id);
      publish(s, "contact.updated", ws.id, store::to_json(change->contact));
    }
    return ok(store::to_json(change->contact));
  });

  // CSV import: the body is the file (text/csv), or a multipart/form-data
  // form whose part "file" is. ?mode=upsert (default) | create_only,
  // ?default_region=US for phones written without "+", ?delimiter=; for
  // spreadsheets that write semicolons. Answers 200 with the report; a
  // problem of the whole file (no phone column, an unknown column) is a
  // 400 before anything is written.
  routes.upload(base + "/import", [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_query({"mode", "default_region", "delimiter"});
    messaging::ContactImportOptions options;
    options.organization_id = ws.organization_id;
    options.workspace_id = ws.id;
    const std::string mode = call.query("mode").value_or("upsert");
    if (mode == "create_only") {
      options.create_only = true;
    } else if (mode != "upsert") {
      throw bad("mode", "\"mode\" must be upsert or create_only (got \"" + mode.substr(0, 40) + "\")");
    }
    if (auto region = call.query("default_region"); region && !region->empty())
      options.default_region = region_value(*region, "default_region");
    if (auto delimiter = call.query("delimiter"); delimiter && !delimiter->empty()) {
      if (*delimiter != "," && *delimiter != ";" && *delimiter != "\t")
        throw bad("delimiter", "\"delimiter\" must be \",\", \";\" or a tab");
      options.delimiter = (*delimiter)[0];
    }
    const std::string type = ascii_lower(call.request.header("content-type"));
    std::string_view csv;
    if (type.rfind("multipart/form-data", 0) == 0) {
      auto part = call.request.form_parts.find("file");
      if (part == call.request.form_parts.end())
        throw bad("file", "the form has no part named \"file\"; send the CSV file as the field \"file\"");
      csv = part->second;
    } else if (type.rfind("text/csv", 0) == 0 || type.rfind("application/csv", 0) == 0 ||
               type.rfind("text/plain", 0) == 0) {
      csv = call.request.body;
    } else {
      throw Error(ErrorCode::unsupported_media_type,
                  "send the CSV file as the body with content-type text/csv, or as the field \"file\" of a "
                  "multipart/form-data form" +
                      (type.empty() ? std::string() : " (got " + type + ")"));
    }
    const auto report = messaging::import_contacts_csv(s.db, csv, options);
    call.audit("contact.imported", ws.organization_id, ws.id, "workspace", ws.id,
               {{"rows", report.rows}, {"imported", report.imported}, {"updated", report.updated},
                {"error_rows", report.error_rows}});
    if (!report.touched_overflow) {
      for (const auto& [contact, was_created] : report.touched)
        publish(s, was_created ? "contact.created" : "contact.updated", ws.id, store::to_json(contact));
    }
    publish(s, "contact.imported", ws.id,
            {{"rows", report.rows}, {"imported", report.imported}, {"updated", report.updated},
             {"skipped", report.skipped}, {"error_rows", report.error_rows}, {"mode", mode},
             {"per_contact_events", !report.touched_overflow}});
    return ok(messaging::to_json(report));
  });
}

}  // namespace sb::api
