#include "core/error.hpp"
#include "tenancy/access_tokens.hpp"
#include "tenancy/crypto.hpp"
#include "tenancy/rate_limiter.hpp"
#include "tenancy/roles.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sys/stat.h>

using namespace sb::tenancy;

TEST_CASE("random tokens are base64url, distinct and round-trip through the decoder", "[tenancy]") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto t = random_token(32);
    CHECK(t.size() == 43);
    CHECK(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
    CHECK(base64url_decode(t)->size() == 32);
    seen.insert(t);
  }
  CHECK(seen.size() == 100);
  CHECK_FALSE(base64url_decode("not base64!").has_value());
}

TEST_CASE("sha256_hex matches the published test vector and constant_time_equal compares exactly", "[tenancy]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(constant_time_equal("secret", "secret"));
  CHECK_FALSE(constant_time_equal("secret", "secreT"));
  CHECK_FALSE(constant_time_equal("secret", "secret2"));
  CHECK_FALSE(constant_time_equal("", "x"));
}

TEST_CASE("argon2id password hashes verify the right password only", "[tenancy]") {
  const auto hash = hash_password("correct horse", PasswordCost::min);
  CHECK(hash.rfind("$argon2id$", 0) == 0);
  CHECK(verify_password("correct horse", hash));
  CHECK_FALSE(verify_password("correct horsf", hash));
  CHECK_FALSE(verify_password("correct horse", "garbage"));
  CHECK(hash_password("correct horse", PasswordCost::min) != hash);  // salted
}

TEST_CASE("SecretBox seals with AES-256-GCM and refuses another key or a tampered value", "[tenancy]") {
  SecretBox box(std::string(32, 'k'));
  const auto sealed = box.seal("EAAG-token-123");
  CHECK(SecretBox::is_sealed(sealed));
  CHECK(sealed.find("EAAG") == std::string::npos);
  CHECK(box.open(sealed) == "EAAG-token-123");
  CHECK(box.seal("x") != box.seal("x"));  // a fresh nonce each time

  SecretBox other(std::string(32, 'o'));
  CHECK_THROWS_AS(other.open(sealed), sb::Error);
  std::string tampered = sealed;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  CHECK_THROWS_AS(box.open(tampered), sb::Error);
  CHECK_THROWS_AS(box.open("plain"), sb::Error);
}

TEST_CASE("a key is generated once into the data dir with mode 0600 and read back", "[tenancy]") {
  sb::test::TempDir dir("sb-keys");
  const auto path = dir.path() / "keys" / "secrets.key";
  const auto first = load_or_create_key(std::nullopt, path, "secrets key");
  CHECK(first.size() == 32);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(load_or_create_key(std::nullopt, path, "secrets key") == first);
  CHECK(load_or_create_key(std::string(64, 'a'), path, "secrets key") == std::string(32, '\xaa'));
  CHECK_THROWS_WITH(load_or_create_key(std::string("short"), path, "secrets key"),
                    Catch::Contains("64 hex characters or base64url"));
  std::ofstream(path) << "broken";
  CHECK_THROWS_WITH(load_or_create_key(std::nullopt, path, "secrets key"), Catch::Contains("does not hold"));
}

TEST_CASE("access tokens verify until they expire and refuse tampering, other keys and alg none", "[tenancy]") {
  int64_t now = 1'000'000;
  AccessTokens tokens(std::string(32, 's'), 900, [&] { return now; });
  const auto token = tokens.issue("usr_1");
  auto claims = tokens.verify(token);
  REQUIRE(claims);
  CHECK(claims->user_id == "usr_1");
  CHECK(claims->expires_at == now + 900);

  std::string why;
  now += 901;
  CHECK_FALSE(tokens.verify(token, &why));
  CHECK(why == "the token has expired");
  now -= 901;

  AccessTokens other(std::string(32, 'x'), 900, [&] { return now; });
  CHECK_FALSE(other.verify(token, &why));

  std::string tampered = token;
  tampered[token.find('.') + 5] ^= 1;
  CHECK_FALSE(tokens.verify(tampered));

  // {"alg":"none","typ":"JWT"} . {"sub":"usr_1",...} . (no signature)
  const auto payload = token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
  const std::string none = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".";
  CHECK_FALSE(tokens.verify(none, &why));
  CHECK_FALSE(tokens.verify("garbage"));
  CHECK_FALSE(tokens.verify(""));
}

TEST_CASE("the permission table orders roles and maps permissions to key scopes", "[tenancy]") {
  CHECK(allows(Role::viewer, Permission::read));
  CHECK_FALSE(allows(Role::viewer, Permission::send));
  CHECK(allows(Role::operator_, Permission::send));
  CHECK(allows(Role::operator_, Permission::handle_conversations));
  CHECK_FALSE(allows(Role::operator_, Permission::edit_flows));
  CHECK(allows(Role::admin, Permission::connect_numbers));
  CHECK(allows(Role::admin, Permission::manage_keys));
  CHECK_FALSE(allows(Role::admin, Permission::manage_workspace));
  CHECK(allows(Role::owner, Permission::manage_workspace));
  CHECK(required_scope(Permission::read) == Scope::read);
  CHECK(required_scope(Permission::send) == Scope::send);
  CHECK(required_scope(Permission::edit_flows) == Scope::manage);
  for (auto p : all_permissions()) CHECK_FALSE(to_string(p).empty());
  CHECK(parse_role("operator") == Role::operator_);
  CHECK_FALSE(parse_role("god").has_value());
}

TEST_CASE("a token bucket allows its burst, then refills at its rate", "[tenancy]") {
  double now = 100;
  RateLimiter limiter(2, 3, [&] { return now; });
  CHECK_FALSE(limiter.take("k"));
  CHECK_FALSE(limiter.take("k"));
  CHECK_FALSE(limiter.take("k"));
  auto wait = limiter.take("k");
  REQUIRE(wait);
  CHECK(*wait == Approx(0.5));
  CHECK_FALSE(limiter.take("other"));  // buckets are per key
  now += 0.5;
  CHECK_FALSE(limiter.take("k"));
  CHECK(limiter.take("k"));
}

TEST_CASE("failed logins beyond the free ones must wait longer each time, and a success clears them", "[tenancy]") {
  double now = 0;
  LoginThrottle throttle(3, 60, [&] { return now; });
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(throttle.check("a@x"));
    throttle.failed("a@x");
  }
  auto wait = throttle.check("a@x");
  REQUIRE(wait);
  CHECK(*wait == Approx(1.0));
  now += 1;
  CHECK_FALSE(throttle.check("a@x"));
  throttle.failed("a@x");
  CHECK(*throttle.check("a@x") == Approx(2.0));
  CHECK_FALSE(throttle.check("b@x"));
  throttle.succeeded("a@x");
  CHECK_FALSE(throttle.check("a@x"));
}
