// Status changes reach the bus under both names: "message.status" for the
// listeners that have always had it, and "message.<status>".
#include "messaging/status_events.hpp"

#include <catch2/catch.hpp>

#include <vector>

TEST_CASE("status events: a change is published as message.status and as message.<status>", "[messaging][status]") {
  sb::EventBus bus;
  std::vector<sb::Event> seen;
  auto sub = bus.subscribe("*", [&](const sb::Event& e) { seen.push_back(e); });

  sb::store::Message m;
  m.id = "msg_1";
  m.organization_id = "org_1";
  m.workspace_id = "ws_1";
  m.profile_id = "p_1";
  m.conversation_id = "cnv_1";
  m.contact_id = "ct_1";
  m.direction = "out";
  m.external_id = "ext-1";
  sb::messaging::publish_status_change(bus, m, "delivered", std::nullopt);
  sb::messaging::publish_status_change(bus, m, "failed", std::string("blocked"));

  REQUIRE(seen.size() == 4);
  CHECK(seen[0].type == "message.status");
  CHECK(seen[1].type == "message.delivered");
  CHECK(seen[2].type == "message.status");
  CHECK(seen[3].type == "message.failed");
  for (const auto& e : seen) {
    CHECK(e.workspace_id == "ws_1");
    CHECK(e.profile_id == "p_1");
    for (const char* field : {"message_id", "external_id", "conversation_id", "contact_id", "workspace_id",
                              "organization_id", "status", "error", "at"})
      CHECK(e.data.contains(field));
    CHECK(e.data["organization_id"] == "org_1");
    CHECK(e.data["external_id"] == "ext-1");
  }
  CHECK(seen[1].data == seen[0].data);
  CHECK(seen[1].data["status"] == "delivered");
  CHECK(seen[1].data["error"].is_null());
  CHECK(seen[3].data["error"] == "blocked");
}
