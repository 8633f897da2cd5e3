#pragma once
// Who is calling, and what they may see. Every API request is authenticated
// into a Principal from its headers, then every tenant-scoped operation
// asks AccessControl for the workspace (or organization) with the
// permission it needs:
//
//   - a workspace the principal cannot see at all -> sb::Error(not_found),
//     exactly as if it did not exist (never 403, never data);
//   - one it can see but without the permission -> sb::Error(forbidden).
//
// Credentials, in the order they are tried:
//   Authorization: Bearer <access token>   a person (tenancy/access_tokens)
//   X-API-Key: <ENGINE_API_KEY>            the engine admin (master key)
//   X-API-Key: sbk_<id>_<secret>           an API key or a dashboard's key
// Every secret is compared in constant time.
//
// Threads: stateless apart from the throttle of last-used stamps (its own
// mutex); safe from any thread.
#include "store/database.hpp"
#include "store/tenancy_repository.hpp"
#include "tenancy/access_tokens.hpp"
#include "tenancy/identity_store.hpp"
#include "tenancy/roles.hpp"

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sb::tenancy {

struct Principal {
  enum class Kind { engine, user, api_key, dashboard };
  Kind kind = Kind::user;
  std::string id;               // user id, key id, or "engine"
  std::string organization_id;  // a key's or dashboard's organization
  std::string workspace_id;     // a key's workspace ("" = the whole organization)
  std::vector<Scope> scopes;    // a key's scopes
  bool engine_admin = false;    // the master key, or a user who is engine admin
  std::string email;            // a user's

  // "user", "api_key", "dashboard", "engine" (the audit log's actor_type).
  std::string actor_type() const;
};

// What a request tells about itself, for the audit log.
struct RequestContext {
  std::string ip;
  std::string request_id;
};

struct AccessOptions {
  std::optional<std::string> engine_api_key;  // ENGINE_API_KEY
  std::optional<std::string> internal_psk;    // WORKFLOW_ENGINE_INTERNAL_PSK
};

class AccessControl {
 public:
  AccessControl(store::Database& db, const AccessTokens& tokens, AccessOptions options);

  // The caller, from a header lookup (lower-case names). Throws
  // sb::Error(unauthorized) for missing, expired, tampered, revoked or
  // unknown credentials, forbidden for a suspended dashboard's key or a
  // disabled user.
  Principal authenticate(const std::function<std::string(const std::string&)>& header);

  // True when `authorization` is "PSK <WORKFLOW_ENGINE_INTERNAL_PSK>".
  // Throws sb::Error(unavailable) when no PSK is configured.
  bool check_psk(const std::string& authorization) const;

  // The workspace, if `p` may see it and has `permission` there (see above).
  store::Workspace authorize_workspace(const Principal& p, const std::string& workspace_id, Permission permission);
  // The organization, for organization-level acts: engine admins, keys of
  // the organization (org-wide ones for anything beyond read) and users
  // with an organization-wide role.
  store::Organization authorize_organization(const Principal& p, const std::string& organization_id,
                                             Permission permission);
  // Without throwing: may `p` see events of this workspace at all?
  bool can_see(const Principal& p, const std::string& organization_id, const std::string& workspace_id);
  // The effective role of `p` in the workspace: a user's role, owner for
  // the engine admin, the role its scopes amount to for a key (manage ->
  // admin, send -> operator, read -> viewer). nullopt when it cannot see it.
  std::optional<Role> role_of(const Principal& p, const std::string& organization_id, const std::string& workspace_id);

 private:
  Principal authenticate_key(const std::string& presented);
  void touch_key_throttled(const std::string& key_id);

  store::Database& db_;
  const AccessTokens& tokens_;
  const AccessOptions options_;
  std::mutex touched_mu_;
  std::map<std::string, int64_t> touched_;  // key id -> last stamp written (ms)
};

// "sbk_<id>_<secret>" as shown once at creation, and the parts of one.
std::string format_api_key(const std::string& id, const std::string& secret);
bool split_api_key(const std::string& presented, std::string& id, std::string& secret);

}  // namespace sb::tenancy
