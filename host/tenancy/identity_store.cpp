#include "tenancy/identity_store.hpp"
#include "core/text.hpp"
#include "store/keyset.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"

#include <algorithm>
#include <cctype>

namespace sb::tenancy {
namespace {

using store::Connection;
using store::Row;
using nlohmann::json;

json opt(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

User user_from(const Row& r) {
  User u;
  u.id = r.text("id");
  u.email = r.text("email");
  u.name = r.text("name");
  u.password_hash = r.text("password_hash");
  u.engine_admin = r.integer("engine_admin") != 0;
  u.disabled = r.integer("disabled") != 0;
  u.created_at = r.integer("created_at");
  u.updated_at = r.integer("updated_at");
  return u;
}

Membership membership_from(const Row& r) {
  Membership m;
  m.user_id = r.text("user_id");
  m.organization_id = r.text("organization_id");
  m.workspace_id = r.text("workspace_id");
  m.role = parse_role(r.text("role")).value_or(Role::viewer);
  m.created_at = r.integer("created_at");
  m.updated_at = r.integer("updated_at");
  return m;
}

Invitation invitation_from(const Row& r) {
  Invitation i;
  i.id = r.text("id");
  i.organization_id = r.text("organization_id");
  i.workspace_id = r.text("workspace_id");
  i.email = r.text("email");
  i.role = parse_role(r.text("role")).value_or(Role::viewer);
  i.invited_by = r.text("invited_by");
  i.expires_at = r.integer("expires_at");
  i.accepted_at = r.optional_integer("accepted_at");
  i.revoked_at = r.optional_integer("revoked_at");
  i.created_at = r.integer("created_at");
  return i;
}

RefreshToken refresh_from(const Row& r) {
  RefreshToken t;
  t.id = r.text("id");
  t.family_id = r.text("family_id");
  t.user_id = r.text("user_id");
  t.secret_hash = r.text("secret_hash");
  t.expires_at = r.integer("expires_at");
  t.used_at = r.optional_integer("used_at");
  t.revoked_at = r.optional_integer("revoked_at");
  t.created_at = r.integer("created_at");
  return t;
}

json scopes_json(const std::vector<Scope>& scopes) {
  json a = json::array();
  for (Scope s : scopes) a.push_back(std::string(to_string(s)));
  return a;
}

ApiKey key_from(const Row& r) {
  ApiKey k;
  k.id = r.text("id");
  k.organization_id = r.text("organization_id");
  k.workspace_id = r.text("workspace_id");
  k.name = r.text("name");
  for (const auto& s : r.json("scopes_json")) {
    if (s.is_string())
      if (auto scope = parse_scope(s.get<std::string>())) k.scopes.push_back(*scope);
  }
  k.secret_hash = r.text("secret_hash");
  k.kind = r.text("kind");
  k.created_by = r.text("created_by");
  k.created_at = r.integer("created_at");
  k.last_used_at = r.optional_integer("last_used_at");
  k.expires_at = r.optional_integer("expires_at");
  k.revoked_at = r.optional_integer("revoked_at");
  k.replaced_by = r.optional_text("replaced_by");
  return k;
}

Dashboard dashboard_from(const Row& r) {
  Dashboard d;
  d.organization_id = r.text("organization_id");
  d.name = r.text("name");
  d.url = r.text("url");
  d.webhook_secret = r.text("webhook_secret");
  d.api_key_id = r.text("api_key_id");
  d.status = r.text("status");
  d.created_at = r.integer("created_at");
  d.updated_at = r.integer("updated_at");
  return d;
}

AuditEntry audit_from(const Row& r) {
  AuditEntry e;
  e.seq = r.integer("seq");
  e.organization_id = r.text("organization_id");
  e.workspace_id = r.text("workspace_id");
  e.actor_type = r.text("actor_type");
  e.actor_id = r.text("actor_id");
  e.action = r.text("action");
  e.target_type = r.text("target_type");
  e.target_id = r.text("target_id");
  e.details = r.json("details_json");
  e.ip = r.text("ip");
  e.request_id = r.text("request_id");
  e.created_at = r.integer("created_at");
  return e;
}

// A keyset page (store/keyset.hpp) of the rows `sql` selects; `sql` ends
// in a WHERE clause that the page's terms are appended to.
template <class T, class From, class Key>
store::Page<T> page_query(Connection& c, std::string sql, store::Params params, const store::PageRequest& page,
                          const char* at_col, const char* id_col, From from, Key key) {
  store::keyset::append_page_desc(sql, params, at_col, id_col, page);
  std::vector<T> rows;
  for (const Row& r : c.query(sql, params)) rows.push_back(from(r));
  return store::keyset::cut(std::move(rows), page, key);
}

}  // namespace

bool ApiKey::has(Scope scope) const { return std::find(scopes.begin(), scopes.end(), scope) != scopes.end(); }

json to_json(const User& u) {
  return {{"id", u.id},           {"email", u.email},         {"name", u.name},
          {"engine_admin", u.engine_admin}, {"disabled", u.disabled}, {"created_at", u.created_at},
          {"updated_at", u.updated_at}};
}

json to_json(const Membership& m) {
  return {{"user_id", m.user_id},
          {"organization_id", m.organization_id},
          {"workspace_id", m.workspace_id.empty() ? json(nullptr) : json(m.workspace_id)},
          {"role", std::string(to_string(m.role))},
          {"created_at", m.created_at},
          {"updated_at", m.updated_at}};
}

json to_json(const Invitation& i) {
  const char* state = i.revoked_at ? "revoked" : i.accepted_at ? "accepted" : "pending";
  return {{"id", i.id},
          {"organization_id", i.organization_id},
          {"workspace_id", i.workspace_id.empty() ? json(nullptr) : json(i.workspace_id)},
          {"email", i.email},
          {"role", std::string(to_string(i.role))},
          {"invited_by", i.invited_by},
          {"state", state},
          {"expires_at", i.expires_at},
          {"accepted_at", opt(i.accepted_at)},
          {"created_at", i.created_at}};
}

json to_json(const ApiKey& k) {
  return {{"id", k.id},
          {"organization_id", k.organization_id},
          {"workspace_id", k.workspace_id.empty() ? json(nullptr) : json(k.workspace_id)},
          {"name", k.name},
          {"scopes", scopes_json(k.scopes)},
          {"kind", k.kind},
          {"created_by", k.created_by},
          {"created_at", k.created_at},
          {"last_used_at", opt(k.last_used_at)},
          {"expires_at", opt(k.expires_at)},
          {"revoked_at", opt(k.revoked_at)},
          {"replaced_by", opt(k.replaced_by)}};
}

json to_json(const Dashboard& d) {
  return {{"agencyId", d.organization_id}, {"dashboardName", d.name}, {"dashboardUrl", d.url},
          {"status", d.status},            {"apiKeyId", d.api_key_id}, {"createdAt", iso8601(d.created_at)},
          {"updatedAt", iso8601(d.updated_at)}};
}

json to_json(const AuditEntry& e) {
  return {{"seq", e.seq},
          {"organization_id", e.organization_id},
          {"workspace_id", e.workspace_id.empty() ? json(nullptr) : json(e.workspace_id)},
          {"actor", {{"type", e.actor_type}, {"id", e.actor_id}}},
          {"action", e.action},
          {"target", {{"type", e.target_type}, {"id", e.target_id}}},
          {"details", e.details},
          {"ip", e.ip},
          {"request_id", e.request_id},
          {"created_at", e.created_at}};
}

namespace identity {

User insert_user(Connection& c, User u, int64_t now) {
  u.email = ascii_lower(u.email);
  if (u.id.empty()) u.id = new_id("usr");
  if (find_user_by_email(c, u.email)) throw Error(ErrorCode::conflict, "a user with this email exists already");
  u.created_at = u.updated_at = now;
  c.execute(
      "INSERT INTO users (id, email, name, password_hash, engine_admin, disabled, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {u.id, u.email, u.name, u.password_hash, u.engine_admin, u.disabled, now, now});
  return u;
}

std::optional<User> find_user(Connection& c, const std::string& id) {
  auto r = c.query_one("SELECT * FROM users WHERE id = ?", {id});
  if (!r) return std::nullopt;
  return user_from(*r);
}

std::optional<User> find_user_by_email(Connection& c, const std::string& email) {
  auto r = c.query_one("SELECT * FROM users WHERE email = ?", {ascii_lower(email)});
  if (!r) return std::nullopt;
  return user_from(*r);
}

int64_t count_users(Connection& c) { return c.query_one("SELECT COUNT(*) AS n FROM users")->integer("n"); }

void set_password_hash(Connection& c, const std::string& user_id, const std::string& hash, int64_t now) {
  c.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", {hash, now, user_id});
}

void put_membership(Connection& c, const Membership& m, int64_t now) {
  c.execute(
      "INSERT INTO memberships (user_id, organization_id, workspace_id, role, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, organization_id, workspace_id) "
      "DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at",
      {m.user_id, m.organization_id, m.workspace_id, std::string(to_string(m.role)), now, now});
}

bool delete_membership(Connection& c, const std::string& user_id, const std::string& organization_id,
                       const std::string& workspace_id) {
  return c.execute("DELETE FROM memberships WHERE user_id = ? AND organization_id = ? AND workspace_id = ?",
                   {user_id, organization_id, workspace_id}) > 0;
}

std::vector<Membership> memberships_of(Connection& c, const std::string& user_id) {
  std::vector<Membership> out;
  for (const Row& r : c.query("SELECT * FROM memberships WHERE user_id = ? ORDER BY created_at, organization_id, "
                              "workspace_id",
                              {user_id}))
    out.push_back(membership_from(r));
  return out;
}

store::Page<Membership> members_of(Connection& c, const std::string& organization_id, const std::string& workspace_id,
                                   const store::PageRequest& page) {
  return page_query<Membership>(
      c,
      "SELECT * FROM memberships WHERE organization_id = ? AND (workspace_id = ? OR workspace_id = '')",
      {organization_id, workspace_id}, page, "created_at", "user_id", membership_from,
      [](const Membership& m) { return store::Cursor{m.created_at, m.user_id}; });
}

std::optional<Role> role_in(Connection& c, const std::string& user_id, const std::string& organization_id,
                            const std::string& workspace_id) {
  std::optional<Role> best;
  for (const Row& r : c.query("SELECT role FROM memberships WHERE user_id = ? AND organization_id = ? AND "
                              "(workspace_id = ? OR workspace_id = '')",
                              {user_id, organization_id, workspace_id})) {
    auto role = parse_role(r.text("role"));
    if (role && (!best || static_cast<int>(*role) > static_cast<int>(*best))) best = role;
  }
  return best;
}

int64_t count_owners(Connection& c, const std::string& organization_id, const std::string& workspace_id) {
  return c
      .query_one("SELECT COUNT(DISTINCT user_id) AS n FROM memberships WHERE organization_id = ? AND "
                 "(workspace_id = ? OR workspace_id = '') AND role = 'owner'",
                 {organization_id, workspace_id})
      ->integer("n");
}

void insert_invitation(Connection& c, const Invitation& i, const std::string& token_hash) {
  c.execute(
      "INSERT INTO invitations (id, organization_id, workspace_id, email, role, token_hash, invited_by, expires_at, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {i.id, i.organization_id, i.workspace_id, ascii_lower(i.email), std::string(to_string(i.role)), token_hash,
       i.invited_by, i.expires_at, i.created_at});
}

std::optional<Invitation> find_invitation_by_token(Connection& c, const std::string& token_hash) {
  auto r = c.query_one("SELECT * FROM invitations WHERE token_hash = ?", {token_hash});
  if (!r) return std::nullopt;
  return invitation_from(*r);
}

std::optional<Invitation> find_invitation(Connection& c, const std::string& organization_id,
                                          const std::string& workspace_id, const std::string& id) {
  auto r = c.query_one("SELECT * FROM invitations WHERE id = ? AND organization_id = ? AND workspace_id = ?",
                       {id, organization_id, workspace_id});
  if (!r) return std::nullopt;
  return invitation_from(*r);
}

store::Page<Invitation> invitations_of(Connection& c, const std::string& organization_id,
                                       const std::string& workspace_id, const store::PageRequest& page) {
  return page_query<Invitation>(c, "SELECT * FROM invitations WHERE organization_id = ? AND workspace_id = ?",
                                {organization_id, workspace_id}, page, "created_at", "id", invitation_from,
                                [](const Invitation& i) { return store::Cursor{i.created_at, i.id}; });
}

void mark_invitation(Connection& c, const std::string& id, const char* column, int64_t now) {
  c.execute(std::string("UPDATE invitations SET ") + column + " = ? WHERE id = ?", {now, id});
}

void insert_refresh(Connection& c, const RefreshToken& t) {
  c.execute(
      "INSERT INTO refresh_tokens (id, family_id, user_id, secret_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, "
      "?)",
      {t.id, t.family_id, t.user_id, t.secret_hash, t.expires_at, t.created_at});
}

std::optional<RefreshToken> find_refresh(Connection& c, const std::string& id) {
  auto r = c.query_one("SELECT * FROM refresh_tokens WHERE id = ?", {id});
  if (!r) return std::nullopt;
  return refresh_from(*r);
}

bool use_refresh(Connection& c, const std::string& id, int64_t now) {
  return c.execute("UPDATE refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
                   {now, id}) == 1;
}

int64_t revoke_family(Connection& c, const std::string& family_id, int64_t now) {
  return c.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
                   {now, family_id});
}

int64_t revoke_user_refresh(Connection& c, const std::string& user_id, int64_t now) {
  return c.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                   {now, user_id});
}

void insert_api_key(Connection& c, const ApiKey& k) {
  c.execute(
      "INSERT INTO api_keys (id, organization_id, workspace_id, name, scopes_json, secret_hash, kind, created_by, "
      "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {k.id, k.organization_id, k.workspace_id, k.name, scopes_json(k.scopes).dump(), k.secret_hash, k.kind,
       k.created_by, k.created_at, k.expires_at});
}

std::optional<ApiKey> find_api_key(Connection& c, const std::string& id) {
  auto r = c.query_one("SELECT * FROM api_keys WHERE id = ?", {id});
  if (!r) return std::nullopt;
  return key_from(*r);
}

store::Page<ApiKey> api_keys_of(Connection& c, const std::string& organization_id, const std::string& workspace_id,
                                const store::PageRequest& page) {
  return page_query<ApiKey>(c, "SELECT * FROM api_keys WHERE organization_id = ? AND workspace_id = ?",
                            {organization_id, workspace_id}, page, "created_at", "id", key_from,
                            [](const ApiKey& k) { return store::Cursor{k.created_at, k.id}; });
}

void touch_api_key(Connection& c, const std::string& id, int64_t now) {
  c.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", {now, id});
}

bool revoke_api_key(Connection& c, const std::string& id, int64_t now) {
  return c.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", {now, id}) == 1;
}

void set_api_key_expiry(Connection& c, const std::string& id, int64_t expires_at, const std::string& replaced_by) {
  c.execute("UPDATE api_keys SET expires_at = ?, replaced_by = ? WHERE id = ?", {expires_at, replaced_by, id});
}

void upsert_dashboard(Connection& c, const Dashboard& d) {
  c.execute(
      "INSERT INTO dashboards (organization_id, name, url, webhook_secret, api_key_id, status, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (organization_id) DO UPDATE SET name = excluded.name, "
      "url = excluded.url, webhook_secret = excluded.webhook_secret, api_key_id = excluded.api_key_id, "
      "status = excluded.status, updated_at = excluded.updated_at",
      {d.organization_id, d.name, d.url, d.webhook_secret, d.api_key_id, d.status, d.created_at, d.updated_at});
}

std::optional<Dashboard> find_dashboard(Connection& c, const std::string& organization_id) {
  auto r = c.query_one("SELECT * FROM dashboards WHERE organization_id = ?", {organization_id});
  if (!r) return std::nullopt;
  return dashboard_from(*r);
}

std::optional<Dashboard> find_dashboard_by_key(Connection& c, const std::string& api_key_id) {
  auto r = c.query_one("SELECT * FROM dashboards WHERE api_key_id = ?", {api_key_id});
  if (!r) return std::nullopt;
  return dashboard_from(*r);
}

std::vector<Dashboard> list_dashboards(Connection& c) {
  std::vector<Dashboard> out;
  for (const Row& r : c.query("SELECT * FROM dashboards ORDER BY created_at, organization_id"))
    out.push_back(dashboard_from(r));
  return out;
}

bool set_dashboard_status(Connection& c, const std::string& organization_id, const std::string& status, int64_t now) {
  return c.execute("UPDATE dashboards SET status = ?, updated_at = ? WHERE organization_id = ?",
                   {status, now, organization_id}) == 1;
}

void append_audit(Connection& c, const AuditEntry& e) {
  c.execute(
      "INSERT INTO audit_log (organization_id, workspace_id, actor_type, actor_id, action, target_type, target_id, "
      "details_json, ip, request_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {e.organization_id, e.workspace_id, e.actor_type, e.actor_id, e.action, e.target_type, e.target_id,
       e.details.dump(), e.ip, e.request_id, e.created_at});
}

store::Page<AuditEntry> audit_of(Connection& c, const std::string& organization_id, const std::string& workspace_id,
                                 const store::PageRequest& page) {
  return page_query<AuditEntry>(
      c, "SELECT * FROM audit_log WHERE organization_id = ? AND (workspace_id = ? OR workspace_id = '')",
      {organization_id, workspace_id}, page, "seq", "''", audit_from,
      // seq is unique on its own: the tie-break column is the constant ''
      // (never less than the cursor's ""), so only seq decides.
      [](const AuditEntry& e) { return store::Cursor{e.seq, ""}; });
}

}  // namespace identity
}  // namespace sb::tenancy
