#include "tenancy/api_keys.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "tenancy/accounts.hpp"
#include "tenancy/crypto.hpp"

namespace sb::tenancy {
namespace {

Error key_not_found(const std::string& id) {
  return Error(ErrorCode::not_found, "API key " + id + " not found", {{"field", "key_id"}});
}

}  // namespace

CreatedKey ApiKeys::insert(store::Connection& c, const Principal& by, const RequestContext& ctx,
                           const std::string& organization_id, const std::string& workspace_id,
                           const std::string& name, const std::vector<Scope>& scopes, const std::string& kind) {
  if (name.empty() || name.size() > 200)
    throw Error(ErrorCode::invalid_argument, "\"name\" must be 1 to 200 characters", {{"field", "name"}});
  if (scopes.empty())
    throw Error(ErrorCode::invalid_argument, "\"scopes\" must name at least one of read, send, manage",
                {{"field", "scopes"}});
  CreatedKey out;
  ApiKey& k = out.key;
  k.id = new_id("key");
  k.organization_id = organization_id;
  k.workspace_id = workspace_id;
  k.name = name;
  k.scopes = scopes;
  k.kind = kind;
  k.created_by = by.actor_type() + ":" + by.id;
  k.created_at = now_ms();
  const std::string secret = random_token(32);
  k.secret_hash = sha256_hex(secret);
  out.secret = format_api_key(k.id, secret);
  identity::insert_api_key(c, k);
  nlohmann::json scope_names = nlohmann::json::array();
  for (Scope s : scopes) scope_names.push_back(std::string(to_string(s)));
  identity::append_audit(c, audit_entry(&by, ctx, "api_key.created", organization_id, workspace_id, "api_key", k.id,
                                        {{"name", name}, {"scopes", scope_names}, {"kind", kind}}));
  return out;
}

CreatedKey ApiKeys::create(const Principal& by, const RequestContext& ctx, const std::string& organization_id,
                           const std::string& workspace_id, const std::string& name, const std::vector<Scope>& scopes,
                           const std::string& kind) {
  return db_.write([&](store::Connection& c) {
    return insert(c, by, ctx, organization_id, workspace_id, name, scopes, kind);
  });
}

std::optional<ApiKey> ApiKeys::find(const std::string& organization_id, const std::string& workspace_id,
                                    const std::string& id) {
  auto k = db_.read([&](store::Connection& c) { return identity::find_api_key(c, id); });
  if (!k || k->organization_id != organization_id || k->workspace_id != workspace_id) return std::nullopt;
  return k;
}

ApiKey ApiKeys::revoke(const Principal& by, const RequestContext& ctx, const std::string& organization_id,
                       const std::string& workspace_id, const std::string& id) {
  return db_.write([&](store::Connection& c) {
    auto k = identity::find_api_key(c, id);
    if (!k || k->organization_id != organization_id || k->workspace_id != workspace_id) throw key_not_found(id);
    if (identity::revoke_api_key(c, id, now_ms()))
      identity::append_audit(c, audit_entry(&by, ctx, "api_key.revoked", organization_id, workspace_id, "api_key", id));
    return *identity::find_api_key(c, id);
  });
}

CreatedKey ApiKeys::rotate(const Principal& by, const RequestContext& ctx, const std::string& organization_id,
                           const std::string& workspace_id, const std::string& id, int64_t overlap_ms) {
  if (overlap_ms < 0 || overlap_ms > 30LL * 24 * 3600 * 1000)
    throw Error(ErrorCode::invalid_argument, "\"overlap_seconds\" must be between 0 and 30 days",
                {{"field", "overlap_seconds"}});
  return db_.write([&](store::Connection& c) {
    auto old = identity::find_api_key(c, id);
    if (!old || old->organization_id != organization_id || old->workspace_id != workspace_id) throw key_not_found(id);
    if (old->revoked_at) throw Error(ErrorCode::conflict, "API key " + id + " is revoked; create a new one");
    CreatedKey next = insert(c, by, ctx, organization_id, workspace_id, old->name, old->scopes, old->kind);
    const int64_t at = now_ms();
    if (overlap_ms == 0) identity::revoke_api_key(c, id, at);
    identity::set_api_key_expiry(c, id, at + overlap_ms, next.key.id);
    identity::append_audit(c, audit_entry(&by, ctx, "api_key.rotated", organization_id, workspace_id, "api_key", id,
                                          {{"replaced_by", next.key.id}, {"overlap_ms", overlap_ms}}));
    return next;
  });
}

}  // namespace sb::tenancy
