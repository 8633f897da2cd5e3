// End to end: POST /hooks/flows/<flow> on a real `switchboard serve` starts
// the flow with the webhook trigger when X-Flow-Secret is right, in the
// conversation with the phone given, and answers 401 / 404 otherwise.
#include "support/eventually.hpp"
#include "support/host_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using nlohmann::json;
using sb::test::eventually;
using sb::test::HostProcess;
using sb::test::TempDir;

namespace {

constexpr const char* kSecret = "a-webhook-secret-of-some-length";

// The demo workspace reads <data_dir>/flows/demo/; the demo's own flows are
// seeded only when that folder does not exist, so this is the only flow.
void write_hook_flow(const std::filesystem::path& data_dir) {
  const auto dir = data_dir / "flows" / "demo";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "shipped.flow.json") << json{
      {"schema", "switchboard.flow/1"},
      {"id", "shipped"},
      {"rev", 1},
      {"name", "Order shipped"},
      {"trigger", {{"type", "webhook"}, {"secret", kSecret}}},
      {"start", "tell"},
      {"nodes", json::array({{{"id", "tell"}, {"type", "send_text"}, {"typeVersion", 1},
                              {"config", {{"text", "Order {{vars.order}} is on its way, {{contact.phone}}"}}}}})},
      {"edges", json::array()}}.dump(2);
}

void check_error(const httplib::Result& res, int status, const std::string& code) {
  REQUIRE(res);
  INFO("body: " << res->body);
  CHECK(res->status == status);
  const auto body = json::parse(res->body, nullptr, false);
  REQUIRE(body.is_object());
  CHECK(body["error"]["code"] == code);
}

}  // namespace

TEST_CASE("a flow webhook with the right secret runs the flow and sends to the phone given; a wrong one is refused",
          "[e2e][flows]") {
  TempDir dir("sb-e2e-hook");
  write_hook_flow(dir.path());
  HostProcess host(dir.path());
  host.start();
  auto c = host.client();

  const json body = {{"profile", "demo"}, {"phone", "+15557770001"}, {"vars", {{"order", "A-17"}}}};
  auto res = c->Post("/hooks/flows/shipped", {{"X-Flow-Secret", kSecret}}, body.dump(), "application/json");
  REQUIRE(res);
  INFO("body: " << res->body << "\nhost log:\n" << host.log_tail());
  REQUIRE(res->status == 200);
  const auto result = json::parse(res->body);
  CHECK(result["status"] == "completed");
  CHECK(result["execution_id"].get<std::string>().rfind("exe", 0) == 0);

  REQUIRE(eventually([&] {
    auto out = c->Get("/hooks/channel-sandbox/demo/outbound");
    if (!out || out->status != 200) return false;
    const auto messages = json::parse(out->body)["messages"];
    return messages.size() == 1 && messages[0]["to"] == "+15557770001" &&
           messages[0]["text"] == "Order A-17 is on its way, +15557770001";
  }));

  check_error(c->Post("/hooks/flows/shipped", {{"X-Flow-Secret", "not-the-secret-at-all"}}, body.dump(),
                      "application/json"),
              401, "unauthorized");
  check_error(c->Post("/hooks/flows/shipped", body.dump(), "application/json"), 401, "unauthorized");
  check_error(c->Post("/hooks/flows/nope", {{"X-Flow-Secret", kSecret}}, body.dump(), "application/json"), 404,
              "not_found");
  host.stop();
}
