#pragma once
// API keys of a workspace or of a whole organization, with scopes (read,
// send, manage). The key "sbk_<id>_<secret>" is shown once, at creation or
// rotation; only the secret's SHA-256 is stored. Rotation issues a new key
// with the same name and scopes and lets the old one work for an overlap
// period, after which it expires by itself.
//
// Threads: stateless over the database; safe from any thread.
#include "store/database.hpp"
#include "tenancy/access.hpp"
#include "tenancy/identity_store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sb::tenancy {

struct CreatedKey {
  ApiKey key;
  std::string secret;  // the whole "sbk_..." string, shown once
};

class ApiKeys {
 public:
  explicit ApiKeys(store::Database& db) : db_(db) {}

  // `workspace_id` "" = organization-wide. invalid_argument for an empty or
  // long name, or no scopes. `kind` "dashboard" is for the registry only.
  CreatedKey create(const Principal& by, const RequestContext& ctx, const std::string& organization_id,
                    const std::string& workspace_id, const std::string& name, const std::vector<Scope>& scopes,
                    const std::string& kind = "key");
  // A key of exactly this owner (organization + workspace), else nullopt.
  std::optional<ApiKey> find(const std::string& organization_id, const std::string& workspace_id,
                             const std::string& id);
  // not_found when the key is not this owner's; idempotent otherwise.
  ApiKey revoke(const Principal& by, const RequestContext& ctx, const std::string& organization_id,
                const std::string& workspace_id, const std::string& id);
  // The new key; the old one keeps working for `overlap_ms` (0: revoked now).
  CreatedKey rotate(const Principal& by, const RequestContext& ctx, const std::string& organization_id,
                    const std::string& workspace_id, const std::string& id, int64_t overlap_ms);

 private:
  CreatedKey insert(store::Connection& c, const Principal& by, const RequestContext& ctx,
                    const std::string& organization_id, const std::string& workspace_id, const std::string& name,
                    const std::vector<Scope>& scopes, const std::string& kind);
  store::Database& db_;
};

}  // namespace sb::tenancy
