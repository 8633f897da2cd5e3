#pragma once
// Organizations (the seeds' agencies / accounts) and their workspaces (the
// seeds' tenants).
//
// The free functions in `tenancy::` take a Connection so that services can
// compose them inside one write job (or one read); TenancyRepository wraps
// each over a Database (db.write for writes, db.read for reads). Stateless:
// usable from any thread.
#include "store/database.hpp"
#include "store/page.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::store {

struct Organization {
  std::string id;  // "org_..." unless given
  std::string name;
  int64_t created_at = 0;  // Unix ms
};

struct Workspace {
  std::string id;  // "ws_..." unless given
  std::string organization_id;
  std::string name;
  std::string timezone = "UTC";  // IANA name
  int64_t created_at = 0;        // Unix ms
};

// {"id","name","created_at"}
nlohmann::json to_json(const Organization& organization);
// {"id","organization_id","name","timezone","created_at"}
nlohmann::json to_json(const Workspace& workspace);

namespace tenancy {

// Inserts `organization`, generating its id when empty and stamping
// created_at with `now`. Throws sb::Error: invalid_argument for an empty
// name, conflict when the id is taken.
Organization create_organization(Connection& c, Organization organization, int64_t now);
std::optional<Organization> get_organization(Connection& c, const std::string& id);
// Oldest first.
std::vector<Organization> list_organizations(Connection& c);
// For seeding: inserts `organization` unless a row with its id exists, and
// returns the stored row. An existing row is left as it is, so a rename
// made by an admin survives restarts. The id is required.
Organization ensure_organization(Connection& c, const Organization& organization, int64_t now);

// Inserts `workspace` like create_organization. Throws sb::Error:
// not_found when its organization does not exist, invalid_argument for an
// empty name or timezone, conflict when the id is taken.
Workspace create_workspace(Connection& c, Workspace workspace, int64_t now);
// Any workspace by id: for engine-level callers only.
std::optional<Workspace> get_workspace(Connection& c, const std::string& id);
// The workspace only if it belongs to `organization_id` (a workspace of
// another organization reads as absent, never as forbidden).
std::optional<Workspace> get_workspace(Connection& c, const std::string& organization_id, const std::string& id);
// An organization's workspaces, oldest first.
std::vector<Workspace> list_workspaces(Connection& c, const std::string& organization_id);
// For seeding, like ensure_organization. Throws sb::Error(conflict) when the
// id exists under another organization, not_found when the organization
// does not exist.
Workspace ensure_workspace(Connection& c, const Workspace& workspace, int64_t now);

// Every organization by (created_at, id), newest first: for engine admins.
// Throws sb::Error(invalid_argument) for a page limit outside 1..1000.
Page<Organization> page_organizations(Connection& c, const PageRequest& page);
// An organization's workspaces by (created_at, id), newest first.
Page<Workspace> page_workspaces(Connection& c, const std::string& organization_id, const PageRequest& page);

// Sets the name; returns the organization as stored, nullopt when there is
// no such one. Throws sb::Error(invalid_argument) for an empty name.
// `now` is unused until organizations record when they changed.
std::optional<Organization> rename_organization(Connection& c, const std::string& id, const std::string& name,
                                                int64_t now);
// Sets the name and/or the time zone (nullopt keeps one) of the workspace
// if it belongs to `organization_id`; returns it as stored, nullopt when
// that organization has no such workspace. Throws
// sb::Error(invalid_argument) for an empty name or time zone; that a time
// zone is a known IANA name is the caller's to check
// (flows::is_valid_timezone: the store sits above the flows room). `now`
// is unused until workspaces record when they changed.
std::optional<Workspace> update_workspace(Connection& c, const std::string& organization_id, const std::string& id,
                                          const std::optional<std::string>& name,
                                          const std::optional<std::string>& timezone, int64_t now);

}  // namespace tenancy

class TenancyRepository {
 public:
  explicit TenancyRepository(Database& db) : db_(db) {}

  Organization create_organization(Organization organization);
  std::optional<Organization> get_organization(const std::string& id);
  std::vector<Organization> list_organizations();
  Organization ensure_organization(const Organization& organization);

  Workspace create_workspace(Workspace workspace);
  std::optional<Workspace> get_workspace(const std::string& id);
  std::optional<Workspace> get_workspace(const std::string& organization_id, const std::string& id);
  std::vector<Workspace> list_workspaces(const std::string& organization_id);
  Workspace ensure_workspace(const Workspace& workspace);

  Page<Organization> page_organizations(const PageRequest& page);
  Page<Workspace> page_workspaces(const std::string& organization_id, const PageRequest& page);
  std::optional<Organization> rename_organization(const std::string& id, const std::string& name);
  std::optional<Workspace> update_workspace(const std::string& organization_id, const std::string& id,
                                            const std::optional<std::string>& name,
                                            const std::optional<std::string>& timezone);

 private:
  Database& db_;
};

}  // namespace sb::store
