#include "store/contact_repository.hpp"

#include "core/ids.hpp"

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

}  // namespace sb::store
