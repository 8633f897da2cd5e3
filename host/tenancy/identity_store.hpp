#pragma once
// The rows of the tenancy room (migration 005): users, memberships,
// invitations, refresh tokens, API keys, dashboards, the audit log.
//
// Free functions take a store::Connection so that services compose them in
// one write job or one read; stateless, usable from any thread. Lookups of
// tenant rows filter on the organization / workspace they are asked for.
#include "store/database.hpp"
#include "store/page.hpp"
#include "tenancy/roles.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::tenancy {

struct User {
  std::string id;  // "usr_..."
  std::string email;
  std::string name;
  std::string password_hash;
  bool engine_admin = false;
  bool disabled = false;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};
// Without the password hash: {"id","email","name","engine_admin","disabled","created_at","updated_at"}
nlohmann::json to_json(const User& user);

struct Membership {
  std::string user_id;
  std::string organization_id;
  std::string workspace_id;  // "" = every workspace of the organization
  Role role = Role::viewer;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};
nlohmann::json to_json(const Membership& membership);

struct Invitation {
  std::string id;  // "inv_..."
  std::string organization_id;
  std::string workspace_id;
  std::string email;
  Role role = Role::viewer;
  std::string invited_by;
  int64_t expires_at = 0;
  std::optional<int64_t> accepted_at;
  std::optional<int64_t> revoked_at;
  int64_t created_at = 0;
};
nlohmann::json to_json(const Invitation& invitation);

struct RefreshToken {
  std::string id;
  std::string family_id;
  std::string user_id;
  std::string secret_hash;
  int64_t expires_at = 0;
  std::optional<int64_t> used_at;
  std::optional<int64_t> revoked_at;
  int64_t created_at = 0;
};

struct ApiKey {
  std::string id;  // "key_..."
  std::string organization_id;
  std::string workspace_id;  // "" = the whole organization
  std::string name;
  std::vector<Scope> scopes;
  std::string secret_hash;
  std::string kind = "key";  // key | dashboard
  std::string created_by;
  int64_t created_at = 0;
  std::optional<int64_t> last_used_at;
  std::optional<int64_t> expires_at;
  std::optional<int64_t> revoked_at;
  std::optional<std::string> replaced_by;
  bool has(Scope scope) const;
};
// Without the hash.
nlohmann::json to_json(const ApiKey& key);

struct Dashboard {
  std::string organization_id;  // the agency
  std::string name;
  std::string url;
  std::string webhook_secret;  // sealed
  std::string api_key_id;
  std::string status = "active";  // active | suspended
  int64_t created_at = 0;
  int64_t updated_at = 0;
};
// Without the webhook secret, with the seed's names: {"agencyId","dashboardName","dashboardUrl","status",...}
nlohmann::json to_json(const Dashboard& dashboard);

struct AuditEntry {
  int64_t seq = 0;
  std::string organization_id;
  std::string workspace_id;
  std::string actor_type;  // user | api_key | dashboard | engine | anonymous
  std::string actor_id;
  std::string action;
  std::string target_type;
  std::string target_id;
  nlohmann::json details = nlohmann::json::object();
  std::string ip;
  std::string request_id;
  int64_t created_at = 0;
};
nlohmann::json to_json(const AuditEntry& entry);

namespace identity {

// Users. Emails are compared lower-cased.
User insert_user(store::Connection& c, User user, int64_t now);  // conflict when the email is taken
std::optional<User> find_user(store::Connection& c, const std::string& id);
std::optional<User> find_user_by_email(store::Connection& c, const std::string& email);
int64_t count_users(store::Connection& c);
void set_password_hash(store::Connection& c, const std::string& user_id, const std::string& hash, int64_t now);

// Memberships.
void put_membership(store::Connection& c, const Membership& m, int64_t now);  // insert or change the role
bool delete_membership(store::Connection& c, const std::string& user_id, const std::string& organization_id,
                       const std::string& workspace_id);
std::vector<Membership> memberships_of(store::Connection& c, const std::string& user_id);
// The workspace's own members and the organization-wide ones, by (created_at, user id).
store::Page<Membership> members_of(store::Connection& c, const std::string& organization_id,
                                   const std::string& workspace_id, const store::PageRequest& page);
// The higher of the user's organization-wide and workspace role, if any.
std::optional<Role> role_in(store::Connection& c, const std::string& user_id, const std::string& organization_id,
                            const std::string& workspace_id);
// How many owners a workspace has (directly or organization-wide).
int64_t count_owners(store::Connection& c, const std::string& organization_id, const std::string& workspace_id);

// Invitations (the token's SHA-256 is the lookup key).
void insert_invitation(store::Connection& c, const Invitation& inv, const std::string& token_hash);
std::optional<Invitation> find_invitation_by_token(store::Connection& c, const std::string& token_hash);
std::optional<Invitation> find_invitation(store::Connection& c, const std::string& organization_id,
                                          const std::string& workspace_id, const std::string& id);
store::Page<Invitation> invitations_of(store::Connection& c, const std::string& organization_id,
                                       const std::string& workspace_id, const store::PageRequest& page);
void mark_invitation(store::Connection& c, const std::string& id, const char* column, int64_t now);

// Refresh tokens.
void insert_refresh(store::Connection& c, const RefreshToken& t);
std::optional<RefreshToken> find_refresh(store::Connection& c, const std::string& id);
// Marks `id` used; false when it was used or revoked already (a race lost).
bool use_refresh(store::Connection& c, const std::string& id, int64_t now);
int64_t revoke_family(store::Connection& c, const std::string& family_id, int64_t now);
int64_t revoke_user_refresh(store::Connection& c, const std::string& user_id, int64_t now);

// API keys.
void insert_api_key(store::Connection& c, const ApiKey& key);
std::optional<ApiKey> find_api_key(store::Connection& c, const std::string& id);
// A key of the organization, also of the workspace when `workspace_id` is
// not empty (organization-wide keys are listed with the organization).
store::Page<ApiKey> api_keys_of(store::Connection& c, const std::string& organization_id,
                                const std::string& workspace_id, const store::PageRequest& page);
void touch_api_key(store::Connection& c, const std::string& id, int64_t now);
bool revoke_api_key(store::Connection& c, const std::string& id, int64_t now);
void set_api_key_expiry(store::Connection& c, const std::string& id, int64_t expires_at,
                        const std::string& replaced_by);

// Dashboards.
void upsert_dashboard(store::Connection& c, const Dashboard& d);
std::optional<Dashboard> find_dashboard(store::Connection& c, const std::string& organization_id);
std::optional<Dashboard> find_dashboard_by_key(store::Connection& c, const std::string& api_key_id);
std::vector<Dashboard> list_dashboards(store::Connection& c);
bool set_dashboard_status(store::Connection& c, const std::string& organization_id, const std::string& status,
                          int64_t now);

// Audit.
void append_audit(store::Connection& c, const AuditEntry& e);
// Newest first; the cursor is (seq, "").
store::Page<AuditEntry> audit_of(store::Connection& c, const std::string& organization_id,
                                 const std::string& workspace_id, const store::PageRequest& page);

}  // namespace identity
}  // namespace sb::tenancy
