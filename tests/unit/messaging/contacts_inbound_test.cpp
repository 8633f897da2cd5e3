// Opt-out keywords through the real inbound pipeline: a STOP from the
// sandbox channel is stored as a message and opts its sender out in the
// same commit, publishing contact.updated once; START opts back in.
#include "messaging_test_host.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using sb::test::EventRecorder;
using sb::test::MessagingHost;
using sb::test::TempDir;

TEST_CASE("a STOP from the channel opts the sender out and publishes contact.updated once",
          "[messaging][contacts][opt-out]") {
  TempDir dir("sb-msg-optout");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  EventRecorder recorder(host.bus, {"contact.updated", "message.received"});
  host.messaging->start();

  REQUIRE(host.inject("p1", {{"from", "+12025550101"}, {"text", "hello"}, {"id", "m-1"}}).status == 200);
  CHECK(recorder.of_type("contact.updated").empty());
  REQUIRE(host.inject("p1", {{"from", "+12025550101"}, {"text", "STOP"}, {"id", "m-2"}}).status == 200);
  REQUIRE(host.inject("p1", {{"from", "+12025550101"}, {"text", "STOP"}, {"id", "m-2"}}).status == 200);  // redelivered
  REQUIRE(host.inject("p1", {{"from", "+12025550101"}, {"text", "stop"}, {"id", "m-3"}}).status == 200);  // again

  auto contact = host.row("SELECT * FROM contacts WHERE phone = '+12025550101'");
  REQUIRE(contact);
  CHECK(contact->integer("opted_out") == 1);
  CHECK(contact->text("opt_out_reason") == "keyword:STOP");
  CHECK(host.count("SELECT COUNT(*) AS n FROM messages WHERE direction = 'in'") == 3);  // the STOPs are messages too
  auto updated = recorder.of_type("contact.updated");
  REQUIRE(updated.size() == 1);
  CHECK(updated[0].data["opted_out"] == true);
  CHECK(updated[0].data["phone"] == "+12025550101");
  CHECK(updated[0].workspace_id == sb::test::kWorkspace);
  CHECK(recorder.of_type("message.received").size() == 3);

  REQUIRE(host.inject("p1", {{"from", "+12025550101"}, {"text", "Start"}, {"id", "m-4"}}).status == 200);
  contact = host.row("SELECT * FROM contacts WHERE phone = '+12025550101'");
  CHECK(contact->integer("opted_out") == 0);
  CHECK(contact->is_null("opted_out_at"));
  REQUIRE(recorder.of_type("contact.updated").size() == 2);
  CHECK(recorder.of_type("contact.updated")[1].data["opted_out"] == false);
}
