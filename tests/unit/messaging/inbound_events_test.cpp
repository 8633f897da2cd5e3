// What the inbound pipeline publishes besides message.received: a first
// message from a number creates its contact (contact.created) and a message
// outside an active conversation opens one (conversation.created), each once.
#include "messaging_test_host.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using sb::test::EventRecorder;
using sb::test::eventually;
using sb::test::MessagingHost;
using sb::test::TempDir;

TEST_CASE("a first message publishes contact.created and conversation.created once", "[messaging][inbound][events]") {
  TempDir dir("sb-inbound-events");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  EventRecorder recorder(host.bus, {"contact.created", "conversation.created", "message.received"});
  host.messaging->start();

  auto first = host.inject("p1", {{"id", "wamid.e1"}, {"from", "+14155550123"}, {"from_name", "Ana"},
                                  {"type", "text"}, {"text", "hello"}});
  REQUIRE(first.status == 200);
  const json ids = json::parse(first.body);
  REQUIRE(eventually([&] { return recorder.of_type("message.received").size() == 1; }));
  auto contacts = recorder.of_type("contact.created");
  REQUIRE(contacts.size() == 1);
  CHECK(contacts[0].data["id"] == ids["contact_id"]);
  CHECK(contacts[0].data["phone"] == "+14155550123");
  CHECK(contacts[0].workspace_id == sb::test::kWorkspace);
  auto conversations = recorder.of_type("conversation.created");
  REQUIRE(conversations.size() == 1);
  CHECK(conversations[0].data["id"] == ids["conversation_id"]);
  CHECK(conversations[0].data["contact_id"] == ids["contact_id"]);

  // The same conversation goes on; a redelivery is a duplicate: nothing new.
  REQUIRE(host.inject("p1", {{"id", "wamid.e2"}, {"from", "+14155550123"}, {"type", "text"}, {"text", "again"}})
              .status == 200);
  REQUIRE(host.inject("p1", {{"id", "wamid.e1"}, {"from", "+14155550123"}, {"type", "text"}, {"text", "hello"}})
              .status == 200);
  eventually([&] { return recorder.of_type("message.received").size() >= 2; });
  REQUIRE(recorder.of_type("message.received").size() == 2);
  CHECK(recorder.of_type("contact.created").size() == 1);
  CHECK(recorder.of_type("conversation.created").size() == 1);
}
