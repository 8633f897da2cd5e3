#include "tenancy/access_tokens.hpp"

#include "core/error.hpp"
#include "tenancy/crypto.hpp"

#include <jwt.h>

#include <chrono>
#include <cstdlib>
#include <memory>

namespace sb::tenancy {
namespace {

constexpr const char* kIssuer = "switchboard";
constexpr const char* kAudience = "switchboard-api";

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

std::string grant(jwt_t* j, const char* name) {
  const char* v = jwt_get_grant(j, name);
  return v ? std::string(v) : std::string();
}

}  // namespace

AccessTokens::AccessTokens(std::string key, int64_t ttl_seconds, std::function<int64_t()> clock)
    : key_(std::move(key)), ttl_(ttl_seconds), clock_(std::move(clock)) {
  if (key_.size() < 32) throw Error(ErrorCode::internal, "the token signing key must be at least 32 bytes");
}

int64_t AccessTokens::now() const {
  if (clock_) return clock_();
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string AccessTokens::issue(const std::string& user_id) const {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw Error(ErrorCode::internal, "cannot create a token");
  JwtPtr j(raw);
  const int64_t iat = now();
  const bool ok = jwt_add_grant(j.get(), "iss", kIssuer) == 0 && jwt_add_grant(j.get(), "aud", kAudience) == 0 &&
                  jwt_add_grant(j.get(), "sub", user_id.c_str()) == 0 &&
                  jwt_add_grant(j.get(), "typ", "access") == 0 &&
                  jwt_add_grant(j.get(), "jti", random_token(12).c_str()) == 0 &&
                  jwt_add_grant_int(j.get(), "iat", iat) == 0 && jwt_add_grant_int(j.get(), "exp", iat + ttl_) == 0 &&
                  jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key_.data()),
                              static_cast<int>(key_.size())) == 0;
  if (!ok) throw Error(ErrorCode::internal, "cannot sign a token");
  char* text = jwt_encode_str(j.get());
  if (!text) throw Error(ErrorCode::internal, "cannot encode a token");
  std::string out(text);
  std::free(text);  // libjwt 1.10 allocates with malloc (jwt_free_str came later)
  return out;
}

std::optional<AccessClaims> AccessTokens::verify(const std::string& token, std::string* why) const {
  auto fail = [&](const char* reason) -> std::optional<AccessClaims> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (token.empty() || token.size() > 4096) return fail("the token is malformed");
  // Refuse anything but HS256 before libjwt looks at it: a token with
  // "alg":"none" must never verify.
  const auto dot = token.find('.');
  if (dot == std::string::npos) return fail("the token is malformed");
  const auto header = base64url_decode(token.substr(0, dot));
  if (!header || header->find("\"HS256\"") == std::string::npos) return fail("the token is not signed with HS256");
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                 static_cast<int>(key_.size())) != 0 ||
      !raw)
    return fail("the token's signature does not verify");
  JwtPtr j(raw);
  if (jwt_get_alg(j.get()) != JWT_ALG_HS256) return fail("the token is not signed with HS256");
  if (grant(j.get(), "iss") != kIssuer || grant(j.get(), "aud") != kAudience)
    return fail("the token is for another audience");
  if (grant(j.get(), "typ") != "access") return fail("the token is not an access token");
  AccessClaims claims;
  claims.user_id = grant(j.get(), "sub");
  claims.token_id = grant(j.get(), "jti");
  errno = 0;
  claims.issued_at = jwt_get_grant_int(j.get(), "iat");
  claims.expires_at = jwt_get_grant_int(j.get(), "exp");
  if (errno != 0 || claims.user_id.empty()) return fail("the token is missing claims");
  if (claims.expires_at <= now()) return fail("the token has expired");
  return claims;
}

}  // namespace sb::tenancy
