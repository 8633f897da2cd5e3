#include "store/contact_repository.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/keyset.hpp"

#include <algorithm>
#include <cctype>

namespace sb::store {

namespace {

constexpr const char* kColumns =
    "id, organization_id, workspace_id, phone, wa_id, name, email, tags_json, metadata_json, opted_out, "
    "opted_out_at, opt_out_reason, created_at, updated_at";

constexpr int64_t kMaxAudiencePage = 10000;
constexpr int kMaxQueryDepth = 16;
constexpr size_t kMaxQueryTags = 100;

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
  c.opted_out_at = r.optional_integer("opted_out_at");
  c.opt_out_reason = r.optional_text("opt_out_reason");
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

// Appends `q` as an SQL condition on the row `contacts` to `sql`, its
// tags to `params`. Each tag is an EXISTS probe of contact_tags' primary
// key (workspace_id, tag, contact_id).
void append_tag_condition(std::string& sql, Params& params, const TagQuery& q, int depth, size_t& tags) {
  if (depth > kMaxQueryDepth)
    throw Error(ErrorCode::invalid_argument,
                "a tag query nests deeper than " + std::to_string(kMaxQueryDepth) + " levels");
  switch (q.op) {
    case TagQuery::Op::tag:
      if (q.tag.empty()) throw Error(ErrorCode::invalid_argument, "a tag query names an empty tag");
      if (++tags > kMaxQueryTags)
        throw Error(ErrorCode::invalid_argument,
                    "a tag query names more than " + std::to_string(kMaxQueryTags) + " tags");
      sql += "EXISTS (SELECT 1 FROM contact_tags WHERE contact_tags.workspace_id = contacts.workspace_id AND "
             "contact_tags.tag = ? AND contact_tags.contact_id = contacts.id)";
      params.emplace_back(q.tag);
      return;
    case TagQuery::Op::negate:
      if (q.operands.size() != 1) throw Error(ErrorCode::invalid_argument, "NOT in a tag query takes one operand");
      sql += "NOT ";
      append_tag_condition(sql, params, q.operands.front(), depth + 1, tags);
      return;
    case TagQuery::Op::all_of:
    case TagQuery::Op::any_of: {
      const bool all = q.op == TagQuery::Op::all_of;
      if (q.operands.empty()) {
        sql += all ? "1 = 1" : "1 = 0";
        return;
      }
      sql += "(";
      for (size_t i = 0; i < q.operands.size(); ++i) {
        if (i) sql += all ? " AND " : " OR ";
        append_tag_condition(sql, params, q.operands[i], depth + 1, tags);
      }
      sql += ")";
      return;
    }
  }
}

void append_tag_condition(std::string& sql, Params& params, const TagQuery& q) {
  size_t tags = 0;
  append_tag_condition(sql, params, q, 0, tags);
}

// A tag as the query syntax writes it: bare when it is a plain word,
// else double-quoted with \" and \\ escaped.
std::string tag_literal(const std::string& tag) {
  const bool bare = !tag.empty() && std::all_of(tag.begin(), tag.end(), [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u >= 0x80 || std::isalnum(u) || ch == '_' || ch == '-' || ch == '.' || ch == ':' || ch == '/';
  });
  if (bare) return tag;
  std::string out = "\"";
  for (char ch : tag) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out += "\"";
  return out;
}

}  // namespace

TagQuery TagQuery::all_tags(const std::vector<std::string>& tags) {
  TagQuery q;
  q.op = Op::all_of;
  for (const auto& t : tags) q.operands.push_back(has(t));
  return q;
}

TagQuery TagQuery::any_tag(const std::vector<std::string>& tags) {
  TagQuery q;
  q.op = Op::any_of;
  for (const auto& t : tags) q.operands.push_back(has(t));
  return q;
}

std::string to_string(const TagQuery& q) {
  switch (q.op) {
    case TagQuery::Op::tag: return "tag:" + tag_literal(q.tag);
    case TagQuery::Op::negate: return "NOT " + (q.operands.empty() ? std::string("()") : to_string(q.operands[0]));
    case TagQuery::Op::all_of:
    case TagQuery::Op::any_of: {
      if (q.operands.empty()) return q.op == TagQuery::Op::all_of ? "*" : "NOT *";
      if (q.operands.size() == 1) return to_string(q.operands[0]);
      std::string out = "(";
      for (size_t i = 0; i < q.operands.size(); ++i) {
        if (i) out += q.op == TagQuery::Op::all_of ? " AND " : " OR ";
        out += to_string(q.operands[i]);
      }
      return out + ")";
    }
  }
  return "";
}

nlohmann::json to_json(const ContactIdentity& i) {
  return {{"channel", i.channel},
          {"profile_id", i.profile_id},
          {"kind", i.kind},
          {"value", i.value},
          {"created_at", i.created_at}};
}

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
          {"opted_out_at", c.opted_out_at ? nlohmann::json(*c.opted_out_at) : nlohmann::json(nullptr)},
          {"opt_out_reason", c.opt_out_reason ? nlohmann::json(*c.opt_out_reason) : nlohmann::json(nullptr)},
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
    sql += " AND ";
    append_tag_condition(sql, params, TagQuery::has(*q.tag));
  }
  if (q.tags) {
    sql += " AND ";
    append_tag_condition(sql, params, *q.tags);
  }
  if (q.text) {
    const std::string like = "%" + keyset::like_literal(*q.text) + "%";
    sql += " AND (lower(name) LIKE lower(?) ESCAPE '\\' OR phone LIKE ? ESCAPE '\\' OR lower(email) LIKE lower(?) "
           "ESCAPE '\\')";
    params.emplace_back(like);
    params.emplace_back(like);
    params.emplace_back(like);
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
  if (contact.opted_out) {
    if (!contact.opted_out_at) contact.opted_out_at = now;
    if (!contact.opt_out_reason) contact.opt_out_reason = "api";
  } else {
    contact.opted_out_at.reset();
    contact.opt_out_reason.reset();
  }
  try {
    c.execute(
        "INSERT INTO contacts (id, organization_id, workspace_id, phone, wa_id, name, email, tags_json, "
        "metadata_json, opted_out, opted_out_at, opt_out_reason, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {contact.id, contact.organization_id, contact.workspace_id, contact.phone, contact.wa_id, contact.name,
         contact.email, contact.tags.dump(), contact.metadata.dump(), contact.opted_out, contact.opted_out_at,
         contact.opt_out_reason, now, now});
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
    // The first opt-out's time and reason are kept while it lasts.
    if (*patch.opted_out && !contact->opted_out) {
      contact->opted_out_at = now;
      contact->opt_out_reason = patch.opt_out_reason.value_or("api");
    } else if (!*patch.opted_out) {
      contact->opted_out_at.reset();
      contact->opt_out_reason.reset();
    }
    contact->opted_out = *patch.opted_out;
    any = true;
  }
  if (!any) return contact;
  contact->updated_at = now;
  c.execute(
      "UPDATE contacts SET name = ?, email = ?, tags_json = ?, metadata_json = ?, opted_out = ?, opted_out_at = ?, "
      "opt_out_reason = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
      {contact->name, contact->email, contact->tags.dump(), contact->metadata.dump(), contact->opted_out,
       contact->opted_out_at, contact->opt_out_reason, now, workspace_id, id});
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

UpsertResult upsert_by_phone(Connection& c, const ContactUpsert& in, int64_t now) {
  require_tags(in.tags);
  require_metadata(in.metadata);
  auto existing = find_by_phone(c, in.workspace_id, in.phone);
  if (!existing) {
    Contact contact;
    contact.organization_id = in.organization_id;
    contact.workspace_id = in.workspace_id;
    contact.phone = in.phone;
    contact.name = in.name.value_or("");
    contact.email = in.email;
    contact.tags = nlohmann::json(in.tags);
    contact.metadata = in.metadata;
    return {create(c, std::move(contact), now), true, true};
  }
  Contact after = *existing;
  if (in.name && !in.name->empty()) after.name = *in.name;
  if (in.email && !in.email->empty()) after.email = *in.email;
  auto tags = stored_tags(after);
  for (const auto& t : in.tags)
    if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
  after.tags = nlohmann::json(tags);
  if (!after.metadata.is_object()) after.metadata = nlohmann::json::object();
  for (const auto& [key, value] : in.metadata.items()) after.metadata[key] = value;
  const bool changed = after.name != existing->name || after.email != existing->email ||
                       after.tags != existing->tags || after.metadata != existing->metadata;
  if (!changed) return {std::move(*existing), false, false};
  after.updated_at = now;
  c.execute(
      "UPDATE contacts SET name = ?, email = ?, tags_json = ?, metadata_json = ?, updated_at = ? "
      "WHERE workspace_id = ? AND id = ?",
      {after.name, after.email, after.tags.dump(), after.metadata.dump(), now, after.workspace_id, after.id});
  return {std::move(after), false, true};
}

std::optional<OptChange> opt_out(Connection& c, const std::string& workspace_id, const std::string& id,
                                 const std::string& reason, int64_t now) {
  auto contact = find(c, workspace_id, id);
  if (!contact) return std::nullopt;
  if (contact->opted_out) return OptChange{std::move(*contact), false};
  contact->opted_out = true;
  contact->opted_out_at = now;
  contact->opt_out_reason = reason;
  contact->updated_at = now;
  c.execute(
      "UPDATE contacts SET opted_out = 1, opted_out_at = ?, opt_out_reason = ?, updated_at = ? "
      "WHERE workspace_id = ? AND id = ?",
      {now, reason, now, workspace_id, id});
  return OptChange{std::move(*contact), true};
}

std::optional<OptChange> opt_in(Connection& c, const std::string& workspace_id, const std::string& id, int64_t now) {
  auto contact = find(c, workspace_id, id);
  if (!contact) return std::nullopt;
  if (!contact->opted_out) return OptChange{std::move(*contact), false};
  contact->opted_out = false;
  contact->opted_out_at.reset();
  contact->opt_out_reason.reset();
  contact->updated_at = now;
  c.execute(
      "UPDATE contacts SET opted_out = 0, opted_out_at = NULL, opt_out_reason = NULL, updated_at = ? "
      "WHERE workspace_id = ? AND id = ?",
      {now, workspace_id, id});
  return OptChange{std::move(*contact), true};
}

bool is_opted_out(Connection& c, const std::string& contact_id) {
  auto row = c.query_one("SELECT opted_out FROM contacts WHERE id = ?", {contact_id});
  return row && row->integer("opted_out") != 0;
}

std::vector<Contact> contacts_matching(Connection& c, const std::string& workspace_id, const TagQuery& q,
                                       const std::string& after_id, int64_t limit, bool include_opted_out) {
  if (limit < 1 || limit > kMaxAudiencePage)
    throw Error(ErrorCode::invalid_argument,
                "an audience page holds 1 to " + std::to_string(kMaxAudiencePage) + " contacts, not " +
                    std::to_string(limit));
  // Walks contacts_by_workspace_id (migration 008) from after_id.
  std::string sql = select_from() + "WHERE workspace_id = ? AND id > ?";
  Params params{workspace_id, after_id};
  if (!include_opted_out) sql += " AND opted_out = 0";
  sql += " AND ";
  append_tag_condition(sql, params, q);
  sql += " ORDER BY id LIMIT ?";
  params.emplace_back(limit);
  std::vector<Contact> out;
  for (const Row& r : c.query(sql, params)) out.push_back(from_row(r));
  return out;
}

int64_t count_matching(Connection& c, const std::string& workspace_id, const TagQuery& q, bool include_opted_out) {
  std::string sql = "SELECT COUNT(*) AS n FROM contacts WHERE workspace_id = ?";
  Params params{workspace_id};
  if (!include_opted_out) sql += " AND opted_out = 0";
  sql += " AND ";
  append_tag_condition(sql, params, q);
  auto row = c.query_one(sql, params);
  return row ? row->integer("n") : 0;
}

std::optional<Contact> find_by_identity(Connection& c, const std::string& workspace_id, const std::string& channel,
                                        const std::string& profile_id, const std::string& kind,
                                        const std::string& value) {
  auto row = c.query_one(
      "SELECT contact_id FROM contact_identities WHERE workspace_id = ? AND channel = ? AND profile_id = ? AND "
      "kind = ? AND value = ?",
      {workspace_id, channel, profile_id, kind, value});
  if (!row) return std::nullopt;
  return find(c, workspace_id, row->text("contact_id"));
}

bool add_identity(Connection& c, const std::string& workspace_id, const ContactIdentity& identity, int64_t now) {
  if (identity.channel.empty() || identity.kind.empty() || identity.value.empty())
    throw Error(ErrorCode::invalid_argument, "a contact identity needs a channel, a kind and a value");
  auto contact = find(c, workspace_id, identity.contact_id);
  if (!contact) throw Error(ErrorCode::not_found, "contact " + identity.contact_id + " not found in this workspace");
  if (auto owner = find_by_identity(c, workspace_id, identity.channel, identity.profile_id, identity.kind,
                                    identity.value)) {
    if (owner->id == identity.contact_id) return false;
    throw Error(ErrorCode::conflict,
                "the " + identity.kind + " " + identity.value + " belongs to contact " + owner->id,
                {{"contact_id", owner->id}});
  }
  c.execute(
      "INSERT INTO contact_identities (organization_id, workspace_id, contact_id, channel, profile_id, kind, value, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {contact->organization_id, workspace_id, identity.contact_id, identity.channel, identity.profile_id,
       identity.kind, identity.value, now});
  return true;
}

std::vector<ContactIdentity> identities(Connection& c, const std::string& workspace_id,
                                        const std::string& contact_id) {
  std::vector<ContactIdentity> out;
  for (const Row& r : c.query("SELECT contact_id, channel, profile_id, kind, value, created_at FROM "
                              "contact_identities WHERE workspace_id = ? AND contact_id = ? "
                              "ORDER BY created_at, kind, value",
                              {workspace_id, contact_id})) {
    out.push_back({r.text("contact_id"), r.text("channel"), r.text("profile_id"), r.text("kind"), r.text("value"),
                   r.integer("created_at")});
  }
  return out;
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
  c.execute("DELETE FROM contact_identities WHERE workspace_id = ? AND contact_id = ?", {workspace_id, id});
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
