#include "store/tenancy_repository.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/keyset.hpp"

namespace sb::store {

namespace {

constexpr const char* kOrganizationColumns = "SELECT id, name, created_at FROM organizations ";
constexpr const char* kWorkspaceColumns = "SELECT id, organization_id, name, timezone, created_at FROM workspaces ";

Organization organization_from(const Row& r) {
  return Organization{r.text("id"), r.text("name"), r.integer("created_at")};
}

Workspace workspace_from(const Row& r) {
  return Workspace{r.text("id"), r.text("organization_id"), r.text("name"), r.text("timezone"), r.integer("created_at")};
}

void require_text(const std::string& value, const char* what) {
  if (value.empty()) throw Error(ErrorCode::invalid_argument, std::string(what) + " must not be empty");
}

// Turns the storage plugin's uniqueness conflict into a sentence naming the
// id; other errors pass through.
template <class Fn>
auto insert_or_conflict(Fn&& fn, const std::string& what) {
  try {
    return fn();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::conflict) throw Error(ErrorCode::conflict, what + " already exists");
    throw;
  }
}

}  // namespace

nlohmann::json to_json(const Organization& o) {
  return {{"id", o.id}, {"name", o.name}, {"created_at", o.created_at}};
}

nlohmann::json to_json(const Workspace& w) {
  return {{"id", w.id},
          {"organization_id", w.organization_id},
          {"name", w.name},
          {"timezone", w.timezone},
          {"created_at", w.created_at}};
}

namespace tenancy {

Organization create_organization(Connection& c, Organization o, int64_t now) {
  require_text(o.name, "an organization's name");
  if (o.id.empty()) o.id = new_id("org");
  o.created_at = now;
  insert_or_conflict(
      [&] {
        return c.execute("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)",
                         {o.id, o.name, o.created_at});
      },
      "organization " + o.id);
  return o;
}

std::optional<Organization> get_organization(Connection& c, const std::string& id) {
  static const std::string sql = std::string(kOrganizationColumns) + "WHERE id = ?";
  auto row = c.query_one(sql, {id});
  if (!row) return std::nullopt;
  return organization_from(*row);
}

std::vector<Organization> list_organizations(Connection& c) {
  static const std::string sql = std::string(kOrganizationColumns) + "ORDER BY created_at, id";
  std::vector<Organization> out;
  for (const Row& row : c.query(sql)) out.push_back(organization_from(row));
  return out;
}

Organization ensure_organization(Connection& c, const Organization& o, int64_t now) {
  require_text(o.id, "a seeded organization's id");
  require_text(o.name, "an organization's name");
  c.execute("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            {o.id, o.name, now});
  return *get_organization(c, o.id);
}

Workspace create_workspace(Connection& c, Workspace w, int64_t now) {
  require_text(w.name, "a workspace's name");
  require_text(w.timezone, "a workspace's timezone");
  if (!get_organization(c, w.organization_id)) {
    throw Error(ErrorCode::not_found, "organization " + w.organization_id + " does not exist");
  }
  if (w.id.empty()) w.id = new_id("ws");
  w.created_at = now;
  insert_or_conflict(
      [&] {
        return c.execute(
            "INSERT INTO workspaces (id, organization_id, name, timezone, created_at) VALUES (?, ?, ?, ?, ?)",
            {w.id, w.organization_id, w.name, w.timezone, w.created_at});
      },
      "workspace " + w.id);
  return w;
}

std::optional<Workspace> get_workspace(Connection& c, const std::string& id) {
  static const std::string sql = std::string(kWorkspaceColumns) + "WHERE id = ?";
  auto row = c.query_one(sql, {id});
  if (!row) return std::nullopt;
  return workspace_from(*row);
}

std::optional<Workspace> get_workspace(Connection& c, const std::string& organization_id, const std::string& id) {
  static const std::string sql = std::string(kWorkspaceColumns) + "WHERE organization_id = ? AND id = ?";
  auto row = c.query_one(sql, {organization_id, id});
  if (!row) return std::nullopt;
  return workspace_from(*row);
}

std::vector<Workspace> list_workspaces(Connection& c, const std::string& organization_id) {
  static const std::string sql = std::string(kWorkspaceColumns) + "WHERE organization_id = ? ORDER BY created_at, id";
  std::vector<Workspace> out;
  for (const Row& row : c.query(sql, {organization_id})) out.push_back(workspace_from(row));
  return out;
}

Workspace ensure_workspace(Connection& c, const Workspace& w, int64_t now) {
  require_text(w.id, "a seeded workspace's id");
  if (auto existing = get_workspace(c, w.id)) {
    if (existing->organization_id != w.organization_id) {
      throw Error(ErrorCode::conflict, "workspace " + w.id + " already exists in another organization");
    }
    return *existing;
  }
  return create_workspace(c, w, now);
}

Page<Organization> page_organizations(Connection& c, const PageRequest& page) {
  // Over organizations_by_created (migration 006). keyset's SQL is appended
  // to a WHERE clause, hence the 1 = 1.
  std::string sql = std::string(kOrganizationColumns) + "WHERE 1 = 1";
  Params params;
  keyset::append_page_desc(sql, params, "created_at", "id", page);
  std::vector<Organization> rows;
  for (const Row& row : c.query(sql, params)) rows.push_back(organization_from(row));
  return keyset::cut(std::move(rows), page, [](const Organization& o) { return Cursor{o.created_at, o.id}; });
}

Page<Workspace> page_workspaces(Connection& c, const std::string& organization_id, const PageRequest& page) {
  // Over workspaces_by_organization_created (migration 006).
  std::string sql = std::string(kWorkspaceColumns) + "WHERE organization_id = ?";
  Params params{organization_id};
  keyset::append_page_desc(sql, params, "created_at", "id", page);
  std::vector<Workspace> rows;
  for (const Row& row : c.query(sql, params)) rows.push_back(workspace_from(row));
  return keyset::cut(std::move(rows), page, [](const Workspace& w) { return Cursor{w.created_at, w.id}; });
}

std::optional<Organization> rename_organization(Connection& c, const std::string& id, const std::string& name,
                                                int64_t /*now*/) {
  require_text(name, "an organization's name");
  if (c.execute("UPDATE organizations SET name = ? WHERE id = ?", {name, id}) == 0) return std::nullopt;
  return get_organization(c, id);
}

std::optional<Workspace> update_workspace(Connection& c, const std::string& organization_id, const std::string& id,
                                          const std::optional<std::string>& name,
                                          const std::optional<std::string>& timezone, int64_t /*now*/) {
  if (name) require_text(*name, "a workspace's name");
  if (timezone) require_text(*timezone, "a workspace's timezone");
  auto workspace = get_workspace(c, organization_id, id);
  if (!workspace || (!name && !timezone)) return workspace;
  if (name) workspace->name = *name;
  if (timezone) workspace->timezone = *timezone;
  c.execute("UPDATE workspaces SET name = ?, timezone = ? WHERE organization_id = ? AND id = ?",
            {workspace->name, workspace->timezone, organization_id, id});
  return workspace;
}

}  // namespace tenancy

Organization TenancyRepository::create_organization(Organization organization) {
  return db_.write([&](Connection& c) { return tenancy::create_organization(c, organization, now_ms()); });
}

std::optional<Organization> TenancyRepository::get_organization(const std::string& id) {
  return db_.read([&](Connection& c) { return tenancy::get_organization(c, id); });
}

std::vector<Organization> TenancyRepository::list_organizations() {
  return db_.read([](Connection& c) { return tenancy::list_organizations(c); });
}

Organization TenancyRepository::ensure_organization(const Organization& organization) {
  return db_.write([&](Connection& c) { return tenancy::ensure_organization(c, organization, now_ms()); });
}

Workspace TenancyRepository::create_workspace(Workspace workspace) {
  return db_.write([&](Connection& c) { return tenancy::create_workspace(c, workspace, now_ms()); });
}

std::optional<Workspace> TenancyRepository::get_workspace(const std::string& id) {
  return db_.read([&](Connection& c) { return tenancy::get_workspace(c, id); });
}

std::optional<Workspace> TenancyRepository::get_workspace(const std::string& organization_id, const std::string& id) {
  return db_.read([&](Connection& c) { return tenancy::get_workspace(c, organization_id, id); });
}

std::vector<Workspace> TenancyRepository::list_workspaces(const std::string& organization_id) {
  return db_.read([&](Connection& c) { return tenancy::list_workspaces(c, organization_id); });
}

Workspace TenancyRepository::ensure_workspace(const Workspace& workspace) {
  return db_.write([&](Connection& c) { return tenancy::ensure_workspace(c, workspace, now_ms()); });
}

Page<Organization> TenancyRepository::page_organizations(const PageRequest& page) {
  return db_.read([&](Connection& c) { return tenancy::page_organizations(c, page); });
}

Page<Workspace> TenancyRepository::page_workspaces(const std::string& organization_id, const PageRequest& page) {
  return db_.read([&](Connection& c) { return tenancy::page_workspaces(c, organization_id, page); });
}

std::optional<Organization> TenancyRepository::rename_organization(const std::string& id, const std::string& name) {
  return db_.write([&](Connection& c) { return tenancy::rename_organization(c, id, name, now_ms()); });
}

std::optional<Workspace> TenancyRepository::update_workspace(const std::string& organization_id,
                                                             const std::string& id,
                                                             const std::optional<std::string>& name,
                                                             const std::optional<std::string>& timezone) {
  return db_.write(
      [&](Connection& c) { return tenancy::update_workspace(c, organization_id, id, name, timezone, now_ms()); });
}

}  // namespace sb::store
