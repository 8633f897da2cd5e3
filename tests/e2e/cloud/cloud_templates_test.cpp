// Bad Cloud API sends refused before they are queued: a template the number
// does not have as APPROVED (the host asks the channel's templates.list,
// which the plugin answers from Graph's message_templates, every page), and
// a non-template message outside WhatsApp's 24-hour customer-service window.
// A real `switchboard serve` against the fake Graph API; "nothing queued"
// is counted in the database.
#include "fakes/fake_graph_api.hpp"
#include "support/api_host.hpp"
#include "support/db_count.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::eventually;
using sb::test::FakeGraphApi;
using sb::test::Tenant;
using sb::test::TempDir;

namespace {

constexpr std::chrono::seconds kWait{20};
const json kFastLimits = {{"user_rate", 1000}, {"user_burst", 1000}, {"key_rate", 1000}, {"key_burst", 1000}};
constexpr const char* kAppSecret = "meta-app-secret-for-tests";
constexpr const char* kProfile = "cloud-t";
const std::string kHook = std::string("/hooks/channel-whatsapp-cloud/") + kProfile + "/webhook";

struct TemplateHost {
  TempDir dir{"sb-cloud-tpl"};
  FakeGraphApi graph;
  ApiHost api{dir.path(), kFastLimits};
  Tenant t = api.make_tenant("t");

  explicit TemplateHost(bool with_waba = true, int listing_failures = 0) {
    graph.fail_template_listings(listing_failures);
    json config = {{"phone_number_id", graph.phone_number_id()}, {"access_token", graph.access_token()},
                   {"app_secret", kAppSecret},                  {"verify_token", "vt"},
                   {"graph_base_url", graph.base_url()},        {"timeout_ms", 3000}};
    if (with_waba) config["waba_id"] = graph.waba_id();
    auto made = api.call("POST", "/api/v1/workspaces/" + t.workspace_id + "/profiles",
                         {{"id", kProfile}, {"name", "Cloud"}, {"channel_plugin", "channel-whatsapp-cloud"},
                          {"connect", true}, {"config", config}},
                         t.owner_auth());
    INFO(made.raw);
    REQUIRE(made.status == 201);
    REQUIRE(eventually([&] {
      auto r = api.call("GET", "/api/v1/workspaces/" + t.workspace_id + "/profiles/" + kProfile + "/status", nullptr,
                        t.owner_auth());
      return r.status == 200 && r.body["status"] == "CONNECTED";
    }, kWait));
  }

  sb::test::ApiResult send(const std::string& to, const std::string& type, json payload, const std::string& text = "") {
    json body = {{"profile_id", kProfile}, {"to", to}, {"type", type}};
    if (!text.empty()) body["text"] = text;
    if (!payload.is_null()) body["payload"] = std::move(payload);
    return api.call("POST", "/api/v1/workspaces/" + t.workspace_id + "/messages", body, t.owner_auth());
  }
  sb::test::ApiResult send_template(const std::string& to, const std::string& name, const std::string& language = "en_US") {
    return send(to, "template", {{"template", {{"name", name}, {"language", language}}}});
  }
  int64_t rows(const char* table) {
    return sb::test::count(api.host().db_path(), std::string("SELECT COUNT(*) FROM ").append(table));
  }
  int64_t outbound() {
    return sb::test::count(api.host().db_path(), "SELECT COUNT(*) FROM messages WHERE direction = 'out'");
  }
  bool graph_sent(size_t n) {
    return eventually([&] { return graph.sent_count() >= n; }, kWait);
  }
  void contact_writes(const std::string& from, const std::string& wamid) {
    const json n = sb::test::cloud_notification(
        graph.phone_number_id(),
        json::array({{{"id", wamid}, {"from", from}, {"type", "text"}, {"text", {{"body", "hi"}}}}}));
    auto c = api.host().client();
    auto r = sb::test::post_signed_webhook(*c, kHook, n.dump(), kAppSecret);
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
};

}  // namespace

TEST_CASE("cloud templates: an approved template is sent, an unknown name or language is a 400 with nothing queued",
          "[cloud][templates]") {
  TemplateHost h;
  h.graph.set_template_page_size(1);  // three pages: the plugin follows paging
  h.graph.set_templates({{"hello_world"}, {"order_update", "pt_BR"}, {"promo_draft", "en_US", "PENDING"}});

  auto ok = h.send_template("+15551110001", "hello_world");
  INFO(ok.raw);
  REQUIRE(ok.status == 202);
  REQUIRE(h.graph_sent(1));
  CHECK(h.graph.sent().back()["template"]["name"] == "hello_world");
  const size_t listings = h.graph.template_listings();
  CHECK(listings == 3);  // one listing, three pages
  for (const auto& r : h.graph.requests())
    if (r.path.find("/message_templates") != std::string::npos)
      CHECK(r.authorization == "Bearer " + h.graph.access_token());

  const int64_t messages = h.outbound(), queued = h.rows("outbox");
  auto unknown = h.send_template("+15551110002", "no_such_template");
  INFO(unknown.raw);
  CHECK(unknown.status == 400);
  CHECK(unknown.body["error"]["message"] ==
        "template \"no_such_template\" (en_US) is not an approved template of this number");
  CHECK(unknown.body["error"]["details"]["reason"] == "unknown_template");
  CHECK(unknown.body["error"]["details"]["field"] == "payload.template.name");

  auto language = h.send_template("+15551110002", "order_update", "en_US");
  CHECK(language.status == 400);
  CHECK(language.body["error"]["details"]["reason"] == "unknown_template");
  CHECK(language.body["error"]["message"].get<std::string>().find("approved in: pt_BR") != std::string::npos);

  auto pending = h.send_template("+15551110002", "promo_draft");
  CHECK(pending.status == 400);
  CHECK(pending.body["error"]["message"].get<std::string>().find("PENDING") != std::string::npos);

  CHECK(h.outbound() == messages);
  CHECK(h.rows("outbox") == queued);

  // The listing is cached: another approved send asks Graph for nothing.
  const size_t before = h.graph.template_listings();
  REQUIRE(h.send_template("+15551110003", "order_update", "pt_BR").status == 202);
  CHECK(h.graph.template_listings() == before);
  REQUIRE(h.graph_sent(2));

  // A template approved since the listing: a miss looks again before refusing.
  h.graph.add_template("spring_sale", "en_US");
  REQUIRE(eventually([&] { return h.send_template("+15551110004", "spring_sale").status == 202; }, kWait));
  REQUIRE(h.graph_sent(3));
  CHECK(h.graph.sent().back()["template"]["name"] == "spring_sale");
}

TEST_CASE("cloud templates: a listing that fails does not block a send, and without waba_id nothing is checked",
          "[cloud][templates]") {
  SECTION("Graph answers 500 to the listing") {
    TemplateHost h(true, 100);
    auto r = h.send_template("+15551120001", "hello_world");
    INFO(r.raw);
    REQUIRE(r.status == 202);
    REQUIRE(h.graph_sent(1));
    // Not a listing per send while it fails.
    const size_t listings = h.graph.template_listings();
    CHECK(listings >= 1);
    REQUIRE(h.send_template("+15551120002", "order_update").status == 202);
    CHECK(h.graph.template_listings() == listings);
    CHECK(h.api.host().log_tail(100000).find("could not list the number's templates") != std::string::npos);
  }
  SECTION("no waba_id: the channel does not list templates, Meta decides") {
    TemplateHost h(false);
    auto r = h.send_template("+15551120003", "no_such_template");
    CHECK(r.status == 202);
    CHECK(h.graph.template_listings() == 0);
  }
}

TEST_CASE("cloud window: a text to a contact who has not written is refused, a template goes, and after the contact "
          "writes a text goes",
          "[cloud][window]") {
  TemplateHost h;
  const std::string to = "+15551130001";
  const int64_t messages = h.outbound(), queued = h.rows("outbox");
  auto text = h.send(to, "text", nullptr, "hello there");
  INFO(text.raw);
  CHECK(text.status == 400);
  CHECK(text.body["error"]["details"]["reason"] == "outside_24h_window");
  CHECK(text.body["error"]["message"] ==
        "more than 24 hours since the contact last wrote: only an approved template may be sent");
  auto image = h.send(to, "image", {{"url", "https://example.com/a.png"}});
  CHECK(image.status == 400);
  CHECK(image.body["error"]["details"]["reason"] == "outside_24h_window");
  CHECK(h.outbound() == messages);
  CHECK(h.rows("outbox") == queued);

  auto tpl = h.send_template(to, "hello_world");
  INFO(tpl.raw);
  REQUIRE(tpl.status == 202);
  REQUIRE(h.graph_sent(1));

  h.contact_writes("15551130001", "wamid.WIN1");
  auto reply = h.send(to, "text", nullptr, "thanks for writing");
  INFO(reply.raw);
  REQUIRE(reply.status == 202);
  REQUIRE(h.graph_sent(2));
  CHECK(h.graph.sent().back()["text"]["body"] == "thanks for writing");
  // And in the conversation route too.
  auto conv = h.api.call("POST",
                         "/api/v1/workspaces/" + h.t.workspace_id + "/conversations/" +
                             reply.body["conversation_id"].get<std::string>() + "/messages",
                         {{"type", "text"}, {"text", "one more"}}, h.t.owner_auth());
  CHECK(conv.status == 202);
}

TEST_CASE("cloud campaigns: a campaign must send an approved template, checked when it is created", "[cloud][templates]") {
  TemplateHost h;
  h.graph.set_templates({{"spring_promo"}});
  const std::string base = "/api/v1/workspaces/" + h.t.workspace_id + "/campaigns";
  const json audience = {{"csv", "phone\n+12025550109\n"}};
  const int64_t campaigns_before = h.rows("campaigns");

  auto text = h.api.call("POST", base,
                         {{"name", "Text blast"}, {"profile_id", kProfile}, {"message", {{"type", "text"}, {"text", "Hi"}}},
                          {"audience", audience}},
                         h.t.owner_auth());
  INFO(text.raw);
  CHECK(text.status == 400);
  CHECK(text.body["error"]["details"]["reason"] == "outside_24h_window");
  CHECK(text.body["error"]["details"]["field"] == "message.type");

  auto unknown = h.api.call("POST", base,
                            {{"name", "Unknown"}, {"profile_id", kProfile},
                             {"message", {{"type", "template"}, {"payload", {{"template", {{"name", "nope"}, {"language", "en_US"}}}}}}},
                             {"audience", audience}},
                            h.t.owner_auth());
  CHECK(unknown.status == 400);
  CHECK(unknown.body["error"]["details"]["reason"] == "unknown_template");
  CHECK(h.rows("campaigns") == campaigns_before);  // nothing half-made

  auto good = h.api.call("POST", base,
                         {{"name", "Promo"}, {"profile_id", kProfile},
                          {"message", {{"type", "template"}, {"payload", {{"template", {{"name", "spring_promo"}, {"language", "en_US"}}}}}}},
                          {"audience", audience}, {"start", true}},
                         h.t.owner_auth());
  INFO(good.raw);
  REQUIRE(good.status == 201);
  REQUIRE(h.graph_sent(1));
  CHECK(h.graph.sent().back()["template"]["name"] == "spring_promo");
}
