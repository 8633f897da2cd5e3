// The small rules of the messaging room: message statuses and the outbox's
// retry delays.
#include "core/error.hpp"
#include "messaging/message_rules.hpp"
#include "messaging/outbox.hpp"

#include <catch2/catch.hpp>

using sb::messaging::status_advances;

// Phone numbers: phone_test.cpp.

TEST_CASE("an outbound status only moves forward and failed is terminal", "[messaging][status]") {
  CHECK(status_advances("queued", "sent"));
  CHECK(status_advances("sent", "delivered"));
  CHECK(status_advances("sent", "read"));  // a read receipt may overtake the delivered one
  CHECK(status_advances("delivered", "read"));
  CHECK(status_advances("queued", "failed"));
  CHECK(status_advances("sent", "failed"));

  CHECK_FALSE(status_advances("read", "delivered"));
  CHECK_FALSE(status_advances("delivered", "sent"));
  CHECK_FALSE(status_advances("read", "read"));
  CHECK_FALSE(status_advances("delivered", "failed"));  // the recipient already has it
  CHECK_FALSE(status_advances("failed", "sent"));
  CHECK_FALSE(status_advances("failed", "read"));
  CHECK_FALSE(status_advances("sent", "received"));
  CHECK_FALSE(status_advances("sent", "bogus"));
}

TEST_CASE("retry delays grow exponentially with jitter and stay under the cap", "[messaging][outbox]") {
  sb::messaging::OutboxOptions o;
  o.base_backoff = std::chrono::milliseconds(100);
  o.max_backoff = std::chrono::milliseconds(1000);
  for (int i = 0; i < 50; ++i) {
    auto first = sb::messaging::retry_delay(o, 1).count();
    auto third = sb::messaging::retry_delay(o, 3).count();
    auto tenth = sb::messaging::retry_delay(o, 10).count();
    CHECK(first >= 50);
    CHECK(first <= 100);
    CHECK(third >= 200);
    CHECK(third <= 400);
    CHECK(tenth >= 500);
    CHECK(tenth <= 1000);
  }
}
