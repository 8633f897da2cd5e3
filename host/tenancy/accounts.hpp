#pragma once
// People and their sessions: sign-up of the first owner, a bootstrap admin
// from config, login with email + password (argon2id), access + refresh
// tokens, refresh rotation with reuse detection, logout, password change,
// invitations. Every sensitive act is written to the audit log in the same
// write job as the act itself.
//
// Refresh tokens are "rt_<id>.<secret>"; only the secret's SHA-256 is kept.
// Every refresh marks the presented token used and issues the next one of
// its family; presenting a used token again (a stolen copy, or the thief
// racing the owner) revokes the whole family and is refused.
//
// Threads: stateless over the database; safe from any thread.
#include "store/database.hpp"
#include "store/tenancy_repository.hpp"
#include "tenancy/access.hpp"
#include "tenancy/access_tokens.hpp"
#include "tenancy/crypto.hpp"
#include "tenancy/identity_store.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace sb::tenancy {

struct AccountsOptions {
  PasswordCost password_cost = PasswordCost::interactive;
  int64_t refresh_ttl_ms = 7LL * 24 * 3600 * 1000;     // 7 days
  int64_t invitation_ttl_ms = 7LL * 24 * 3600 * 1000;  // 7 days
  std::function<int64_t()> clock;                       // Unix ms; default now_ms()
};

struct TokenPair {
  std::string access_token;
  int64_t access_expires_in = 0;  // seconds
  std::string refresh_token;
  int64_t refresh_expires_in = 0;  // seconds
  User user;
};
nlohmann::json to_json(const TokenPair& tokens);

struct SignupResult {
  User user;
  store::Organization organization;
  store::Workspace workspace;
  TokenPair tokens;
};

struct CreatedInvitation {
  Invitation invitation;
  std::string token;  // shown once
};

// An audit entry for `action` by `actor` (nullptr: anonymous).
AuditEntry audit_entry(const Principal* actor, const RequestContext& ctx, std::string action,
                       std::string organization_id, std::string workspace_id, std::string target_type,
                       std::string target_id, nlohmann::json details = nlohmann::json::object());

class Accounts {
 public:
  Accounts(store::Database& db, const AccessTokens& tokens, AccountsOptions options = {});

  // Only while no user exists: creates the organization, its first
  // workspace and the user, who owns the organization and is engine admin.
  // conflict once anyone has signed up.
  SignupResult signup_first_owner(const std::string& email, const std::string& password, const std::string& name,
                                  const std::string& organization_name, const std::string& workspace_name,
                                  const RequestContext& ctx);
  // An engine admin from config, created when no user has the email (an
  // existing user's password is left alone).
  User ensure_bootstrap_admin(const std::string& email, const std::string& password);

  // unauthorized ("the email or password is wrong") for either mistake, so
  // that a caller cannot tell which accounts exist; both are audited.
  TokenPair login(const std::string& email, const std::string& password, const RequestContext& ctx);
  TokenPair refresh(const std::string& refresh_token, const RequestContext& ctx);
  // Revokes the token's family (this device's session).
  void logout(const std::string& refresh_token, const RequestContext& ctx);
  // Checks the current password, stores the new one, and revokes every
  // refresh token of the user (all sessions must log in again).
  void change_password(const Principal& user, const std::string& current, const std::string& next,
                       const RequestContext& ctx);

  CreatedInvitation invite(const Principal& by, const store::Workspace& workspace, const std::string& email,
                           Role role, const RequestContext& ctx);
  // Accepts: a new user is created with `name` and `password`; an existing
  // user (same email) must give their current password. Adds the role.
  TokenPair accept_invitation(const std::string& token, const std::string& name, const std::string& password,
                              const RequestContext& ctx);

  // Checks a new password's length (8..1024); invalid_argument naming `field`.
  static void check_password(const std::string& password, const char* field);

 private:
  TokenPair issue(store::Connection& c, const User& user, const std::string& family_id, int64_t now);
  int64_t now() const;

  store::Database& db_;
  const AccessTokens& tokens_;
  const AccountsOptions options_;
  // A hash of the configured cost that no password matches: an unknown email
  // is verified against it, so a login takes as long either way.
  const std::string dummy_hash_;
};

}  // namespace sb::tenancy
