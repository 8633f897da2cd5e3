// The small rules of the messaging room: E.164 phones, message statuses and
// the outbox's retry delays.
#include "core/error.hpp"
#include "messaging/message_rules.hpp"
#include "messaging/outbox.hpp"
#include "messaging/phone.hpp"

#include <catch2/catch.hpp>

using sb::messaging::normalize_phone;
using sb::messaging::status_advances;
using sb::messaging::try_normalize_phone;

TEST_CASE("phone numbers are normalized to E.164 by dropping spaces, dashes and parentheses", "[messaging][phone]") {
  CHECK(normalize_phone("+15551234567") == "+15551234567");
  CHECK(normalize_phone("+1 (555) 123-4567") == "+15551234567");
  CHECK(normalize_phone("  +44 20 7946 0958 ") == "+442079460958");
  CHECK(normalize_phone("+12345678") == "+12345678");           // 8 digits: the shortest allowed
  CHECK(normalize_phone("+123456789012345") == "+123456789012345");  // 15 digits: the longest
}

TEST_CASE("phone numbers without a leading plus or with the wrong number of digits are refused", "[messaging][phone]") {
  for (const char* bad : {"15551234567", "", "+", "+1234567", "+1234567890123456", "+1555abc4567", "+1555+1234567",
                          "1+5551234567", "+1.555.123.4567"}) {
    INFO(bad);
    CHECK_FALSE(try_normalize_phone(bad));
  }
  try {
    normalize_phone("555", "from");
    FAIL("expected an error");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains("from") && Catch::Contains("E.164"));
  }
}

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
