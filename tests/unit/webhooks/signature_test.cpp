#include "webhooks/dashboard_notifier.hpp"

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
