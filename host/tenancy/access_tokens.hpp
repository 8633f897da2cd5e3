#pragma once
// Short-lived access tokens: JWTs signed with HMAC-SHA256 (libjwt), issued
// at login and refresh, presented as `Authorization: Bearer <jwt>`.
//
// Claims: iss "switchboard", aud "switchboard-api", sub (user id), iat, exp,
// jti, typ "access". The token names the user only: roles are read on every
// request, so a changed or removed role takes effect at once.
//
// Immutable after construction: safe from any thread.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace sb::tenancy {

struct AccessClaims {
  std::string user_id;
  std::string token_id;  // jti
  int64_t issued_at = 0;   // Unix seconds
  int64_t expires_at = 0;  // Unix seconds
};

class AccessTokens {
 public:
  // `key`: the 32-byte signing key. `ttl_seconds`: 900 (15 minutes) by default.
  // `clock`: Unix seconds (tests move it).
  AccessTokens(std::string key, int64_t ttl_seconds = 900, std::function<int64_t()> clock = {});

  std::string issue(const std::string& user_id) const;
  // The claims of a valid token: signature (HS256 only: "none" and every
  // other algorithm are refused), issuer, audience, type and expiry
  // checked. nullopt with `why` filled otherwise.
  std::optional<AccessClaims> verify(const std::string& token, std::string* why = nullptr) const;

  int64_t ttl_seconds() const { return ttl_; }

 private:
  int64_t now() const;
  std::string key_;
  int64_t ttl_;
  std::function<int64_t()> clock_;
};

}  // namespace sb::tenancy
