// Channel sessions: one instance per profile; a profile that cannot have one
// is marked FAILED with the reason, and the others go on.
#include "messaging_test_host.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using sb::test::eventually;
using sb::test::MessagingHost;
using sb::test::TempDir;

TEST_CASE("a profile whose channel cannot start is marked FAILED and the others still open",
          "[messaging][sessions]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("good");
  host.seed_profile("missing-plugin", "channel-nope");
  host.seed_profile("bad-config", "channel-sandbox", {{"no_such_key", true}});
  host.messaging->start();

  auto& sessions = host.messaging->sessions();
  CHECK(sessions.find("good") != nullptr);
  CHECK(sessions.find("missing-plugin") == nullptr);
  CHECK(sessions.find("bad-config") == nullptr);

  auto missing = host.row("SELECT status, status_detail FROM profiles WHERE id = 'missing-plugin'");
  CHECK(missing->text("status") == "FAILED");
  CHECK_THAT(missing->text("status_detail"), Catch::Contains("channel-nope"));
  auto bad = host.row("SELECT status, status_detail FROM profiles WHERE id = 'bad-config'");
  CHECK(bad->text("status") == "FAILED");
  CHECK_THAT(bad->text("status_detail"), Catch::Contains("no_such_key"));
  REQUIRE(sessions.failure("missing-plugin"));

  // The good one works: it answers its routes.
  CHECK(host.inject("good", {{"from", "+15551234567"}, {"text", "hi"}}).status == 200);
}

TEST_CASE("messages to a profile without a session are retried and then fail with the reason",
          "[messaging][sessions][outbox]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());  // max_attempts 5, fast backoff
  host.seed_profile("missing-plugin", "channel-nope");
  host.messaging->start();

  std::vector<std::string> ids;
  for (const char* to : {"+15552223333", "+15552223333", "+15552224444"}) {
    sb::messaging::OutgoingMessage m;
    m.profile_id = "missing-plugin";
    m.to = to;
    m.text = "hello";
    ids.push_back(host.messaging->outbox().enqueue(m).message_id);
  }
  // They give up together (each retried max_attempts times), not one after another.
  REQUIRE(eventually([&] {
    return host.count("SELECT COUNT(*) AS n FROM messages WHERE status = 'failed'") == 3;
  }, std::chrono::seconds(5)));
  for (const std::string& id : ids) {
    CHECK_THAT(host.row("SELECT error FROM messages WHERE id = ?", {id})->text("error"),
               Catch::Contains("no channel session") && Catch::Contains("channel-nope"));
    CHECK(host.row("SELECT attempts FROM outbox WHERE message_id = ?", {id})->integer("attempts") == 5);
  }
}

TEST_CASE("stopping messaging destroys the sessions and their routes", "[messaging][sessions]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  host.messaging->start();
  CHECK(host.inject("p1", {{"from", "+15551234567"}, {"text", "hi"}}).status == 200);

  host.messaging->stop();
  CHECK(host.messaging->sessions().find("p1") == nullptr);
  CHECK_THROWS_AS(host.inject("p1", {{"from", "+15551234567"}, {"text", "hi"}}), sb::Error);
  host.messaging->stop();  // twice is fine
}
