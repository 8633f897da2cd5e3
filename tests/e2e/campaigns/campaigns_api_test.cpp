// The campaigns API against the real host: create with an audience, add
// recipients as text/csv, read and page recipients by state, state changes
// and their conflicts, receipts and replies in the progress, isolation
// between workspaces, and a 100,000-recipient audience created in seconds.
#include "campaign_host.hpp"

#include <chrono>
#include <set>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::eventually;
using sb::test::require_error;
using sb::test::TempDir;

namespace {

std::string campaigns(const sb::test::Tenant& t) { return sb::test::workspace_path(t) + "/campaigns"; }

httplib::Result post_csv(ApiHost& api, const sb::test::Tenant& t, const std::string& path, const std::string& csv) {
  auto c = api.host().client();
  c->set_read_timeout(120, 0);
  return c->Post(path.c_str(), {{"X-API-Key", t.manage_key}}, csv, "text/csv");
}

json hook(ApiHost& api, const std::string& profile, const std::string& path, const json& body) {
  auto c = api.host().client();
  auto r = c->Post(("/hooks/recording-channel/" + profile + "/" + path).c_str(), body.dump(), "application/json");
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  return json::parse(r->body, nullptr, false);
}

}  // namespace

TEST_CASE("campaigns over the API: create, recipients, state changes, receipts and replies", "[campaigns][e2e]") {
  TempDir dir("sb-cmp-api");
  ApiHost api(dir.path(), sb::test::fast_limits(), sb::test::recording_env());
  const auto a = api.make_tenant("a");
  const auto file = dir.path() / "sends.jsonl";
  sb::test::make_recording_profile(api, a, "a-rec", file);
  auto opted = api.call("POST", sb::test::workspace_path(a) + "/contacts",
                        {{"phone", sb::test::campaign_phone(7)}, {"name", "Out"}, {"opted_out", true}}, a.owner_auth());
  REQUIRE(opted.status == 201);

  // Bad input first: nothing is created.
  require_error(api.call("POST", campaigns(a),
                         {{"name", "x"}, {"profile_id", "a-rec"}, {"message", {{"type", "text"}, {"text", "{{nme}}"}}}},
                         a.key_auth()),
                400, "invalid_argument");
  require_error(api.call("POST", campaigns(a),
                         {{"name", "x"}, {"profile_id", "nope"}, {"message", {{"type", "text"}, {"text", "hi"}}}},
                         a.key_auth()),
                404, "not_found");
  require_error(api.call("POST", campaigns(a),
                         {{"name", "x"}, {"profile_id", "a-rec"}, {"message", {{"type", "text"}, {"text", "hi"}}},
                          {"rate_per_minute", 0}},
                         a.key_auth()),
                400, "invalid_argument");

  auto made = api.call("POST", campaigns(a),
                       {{"id", "cmp-spring"},
                        {"name", "Spring"},
                        {"profile_id", "a-rec"},
                        {"message", {{"type", "text"}, {"text", "Hi {{name|there}} in {{metadata.city|town}}"}}},
                        {"rate_per_minute", 3000},
                        {"audience", {{"csv", sb::test::campaign_csv(0, 5) + "12345,Bad,X\n"}}}},
                       a.key_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
  CHECK(made.body["state"] == "draft");
  CHECK(made.body["audience_report"]["added"] == 5);
  CHECK(made.body["audience_report"]["skipped_by_reason"]["invalid phone"] == 1);
  CHECK(made.body["audience_report"]["errors"][0]["line"] == 7);

  // More recipients as a CSV body: the opted-out contact and a duplicate are skipped.
  const std::string more = "phone\n" + sb::test::campaign_phone(7) + "\n" + sb::test::campaign_phone(0) + "\n" +
                           sb::test::campaign_phone(5) + "\n";
  auto added = post_csv(api, a, campaigns(a) + "/cmp-spring/recipients", more);
  REQUIRE(added);
  INFO(added->body);
  REQUIRE(added->status == 200);
  const json report = json::parse(added->body);
  CHECK(report["added"] == 1);
  CHECK(report["skipped_by_reason"]["opted out"] == 1);
  CHECK(report["skipped_by_reason"]["duplicate"] == 1);

  auto listed = api.call("GET", campaigns(a) + "?state=draft", nullptr, a.key_auth());
  REQUIRE(listed.status == 200);
  REQUIRE(listed.body["data"].size() == 1);
  require_error(api.call("GET", campaigns(a) + "?state=bogus", nullptr, a.key_auth()), 400, "invalid_argument");
  require_error(api.call("POST", campaigns(a) + "/cmp-spring/pause", json::object(), a.key_auth()), 409, "conflict");

  auto started = api.call("POST", campaigns(a) + "/cmp-spring/start", json::object(), a.key_auth());
  REQUIRE(started.status == 200);
  REQUIRE(eventually([&] { return sb::test::campaign_progress(api, a, "cmp-spring")["state"] == "completed"; }));
  auto late = post_csv(api, a, campaigns(a) + "/cmp-spring/recipients", more);
  REQUIRE(late);
  CHECK(late->status == 409);  // recipients are added to drafts only
  require_error(api.call("POST", campaigns(a) + "/cmp-spring/start", json::object(), a.key_auth()), 409, "conflict");

  // Each recipient's own text.
  std::set<std::string> texts;
  for (const auto& s : sb::test::recorded_sends(file)) texts.insert(s["text"].get<std::string>());
  CHECK(texts.size() == 6);
  CHECK(texts.count("Hi Person 0 in City") == 1);
  CHECK(texts.count("Hi there in town") == 1);  // the CSV-only phone: no name, no city

  // Recipients paged in order, filtered by state.
  std::vector<json> all;
  std::string cursor;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = api.call("GET", campaigns(a) + "/cmp-spring/recipients?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor),
                         nullptr, a.key_auth());
    REQUIRE(page.status == 200);
    for (const auto& r : page.body["data"]) all.push_back(r);
    if (page.body["next_cursor"].is_null()) break;
    cursor = page.body["next_cursor"];
  }
  REQUIRE(all.size() == 9);
  for (size_t i = 1; i < all.size(); ++i) CHECK(all[i]["seq"] > all[i - 1]["seq"]);
  auto skipped = api.call("GET", campaigns(a) + "/cmp-spring/recipients?state=skipped", nullptr, a.key_auth());
  REQUIRE(skipped.body["data"].size() == 3);
  for (const auto& r : skipped.body["data"]) CHECK(r["reason"].is_string());

  // Receipts and a reply reach the progress.
  auto sent = api.call("GET", campaigns(a) + "/cmp-spring/recipients?state=sent", nullptr, a.key_auth());
  REQUIRE(sent.body["data"].size() == 6);
  const json first = sent.body["data"][0];
  auto message = api.call("GET", sb::test::workspace_path(a) + "/conversations/" + first["conversation_id"].get<std::string>() +
                                     "/messages",
                          nullptr, a.key_auth());
  REQUIRE(message.status == 200);
  std::string external_id;
  for (const auto& m : message.body["data"])
    if (m["id"] == first["message_id"]) external_id = m["external_id"];
  REQUIRE_FALSE(external_id.empty());
  hook(api, "a-rec", "status", {{"external_id", external_id}, {"status", "delivered"}});
  hook(api, "a-rec", "status", {{"external_id", external_id}, {"status", "read"}});
  hook(api, "a-rec", "inbound", {{"from", first["phone"]}, {"text", "tell me more"}, {"id", "in-1"}});
  REQUIRE(eventually([&] {
    auto p = sb::test::campaign_progress(api, a, "cmp-spring");
    return p["read"] == 1 && p["replied"] == 1;
  }));
  const json p = sb::test::campaign_progress(api, a, "cmp-spring");
  CHECK(p["delivered"] == 1);
  CHECK(p["sent"] == 6);
  CHECK(p["total"] == 9);

  // A finished campaign can be deleted; a running one cannot.
  CHECK(api.call("DELETE", campaigns(a) + "/cmp-spring", nullptr, a.key_auth()).status == 204);
  CHECK(api.call("GET", campaigns(a) + "/cmp-spring", nullptr, a.key_auth()).status == 404);
}

TEST_CASE("another workspace cannot see, start or target a campaign's contacts and profile", "[campaigns][e2e]") {
  TempDir dir("sb-cmp-iso");
  ApiHost api(dir.path(), sb::test::fast_limits(), sb::test::recording_env());
  const auto a = api.make_tenant("a");
  const auto b = api.make_tenant("b");
  sb::test::make_recording_profile(api, a, "a-rec", dir.path() / "a.jsonl");
  sb::test::make_recording_profile(api, b, "b-rec", dir.path() / "b.jsonl");
  auto contact = api.call("POST", sb::test::workspace_path(a) + "/contacts", {{"phone", sb::test::campaign_phone(1)}},
                          a.owner_auth());
  REQUIRE(contact.status == 201);
  const std::string a_contact = contact.body["id"];
  auto made = api.call("POST", campaigns(a),
                       {{"name", "A"}, {"profile_id", "a-rec"}, {"message", {{"type", "text"}, {"text", "hi"}}},
                        {"audience", {{"contact_ids", {a_contact}}}}},
                       a.key_auth());
  REQUIRE(made.status == 201);
  const std::string id = made.body["id"];

  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/" + id}, {"GET", "/" + id + "/progress"}, {"GET", "/" + id + "/recipients"},
           {"POST", "/" + id + "/start"}, {"POST", "/" + id + "/cancel"}, {"DELETE", "/" + id}}) {
    // B's own workspace path with A's id, and A's path with B's credentials.
    auto own = api.call(method, campaigns(b) + path, method == "POST" ? json::object() : json(nullptr), b.key_auth());
    INFO(method << " " << path << " " << own.raw);
    CHECK(own.status == 404);
    auto theirs = api.call(method, campaigns(a) + path, method == "POST" ? json::object() : json(nullptr), b.key_auth());
    CHECK(theirs.status == 404);
  }
  // B cannot send through A's profile nor to A's contacts.
  require_error(api.call("POST", campaigns(b),
                         {{"name", "B"}, {"profile_id", "a-rec"}, {"message", {{"type", "text"}, {"text", "hi"}}}},
                         b.key_auth()),
                404, "not_found");
  auto stolen = api.call("POST", campaigns(b),
                         {{"name", "B"}, {"profile_id", "b-rec"}, {"message", {{"type", "text"}, {"text", "hi"}}},
                          {"audience", {{"contact_ids", {a_contact}}}}},
                         b.key_auth());
  REQUIRE(stolen.status == 201);
  CHECK(stolen.body["audience_report"]["added"] == 0);
  CHECK(stolen.body["audience_report"]["skipped_by_reason"]["unknown contact"] == 1);
  auto a_list = api.call("GET", campaigns(a), nullptr, a.key_auth());
  REQUIRE(a_list.body["data"].size() == 1);
  CHECK(a_list.body["data"][0]["state"] == "draft");
}

TEST_CASE("a campaign of 100000 recipients is created in seconds", "[campaigns][e2e]") {
  constexpr int kRecipients = 100000;
  constexpr int kPart = 25000;  // each CSV part stays under the request body limit
  TempDir dir("sb-cmp-100k");
  ApiHost api(dir.path(), sb::test::fast_limits(), sb::test::recording_env());
  const auto a = api.make_tenant("a");
  sb::test::make_recording_profile(api, a, "a-rec", dir.path() / "sends.jsonl");
  const auto begun = std::chrono::steady_clock::now();
  auto made = api.call("POST", campaigns(a),
                       {{"id", "cmp-big"}, {"name", "Big"}, {"profile_id", "a-rec"},
                        {"message", {{"type", "text"}, {"text", "Hi {{name}} in {{metadata.city}}"}}}},
                       a.key_auth());
  REQUIRE(made.status == 201);
  for (int first = 0; first < kRecipients; first += kPart) {
    auto r = post_csv(api, a, campaigns(a) + "/cmp-big/recipients", sb::test::campaign_csv(first, kPart));
    REQUIRE(r);
    INFO(r->body.substr(0, 2000));
    REQUIRE(r->status == 200);
    REQUIRE(json::parse(r->body)["added"] == kPart);
  }
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begun).count();
  WARN(kRecipients << " recipients (and their contacts) created in " << took << " ms");
  const json p = sb::test::campaign_progress(api, a, "cmp-big");
  CHECK(p["total"] == kRecipients);
  CHECK(p["pending"] == kRecipients);
  CHECK(p["skipped"] == 0);
}
