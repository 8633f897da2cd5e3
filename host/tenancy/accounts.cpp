#include "tenancy/accounts.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"

#include <cctype>

namespace sb::tenancy {
namespace {

using nlohmann::json;

Error wrong_credentials() { return Error(ErrorCode::unauthorized, "the email or password is wrong"); }
Error refused_refresh(const std::string& why) {
  return Error(ErrorCode::unauthorized, "the refresh token is refused: " + why);
}

bool split_refresh(const std::string& token, std::string& id, std::string& secret) {
  if (token.rfind("rt_", 0) != 0 || token.size() > 256) return false;
  const auto dot = token.find('.');
  if (dot == std::string::npos) return false;
  id = token.substr(0, dot);
  secret = token.substr(dot + 1);
  return !secret.empty();
}

void check_email(const std::string& email) {
  const auto at = email.find('@');
  if (email.size() > 254 || at == std::string::npos || at == 0 || at + 1 >= email.size() ||
      email.find_first_of(" \t\r\n") != std::string::npos)
    throw Error(ErrorCode::invalid_argument, "\"email\" must be an email address", {{"field", "email"}});
}

}  // namespace

json to_json(const TokenPair& t) {
  return {{"access_token", t.access_token},
          {"token_type", "Bearer"},
          {"expires_in", t.access_expires_in},
          {"refresh_token", t.refresh_token},
          {"refresh_expires_in", t.refresh_expires_in},
          {"user", to_json(t.user)}};
}

AuditEntry audit_entry(const Principal* actor, const RequestContext& ctx, std::string action,
                       std::string organization_id, std::string workspace_id, std::string target_type,
                       std::string target_id, json details) {
  AuditEntry e;
  e.organization_id = std::move(organization_id);
  e.workspace_id = std::move(workspace_id);
  e.actor_type = actor ? actor->actor_type() : "anonymous";
  e.actor_id = actor ? actor->id : "";
  e.action = std::move(action);
  e.target_type = std::move(target_type);
  e.target_id = std::move(target_id);
  e.details = std::move(details);
  e.ip = ctx.ip;
  e.request_id = ctx.request_id;
  e.created_at = now_ms();
  return e;
}

Accounts::Accounts(store::Database& db, const AccessTokens& tokens, AccountsOptions options)
    : db_(db),
      tokens_(tokens),
      options_(std::move(options)),
      dummy_hash_(hash_password(random_token(16), options_.password_cost)) {}

int64_t Accounts::now() const { return options_.clock ? options_.clock() : now_ms(); }

void Accounts::check_password(const std::string& password, const char* field) {
  if (password.size() < 8 || password.size() > 1024)
    throw Error(ErrorCode::invalid_argument, std::string("\"") + field + "\" must be 8 to 1024 characters long",
                {{"field", field}});
}

TokenPair Accounts::issue(store::Connection& c, const User& user, const std::string& family_id, int64_t at) {
  RefreshToken rt;
  rt.id = new_id("rt");
  rt.family_id = family_id;
  rt.user_id = user.id;
  const std::string secret = random_token(32);
  rt.secret_hash = sha256_hex(secret);
  rt.created_at = at;
  rt.expires_at = at + options_.refresh_ttl_ms;
  identity::insert_refresh(c, rt);
  TokenPair out;
  out.access_token = tokens_.issue(user.id);
  out.access_expires_in = tokens_.ttl_seconds();
  out.refresh_token = rt.id + "." + secret;
  out.refresh_expires_in = options_.refresh_ttl_ms / 1000;
  out.user = user;
  return out;
}

SignupResult Accounts::signup_first_owner(const std::string& email, const std::string& password,
                                          const std::string& name, const std::string& organization_name,
                                          const std::string& workspace_name, const RequestContext& ctx) {
  check_email(email);
  check_password(password, "password");
  if (organization_name.empty() || organization_name.size() > 200)
    throw Error(ErrorCode::invalid_argument, "\"organization_name\" must be 1 to 200 characters",
                {{"field", "organization_name"}});
  const std::string hash = hash_password(password, options_.password_cost);  // off the writer thread
  return db_.write([&](store::Connection& c) {
    if (identity::count_users(c) > 0)
      throw Error(ErrorCode::conflict,
                  "sign-up is closed: the first owner exists already; ask an admin for an invitation");
    const int64_t at = now();
    SignupResult r;
    r.organization = store::tenancy::create_organization(c, {"", organization_name, 0}, at);
    store::Workspace ws;
    ws.organization_id = r.organization.id;
    ws.name = workspace_name.empty() ? "Default" : workspace_name;
    r.workspace = store::tenancy::create_workspace(c, ws, at);
    User u;
    u.email = email;
    u.name = name;
    u.password_hash = hash;
    u.engine_admin = true;
    r.user = identity::insert_user(c, u, at);
    identity::put_membership(c, {r.user.id, r.organization.id, "", Role::owner, at, at}, at);
    Principal p{Principal::Kind::user, r.user.id, "", "", {}, true, r.user.email};
    identity::append_audit(c, audit_entry(&p, ctx, "user.signup", r.organization.id, "", "user", r.user.id));
    r.tokens = issue(c, r.user, new_id("fam"), at);
    return r;
  });
}

User Accounts::ensure_bootstrap_admin(const std::string& email, const std::string& password) {
  check_email(email);
  check_password(password, "bootstrap_admin.password");
  if (auto existing = db_.read([&](store::Connection& c) { return identity::find_user_by_email(c, email); }))
    return *existing;
  const std::string hash = hash_password(password, options_.password_cost);
  return db_.write([&](store::Connection& c) {
    if (auto existing = identity::find_user_by_email(c, email)) return *existing;
    User u;
    u.email = email;
    u.name = "Engine admin";
    u.password_hash = hash;
    u.engine_admin = true;
    User stored = identity::insert_user(c, u, now());
    identity::append_audit(c, audit_entry(nullptr, {}, "user.bootstrap_admin", "", "", "user", stored.id));
    return stored;
  });
}

TokenPair Accounts::login(const std::string& email, const std::string& password, const RequestContext& ctx) {
  auto user = db_.read([&](store::Connection& c) { return identity::find_user_by_email(c, email); });
  // Verify against a real hash even for an unknown email, so the time taken
  // does not tell which accounts exist.
  const bool ok = verify_password(password, user ? user->password_hash : dummy_hash_) && user && !user->disabled;
  if (!ok) {
    db_.write([&](store::Connection& c) {
      identity::append_audit(c, audit_entry(nullptr, ctx, "login.failed", "", "", "user", user ? user->id : "",
                                            {{"email", email.substr(0, 254)}}));
    });
    throw wrong_credentials();
  }
  return db_.write([&](store::Connection& c) {
    Principal p{Principal::Kind::user, user->id, "", "", {}, user->engine_admin, user->email};
    identity::append_audit(c, audit_entry(&p, ctx, "login", "", "", "user", user->id));
    return issue(c, *user, new_id("fam"), now());
  });
}

TokenPair Accounts::refresh(const std::string& refresh_token, const RequestContext& ctx) {
  std::string id, secret;
  if (!split_refresh(refresh_token, id, secret)) throw refused_refresh("it is malformed");
  const std::string hash = sha256_hex(secret);
  struct Outcome {
    std::optional<TokenPair> tokens;
    std::string error;
  };
  // The reuse check and the revocation it causes commit even though the
  // caller gets an error, so they run in a job that does not throw.
  Outcome out = db_.write([&](store::Connection& c) -> Outcome {
    auto rt = identity::find_refresh(c, id);
    if (!rt || !constant_time_equal(hash, rt->secret_hash)) return {std::nullopt, "it is unknown"};
    const int64_t at = now();
    if (rt->revoked_at) return {std::nullopt, "it has been revoked"};
    if (rt->expires_at <= at) return {std::nullopt, "it has expired"};
    if (rt->used_at || !identity::use_refresh(c, rt->id, at)) {
      identity::revoke_family(c, rt->family_id, at);
      identity::append_audit(c, audit_entry(nullptr, ctx, "refresh.reuse_detected", "", "", "user", rt->user_id,
                                            {{"family_id", rt->family_id}}));
      return {std::nullopt, "it was used already, so this session has been revoked; log in again"};
    }
    auto user = identity::find_user(c, rt->user_id);
    if (!user || user->disabled) return {std::nullopt, "its user is gone or disabled"};
    return {issue(c, *user, rt->family_id, at), ""};
  });
  if (!out.tokens) throw refused_refresh(out.error);
  return *out.tokens;
}

void Accounts::logout(const std::string& refresh_token, const RequestContext& ctx) {
  std::string id, secret;
  if (!split_refresh(refresh_token, id, secret)) throw refused_refresh("it is malformed");
  const std::string hash = sha256_hex(secret);
  const bool ok = db_.write([&](store::Connection& c) {
    auto rt = identity::find_refresh(c, id);
    if (!rt || !constant_time_equal(hash, rt->secret_hash)) return false;
    identity::revoke_family(c, rt->family_id, now());
    Principal p{Principal::Kind::user, rt->user_id, "", "", {}, false, ""};
    identity::append_audit(c, audit_entry(&p, ctx, "logout", "", "", "user", rt->user_id));
    return true;
  });
  if (!ok) throw refused_refresh("it is unknown");
}

void Accounts::change_password(const Principal& p, const std::string& current, const std::string& next,
                               const RequestContext& ctx) {
  if (p.kind != Principal::Kind::user) throw Error(ErrorCode::forbidden, "only a person can change a password");
  check_password(next, "new_password");
  auto user = db_.read([&](store::Connection& c) { return identity::find_user(c, p.id); });
  if (!user || !verify_password(current, user->password_hash))
    throw Error(ErrorCode::unauthorized, "the current password is wrong", {{"field", "current_password"}});
  const std::string hash = hash_password(next, options_.password_cost);
  db_.write([&](store::Connection& c) {
    const int64_t at = now();
    identity::set_password_hash(c, p.id, hash, at);
    identity::revoke_user_refresh(c, p.id, at);
    identity::append_audit(c, audit_entry(&p, ctx, "password.changed", "", "", "user", p.id));
  });
}

CreatedInvitation Accounts::invite(const Principal& by, const store::Workspace& ws, const std::string& email,
                                   Role role, const RequestContext& ctx) {
  check_email(email);
  CreatedInvitation out;
  out.token = "inv." + random_token(32);
  Invitation& i = out.invitation;
  i.id = new_id("inv");
  i.organization_id = ws.organization_id;
  i.workspace_id = ws.id;
  i.email = ascii_lower(email);
  i.role = role;
  i.invited_by = by.id;
  i.created_at = now();
  i.expires_at = i.created_at + options_.invitation_ttl_ms;
  db_.write([&](store::Connection& c) {
    identity::insert_invitation(c, i, sha256_hex(out.token));
    identity::append_audit(c, audit_entry(&by, ctx, "invitation.created", ws.organization_id, ws.id, "invitation",
                                          i.id, {{"email", i.email}, {"role", std::string(to_string(role))}}));
  });
  return out;
}

TokenPair Accounts::accept_invitation(const std::string& token, const std::string& name, const std::string& password,
                                      const RequestContext& ctx) {
  auto inv = db_.read([&](store::Connection& c) { return identity::find_invitation_by_token(c, sha256_hex(token)); });
  const int64_t at = now();
  if (!inv || inv->revoked_at || inv->accepted_at || inv->expires_at <= at)
    throw Error(ErrorCode::not_found, "the invitation is unknown, used, revoked or expired", {{"field", "token"}});
  auto existing = db_.read([&](store::Connection& c) { return identity::find_user_by_email(c, inv->email); });
  std::string hash;
  if (existing) {
    if (!verify_password(password, existing->password_hash))
      throw Error(ErrorCode::unauthorized, "an account with this email exists: give its current password",
                  {{"field", "password"}});
  } else {
    check_password(password, "password");
    hash = hash_password(password, options_.password_cost);
  }
  return db_.write([&](store::Connection& c) {
    auto again = identity::find_invitation_by_token(c, sha256_hex(token));
    if (!again || again->accepted_at || again->revoked_at)
      throw Error(ErrorCode::not_found, "the invitation is unknown, used, revoked or expired", {{"field", "token"}});
    User user;
    if (existing) {
      user = *existing;
    } else {
      User u;
      u.email = inv->email;
      u.name = name;
      u.password_hash = hash;
      user = identity::insert_user(c, u, at);
    }
    // Never lower a role the user has already.
    const auto current = identity::role_in(c, user.id, inv->organization_id, inv->workspace_id);
    if (!current || static_cast<int>(*current) < static_cast<int>(inv->role))
      identity::put_membership(c, {user.id, inv->organization_id, inv->workspace_id, inv->role, at, at}, at);
    identity::mark_invitation(c, inv->id, "accepted_at", at);
    Principal p{Principal::Kind::user, user.id, "", "", {}, user.engine_admin, user.email};
    identity::append_audit(c, audit_entry(&p, ctx, "invitation.accepted", inv->organization_id, inv->workspace_id,
                                          "user", user.id, {{"role", std::string(to_string(inv->role))}}));
    return issue(c, user, new_id("fam"), at);
  });
}

}  // namespace sb::tenancy
