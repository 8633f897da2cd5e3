#include "store/contact_repository.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/keyset.hpp"

#include <algorithm>

namespace sb::store {

namespace {

constexpr const char* kColumns =
    "id, organization_id, workspace_id, phone, wa_id, name, email, tags_json, metadata_json, opted_out, "
    "created_at, updated_at";

Contact from_row(const Row& r) {
  Contact c;
  c.id = r.text("id");
  c.organization_id = r.text("organization_id");
  c.workspace_id = r.text("workspace_id");
  c.phone = r.text("phone");
  c.wa_id = r.optional_text("wa_id");
  c.name = r.text("name");
  c.email = r.optional_text("email");
  c.tags = r.is_null("tags_json") ? nlohmann::json::array() : r.json("tags_json");
  c.metadata = r.is_null("metadata_json") ? nlohmann::json::object() : r.json("metadata_json");
  c.opted_out = r.integer("opted_out") != 0;
  c.created_at = r.integer("created_at");
  c.updated_at = r.integer("updated_at");
  return c;
}

std::string select_from() { return std::string("SELECT ") + kColumns + " FROM contacts "; }

// Tags as stored: an array of unique, non-empty strings in the order given.
nlohmann::json tag_array(const nlohmann::json& tags) {
  if (!tags.is_array()) throw Error(ErrorCode::invalid_argument, "a contact's tags must be an array of strings");
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : tags) {
    if (!t.is_string() || t.get_ref<const std::string&>().empty()) {
      throw Error(ErrorCode::invalid_argument, "a contact's tags must be non-empty strings");
    }
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  return out;
}

void require_metadata(const nlohmann::json& metadata) {
  if (!metadata.is_object()) throw Error(ErrorCode::invalid_argument, "a contact's metadata must be a JSON object");
}

// The tags column as the string list it should be; anything else stored
// there (by hand) is not kept.
std::vector<std::string> stored_tags(const Contact& contact) {
  std::vector<std::string> out;
  if (!contact.tags.is_array()) return out;
  for (const auto& t : contact.tags) {
    if (t.is_string()) out.push_back(t.get<std::string>());
  }
  return out;
}

void require_tags(const std::vector<std::string>& tags) {
  for (const auto& t : tags) {
    if (t.empty()) throw Error(ErrorCode::invalid_argument, "a tag must not be empty");
  }
}

// Writes `tags` when they differ from what the contact has; true if so.
bool write_tags_if_changed(Connection& c, const Contact& contact, const std::vector<std::string>& tags, int64_t now) {
  nlohmann::json array(tags);
  if (array == contact.tags) return false;
  c.execute("UPDATE contacts SET tags_json = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
            {array.dump(), now, contact.workspace_id, contact.id});
  return true;
}

}  // namespace

nlohmann::json to_json(const Contact& c) {
  return {{"id", c.id},
          {"organization_id", c.organization_id},
          {"workspace_id", c.workspace_id},
          {"phone", c.phone},
          {"wa_id", c.wa_id ? nlohmann::json(*c.wa_id) : nlohmann::json(nullptr)},
          {"name", c.name},
          {"email", c.email ? nlohmann::json(*c.email) : nlohmann::json(nullptr)},
          {"tags", c.tags},
          {"metadata", c.metadata},
          {"opted_out", c.opted_out},
          {"created_at", c.created_at},
          {"updated_at", c.updated_at}};
}

namespace contacts {

std::optional<Contact> find(Connection& c, const std::string& workspace_id, const std::string& id) {
  static const std::string sql = select_from() + "WHERE workspace_id = ? AND id = ?";
  auto row = c.query_one(sql, {workspace_id, id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::optional<Contact> find_by_phone(Connection& c, const std::string& workspace_id, const std::string& phone) {
  static const std::string sql = select_from() + "WHERE workspace_id = ? AND phone = ?";
  auto row = c.query_one(sql, {workspace_id, phone});
  if (!row) return std::nullopt;
  return from_row(*row);
}

Upserted upsert_seen(Connection& c, const ContactSighting& seen, int64_t now) {
  if (auto existing = find_by_phone(c, seen.workspace_id, seen.phone)) {
    bool fill_name = existing->name.empty() && !seen.name.empty();
    bool fill_wa_id = !existing->wa_id && seen.wa_id;
    if (fill_name || fill_wa_id) {
      if (fill_name) existing->name = seen.name;
      if (fill_wa_id) existing->wa_id = seen.wa_id;
      existing->updated_at = now;
      c.execute("UPDATE contacts SET name = ?, wa_id = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
                {existing->name, existing->wa_id, now, existing->workspace_id, existing->id});
    }
    return {std::move(*existing), false};
  }
  Contact contact;
  contact.id = new_id("ct");
  contact.organization_id = seen.organization_id;
  contact.workspace_id = seen.workspace_id;
  contact.phone = seen.phone;
  contact.wa_id = seen.wa_id;
  contact.name = seen.name;
  contact.created_at = now;
  contact.updated_at = now;
  c.execute(
      "INSERT INTO contacts (id, organization_id, workspace_id, phone, wa_id, name, email, tags_json, "
      "metadata_json, opted_out, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, '[]', '{}', 0, ?, ?)",
      {contact.id, contact.organization_id, contact.workspace_id, contact.phone, contact.wa_id, contact.name, now,
       now});
  return {std::move(contact), true};
}

std::vector<Contact> list(Connection& c, const std::string& workspace_id, int64_t limit, int64_t offset) {
  static const std::string sql =
      select_from() + "WHERE workspace_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?";
  std::vector<Contact> out;
  for (const Row& r : c.query(sql, {workspace_id, limit, offset})) out.push_back(from_row(r));
  return out;
}

int64_t count(Connection& c, const std::string& workspace_id) {
  auto row = c.query_one("SELECT COUNT(*) AS n FROM contacts WHERE workspace_id = ?", {workspace_id});
  return row ? row->integer("n") : 0;
}

Page<Contact> search(Connection& c, const std::string& workspace_id, const ContactQuery& q, const PageRequest& page) {
  // Pages walk the index contacts_by_workspace_created (migration 006);
  // the filters are checked on the workspace's rows only. At most 16
  // statement texts, each cached by the connection.
  std::string sql = select_from() + "WHERE workspace_id = ?";
  Params params{workspace_id};
  if (q.phone_prefix) {
    sql += " AND phone LIKE ? ESCAPE '\\'";
    params.emplace_back(keyset::like_literal(*q.phone_prefix) + "%");
  }
  if (q.name_contains) {
    // lower() on both sides: SQLite's LIKE ignores ASCII case already,
    // PostgreSQL's does not (and its lower() knows more than ASCII).
    sql += " AND lower(name) LIKE lower(?) ESCAPE '\\'";
    params.emplace_back("%" + keyset::like_literal(*q.name_contains) + "%");
  }
  if (q.tag) {
    // SQLite's json_each, as flow_effects::contacts_with_tag; PostgreSQL
    // will need `tags_json::jsonb ? $tag`.
    sql += " AND EXISTS (SELECT 1 FROM json_each(contacts.tags_json) WHERE value = ?)";
    params.emplace_back(*q.tag);
  }
  if (q.opted_out) {
    sql += " AND opted_out = ?";
    params.emplace_back(*q.opted_out);
  }
  keyset::append_page_desc(sql, params, "created_at", "id", page);
  std::vector<Contact> rows;
  for (const Row& r : c.query(sql, params)) rows.push_back(from_row(r));
  return keyset::cut(std::move(rows), page, [](const Contact& ct) { return Cursor{ct.created_at, ct.id}; });
}

Contact create(Connection& c, Contact contact, int64_t now) {
  if (contact.phone.empty() || contact.phone.front() != '+') {
    throw Error(ErrorCode::invalid_argument,
                "a contact's phone must be in E.164 form (+ and the country code), not \"" + contact.phone + "\"");
  }
  contact.tags = tag_array(contact.tags);
  require_metadata(contact.metadata);
  // The workspace must exist and belong to the organization the contact
  // claims: tenant ids are never taken on trust.
  if (!c.query_one("SELECT id FROM workspaces WHERE organization_id = ? AND id = ?",
                   {contact.organization_id, contact.workspace_id})) {
    throw Error(ErrorCode::not_found, "workspace " + contact.workspace_id + " does not exist in organization " +
                                          contact.organization_id);
  }
  // Checked before the insert so that the conflict names the phone, not
  // the unique key (inside a write job nothing can come in between).
  if (auto existing = find_by_phone(c, contact.workspace_id, contact.phone)) {
    throw Error(ErrorCode::conflict, "a contact with phone " + contact.phone + " exists in this workspace",
                {{"contact_id", existing->id}});
  }
  if (contact.id.empty()) contact.id = new_id("ct");
  contact.created_at = now;
  contact.updated_at = now;
  try {
    c.execute(
        "INSERT INTO contacts (id, organization_id, workspace_id, phone, wa_id, name, email, tags_json, "
        "metadata_json, opted_out, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {contact.id, contact.organization_id, contact.workspace_id, contact.phone, contact.wa_id, contact.name,
         contact.email, contact.tags.dump(), contact.metadata.dump(), contact.opted_out, now, now});
  } catch (const Error& e) {
    if (e.code() == ErrorCode::conflict) throw Error(ErrorCode::conflict, "contact " + contact.id + " already exists");
    throw;
  }
  return contact;
}

std::optional<Contact> update(Connection& c, const std::string& workspace_id, const std::string& id,
                              const ContactPatch& patch, int64_t now) {
  auto contact = find(c, workspace_id, id);
  if (!contact) return std::nullopt;
  bool any = false;
  if (patch.name) {
    contact->name = *patch.name;
    any = true;
  }
  if (patch.email) {
    contact->email = *patch.email;
    any = true;
  }
  if (patch.tags) {
    contact->tags = tag_array(*patch.tags);
    any = true;
  }
  if (patch.metadata) {
    require_metadata(*patch.metadata);
    contact->metadata = *patch.metadata;
    any = true;
  }
  if (patch.opted_out) {
    contact->opted_out = *patch.opted_out;
    any = true;
  }
  if (!any) return contact;
  contact->updated_at = now;
  c.execute(
      "UPDATE contacts SET name = ?, email = ?, tags_json = ?, metadata_json = ?, opted_out = ?, updated_at = ? "
      "WHERE workspace_id = ? AND id = ?",
      {contact->name, contact->email, contact->tags.dump(), contact->metadata.dump(), contact->opted_out, now,
       workspace_id, id});
  return contact;
}

bool add_tags(Connection& c, const std::string& workspace_id, const std::string& id,
              const std::vector<std::string>& tags, int64_t now) {
  require_tags(tags);
  auto contact = find(c, workspace_id, id);
  if (!contact) return false;
  auto current = stored_tags(*contact);
  for (const auto& t : tags) {
    if (std::find(current.begin(), current.end(), t) == current.end()) current.push_back(t);
  }
  write_tags_if_changed(c, *contact, current, now);
  return true;
}

bool remove_tags(Connection& c, const std::string& workspace_id, const std::string& id,
                 const std::vector<std::string>& tags, int64_t now) {
  require_tags(tags);
  auto contact = find(c, workspace_id, id);
  if (!contact) return false;
  auto current = stored_tags(*contact);
  std::erase_if(current, [&](const std::string& t) { return std::find(tags.begin(), tags.end(), t) != tags.end(); });
  write_tags_if_changed(c, *contact, current, now);
  return true;
}

bool remove(Connection& c, const std::string& workspace_id, const std::string& id) {
  if (!find(c, workspace_id, id)) return false;
  auto conversation = c.query_one(
      "SELECT id FROM conversations WHERE workspace_id = ? AND contact_id = ? ORDER BY created_at DESC LIMIT 1",
      {workspace_id, id});
  if (conversation) {
    throw Error(ErrorCode::conflict,
                "the contact has conversations (the latest is " + conversation->text("id") +
                    "); their messages are the workspace's history, so the contact is kept",
                {{"conversation_id", conversation->text("id")}});
  }
  c.execute("UPDATE flow_executions SET contact_id = NULL WHERE workspace_id = ? AND contact_id = ?",
            {workspace_id, id});
  return c.execute("DELETE FROM contacts WHERE workspace_id = ? AND id = ?", {workspace_id, id}) > 0;
}

}  // namespace contacts

std::optional<Contact> ContactRepository::find(const std::string& workspace_id, const std::string& id) {
  return db_.read([&](Connection& c) { return contacts::find(c, workspace_id, id); });
}
std::optional<Contact> ContactRepository::find_by_phone(const std::string& workspace_id, const std::string& phone) {
  return db_.read([&](Connection& c) { return contacts::find_by_phone(c, workspace_id, phone); });
}
contacts::Upserted ContactRepository::upsert_seen(const ContactSighting& seen) {
  return db_.write([seen](Connection& c) { return contacts::upsert_seen(c, seen, now_ms()); });
}
std::vector<Contact> ContactRepository::list(const std::string& workspace_id, int64_t limit, int64_t offset) {
  return db_.read([&](Connection& c) { return contacts::list(c, workspace_id, limit, offset); });
}
int64_t ContactRepository::count(const std::string& workspace_id) {
  return db_.read([&](Connection& c) { return contacts::count(c, workspace_id); });
}
Page<Contact> ContactRepository::search(const std::string& workspace_id, const ContactQuery& q,
                                        const PageRequest& page) {
  return db_.read([&](Connection& c) { return contacts::search(c, workspace_id, q, page); });
}
Contact ContactRepository::create(Contact contact) {
  return db_.write([&](Connection& c) { return contacts::create(c, contact, now_ms()); });
}
std::optional<Contact> ContactRepository::update(const std::string& workspace_id, const std::string& id,
                                                 const ContactPatch& patch) {
  return db_.write([&](Connection& c) { return contacts::update(c, workspace_id, id, patch, now_ms()); });
}
bool ContactRepository::add_tags(const std::string& workspace_id, const std::string& id,
                                 const std::vector<std::string>& tags) {
  return db_.write([&](Connection& c) { return contacts::add_tags(c, workspace_id, id, tags, now_ms()); });
}
bool ContactRepository::remove_tags(const std::string& workspace_id, const std::string& id,
                                    const std::vector<std::string>& tags) {
  return db_.write([&](Connection& c) { return contacts::remove_tags(c, workspace_id, id, tags, now_ms()); });
}
bool ContactRepository::remove(const std::string& workspace_id, const std::string& id) {
  return db_.write([&](Connection& c) { return contacts::remove(c, workspace_id, id); });
}

}  // namespace sb::store
