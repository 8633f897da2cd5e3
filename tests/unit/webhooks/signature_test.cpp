#include "webhooks/signature.hpp"

#include "unit/webhooks/loopback_receiver.hpp"

#include <catch2/catch.hpp>

TEST_CASE("dashboard deliveries are signed like the Standard Webhooks test vector", "[webhooks]") {
  // The vector of shared/protocols/standard-webhooks.md (whsec_ secrets are base64 keys).
  CHECK(sb::webhooks::standard_webhook_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                                 1614265330, R"({"test": 2432232314})") ==
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // Any other secret is used as given.
  CHECK(sb::webhooks::standard_webhook_signature("plain secret", "a", 1, "{}") !=
        sb::webhooks::standard_webhook_signature("plain secreT", "a", 1, "{}"));
}

TEST_CASE("the tests' own verifier agrees with the spec's test vector, and new secrets are whsec_ keys", "[webhooks]") {
  // The verifier the webhook tests check deliveries with shares no code with the host's.
  CHECK(sb::test::independent_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                        "1614265330", R"({"test": 2432232314})") ==
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  const std::string a = sb::webhooks::new_webhook_secret(), b = sb::webhooks::new_webhook_secret();
  CHECK(a != b);
  REQUIRE(a.rfind("whsec_", 0) == 0);
  CHECK(sb::test::b64_decode(a.substr(6)).size() == 32);
  CHECK(sb::webhooks::standard_webhook_signature(a, "msg_x", 5, "{}") ==
        sb::test::independent_signature(a, "msg_x", "5", "{}"));
}
