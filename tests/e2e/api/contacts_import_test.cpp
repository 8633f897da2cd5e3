// Contacts as CSV and opt-out through a real host: an import with good and
// bad rows answers the exact report and writes only the good ones; the
// export imports back unchanged; multipart uploads; a STOP from the
// sandbox channel opts its sender out and START back in; the opt-out
// routes; and none of it crosses tenants.
#include "support/api_host.hpp"
#include "support/db_count.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::count;
using sb::test::eventually;
using sb::test::Headers;
using sb::test::require_error;
using sb::test::TempDir;
using sb::test::Tenant;

namespace {

std::string contacts_of(const std::string& workspace_id) { return "/api/v1/workspaces/" + workspace_id + "/contacts"; }

struct Raw {
  int status = 0;
  json body;
  std::string text;
  std::string content_type;
};

Raw raw(const httplib::Result& res) {
  REQUIRE(res);
  Raw out{res->status, json::parse(res->body, nullptr, false), res->body, res->get_header_value("Content-Type")};
  if (out.body.is_discarded()) out.body = nullptr;
  return out;
}

httplib::Headers headers_of(const Headers& auth) {
  httplib::Headers h;
  for (const auto& [k, v] : auth) h.emplace(k, v);
  return h;
}

Raw import_csv(ApiHost& api, const std::string& workspace_id, const Headers& auth, const std::string& csv,
               const std::string& query = "", const std::string& type = "text/csv") {
  auto c = api.host().client();
  c->set_read_timeout(60, 0);
  const std::string path = contacts_of(workspace_id) + "/import" + query;
  return raw(c->Post(path.c_str(), headers_of(auth), csv, type.c_str()));
}

Raw export_csv(ApiHost& api, const std::string& workspace_id, const Headers& auth, const std::string& query = "") {
  auto c = api.host().client();
  const std::string path = contacts_of(workspace_id) + "/export" + query;
  return raw(c->Get(path.c_str(), headers_of(auth)));
}

int64_t contacts_in(ApiHost& api, const std::string& workspace_id) {
  return count(api.host().db_path(), "SELECT COUNT(*) FROM contacts WHERE workspace_id = '" + workspace_id + "'");
}

json contact_by_phone(ApiHost& api, const std::string& workspace_id, const Headers& auth, const std::string& phone) {
  std::string encoded = phone;
  if (!encoded.empty() && encoded[0] == '+') encoded = "%2B" + encoded.substr(1);
  auto res = api.call("GET", contacts_of(workspace_id) + "?phone=" + encoded, nullptr, auth);
  REQUIRE(res.status == 200);
  for (const auto& c : res.body["data"])
    if (c["phone"] == phone) return c;
  return nullptr;
}

// Every contact of a workspace by phone, without the fields that differ
// between workspaces.
std::map<std::string, json> contacts_by_phone(ApiHost& api, const std::string& workspace_id, const Headers& auth) {
  std::map<std::string, json> out;
  std::string cursor;
  for (;;) {
    auto res = api.call("GET", contacts_of(workspace_id) + "?limit=200" + (cursor.empty() ? "" : "&cursor=" + cursor),
                        nullptr, auth);
    REQUIRE(res.status == 200);
    for (auto c : res.body["data"]) {
      for (const char* k : {"id", "organization_id", "workspace_id", "created_at", "updated_at", "opted_out_at"})
        c.erase(k);
      out[c["phone"].get<std::string>()] = c;
    }
    if (res.body["next_cursor"].is_null()) break;
    cursor = res.body["next_cursor"];
  }
  return out;
}

}  // namespace

TEST_CASE("contacts import: good rows are written and each bad row is reported with its line and column",
          "[api][messaging]") {
  TempDir dir("sb-api-contacts-import");
  ApiHost api(dir.path());
  const Tenant a = api.make_tenant("a");
  const auto auth = a.owner_auth();
  REQUIRE(api.call("POST", contacts_of(a.workspace_id), {{"phone", "+12025550109"}, {"name", "Old"}, {"tags", {"old"}}},
                   auth)
              .status == 201);

  const std::string csv =
      "\xEF\xBB\xBFphone,name,email,tags,metadata.city\r\n"
      "+1 202 555 0101,\"Lima, Ana\",ana@example.com,vip;berlin,Berlin\r\n"
      "+1 555,Bob,,,\r\n"
      "+12025550102,Carla,not-an-email,,\r\n"
      "+12025550103,Dan,,a|b,\"Rio\r\nde Janeiro\"\r\n"
      "+12025550109,,,new,Paris\r\n"
      "+12025550104,Eve\r\n"
      "2025550105,Fay,,,\r\n";
  const auto report = import_csv(api, a.workspace_id, auth, csv);
  INFO(report.text);
  REQUIRE(report.status == 200);
  const json expected = {
      {"rows", 7},
      {"imported", 2},
      {"updated", 1},
      {"skipped", 0},
      {"error_rows", 4},
      {"errors",
       {{{"line", 3}, {"column", "phone"}, {"message", "\"+1 555\" is too short for US numbers"}},
        {{"line", 4}, {"column", "email"}, {"message", "\"not-an-email\" is not an email address such as ana@example.com"}},
        {{"line", 8}, {"column", ""}, {"message", "the row has 2 fields; the header has 5"}},
        {{"line", 9},
         {"column", "phone"},
         {"message",
          "\"2025550105\" has no country code: write it in international form (\"+\" and the country code, e.g. +1 "
          "for the US) or give a default region"}}}},
      {"errors_truncated", false}};
  CHECK(report.body == expected);
  CHECK(contacts_in(api, a.workspace_id) == 3);

  const json ana = contact_by_phone(api, a.workspace_id, auth, "+12025550101");
  REQUIRE(ana.is_object());
  CHECK(ana["name"] == "Lima, Ana");
  CHECK(ana["email"] == "ana@example.com");
  CHECK(ana["tags"] == json({"vip", "berlin"}));
  CHECK(ana["metadata"] == json({{"city", "Berlin"}}));
  CHECK(contact_by_phone(api, a.workspace_id, auth, "+12025550103")["metadata"]["city"] == "Rio\r\nde Janeiro");
  const json old = contact_by_phone(api, a.workspace_id, auth, "+12025550109");
  CHECK(old["name"] == "Old");  // an empty cell leaves the name
  CHECK(old["tags"] == json({"old", "new"}));
  CHECK(old["metadata"] == json({{"city", "Paris"}}));

  // Search: the name, phone or email contains the text.
  for (const char* q : {"lima", "LIMA", "example.com", "5550101"}) {
    auto found = api.call("GET", contacts_of(a.workspace_id) + "?q=" + q, nullptr, auth);
    INFO(q << " " << found.raw);
    REQUIRE(found.status == 200);
    REQUIRE(found.body["data"].size() == 1);
    CHECK(found.body["data"][0]["phone"] == "+12025550101");
  }
  CHECK(api.call("GET", contacts_of(a.workspace_id) + "?q=nobody", nullptr, auth).body["data"].empty());
  auto tagged = api.call("GET", contacts_of(a.workspace_id) + "?tags=(a%20OR%20old)%20AND%20NOT%20vip", nullptr, auth);
  REQUIRE(tagged.status == 200);
  CHECK(tagged.body["data"].size() == 2);  // Dan (a) and Old (old)
  auto bad_query = api.call("GET", contacts_of(a.workspace_id) + "?tags=vip%20AND", nullptr, auth);
  require_error(bad_query, 400, "invalid_argument");
  CHECK(bad_query.body["error"]["details"]["field"] == "tags");

  // The same file again changes nothing; with a default region the last row is read.
  const auto again = import_csv(api, a.workspace_id, auth, csv, "?mode=create_only&default_region=US");
  INFO(again.text);
  REQUIRE(again.status == 200);
  CHECK(again.body["imported"] == 1);  // +12025550105
  CHECK(again.body["skipped"] == 3);
  CHECK(again.body["updated"] == 0);
  CHECK(again.body["error_rows"] == 3);
  CHECK(contacts_in(api, a.workspace_id) == 4);
}

TEST_CASE("contacts import: a bad file is refused whole, naming the problem", "[api][messaging]") {
  TempDir dir("sb-api-contacts-import");
  ApiHost api(dir.path());
  const Tenant a = api.make_tenant("a");
  const auto auth = a.owner_auth();

  auto unknown_column = import_csv(api, a.workspace_id, auth, "phone,fone\n+12025550101,x\n");
  CHECK(unknown_column.status == 400);
  CHECK(unknown_column.body["error"]["code"] == "invalid_argument");
  CHECK_THAT(unknown_column.body["error"]["message"].get<std::string>(), Catch::Contains("\"fone\""));
  auto no_phone = import_csv(api, a.workspace_id, auth, "name\nAna\n");
  CHECK(no_phone.status == 400);
  CHECK_THAT(no_phone.body["error"]["message"].get<std::string>(), Catch::Contains("phone"));
  CHECK(import_csv(api, a.workspace_id, auth, "").status == 400);
  auto bad_mode = import_csv(api, a.workspace_id, auth, "phone\n+12025550101\n", "?mode=merge");
  CHECK(bad_mode.status == 400);
  CHECK(bad_mode.body["error"]["details"]["field"] == "mode");
  auto bad_region = import_csv(api, a.workspace_id, auth, "phone\n+12025550101\n", "?default_region=Mars");
  CHECK(bad_region.body["error"]["details"]["field"] == "default_region");
  auto json_body = import_csv(api, a.workspace_id, auth, "{\"phone\":\"+12025550101\"}", "", "application/json");
  CHECK(json_body.status == 415);
  CHECK(contacts_in(api, a.workspace_id) == 0);
}

TEST_CASE("contacts import: a multipart form's file part, and a file of 15,000 rows in seconds", "[api][messaging]") {
  TempDir dir("sb-api-contacts-import");
  ApiHost api(dir.path());
  const Tenant a = api.make_tenant("a");
  const auto auth = a.owner_auth();
  auto c = api.host().client();
  const std::string path = contacts_of(a.workspace_id) + "/import";

  httplib::MultipartFormDataItems form = {
      {"file", "phone,name\r\n+442079460958,Bob\r\n", "contacts.csv", "text/csv"}};
  const auto uploaded = raw(c->Post(path.c_str(), headers_of(auth), form));
  INFO(uploaded.text);
  REQUIRE(uploaded.status == 200);
  CHECK(uploaded.body["imported"] == 1);
  httplib::MultipartFormDataItems wrong = {{"upload", "phone\n+442079460959\n", "contacts.csv", "text/csv"}};
  const auto missing = raw(c->Post(path.c_str(), headers_of(auth), wrong));
  CHECK(missing.status == 400);
  CHECK(missing.body["error"]["details"]["field"] == "file");

  std::string big = "phone,name,tags,metadata.n\n";
  for (int i = 0; i < 15000; ++i) {
    big += std::string("+1202").append(std::to_string(300 + i / 10000)).append(std::to_string(10000 + i % 10000).substr(1));
    big += std::string(",P").append(std::to_string(i)).append(i % 2 ? ",vip," : ",vip;churned,").append(std::to_string(i));
    big += "\n";
  }
  REQUIRE(big.size() < 1024 * 1024);
  const auto start = std::chrono::steady_clock::now();
  const auto report = import_csv(api, a.workspace_id, auth, big);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(report.text.substr(0, 500));
  REQUIRE(report.status == 200);
  CHECK(report.body["imported"] == 15000);
  CHECK(report.body["errors"].empty());
  WARN("15,000-row import over HTTP: " << seconds << " s");
  CHECK(seconds < 15.0);
  auto audience = api.call("GET", contacts_of(a.workspace_id) + "?tags=tag:vip%20AND%20NOT%20tag:churned&limit=200",
                           nullptr, auth);
  REQUIRE(audience.status == 200);
  CHECK(audience.body["data"].size() == 200);
  for (const auto& ct : audience.body["data"]) CHECK(ct["tags"] == json({"vip"}));
}

TEST_CASE("contacts export: CSV in the import's format that imports back unchanged", "[api][messaging]") {
  TempDir dir("sb-api-contacts-export");
  ApiHost api(dir.path());
  const Tenant a = api.make_tenant("a");
  const Tenant b = api.make_tenant("b");
  const std::string csv =
      "phone,name,email,tags,metadata.city,metadata.note\n"
      "+12025550101,\"Lima, Ana\",ana@example.com,vip;berlin,Berlin,\"says \"\"hi\"\"\"\n"
      "+442079460958,Bob,,,London,\"two\nlines\"\n"
      "+4915123456789,Jörg,,churned,,\n";
  REQUIRE(import_csv(api, a.workspace_id, a.owner_auth(), csv).body["imported"] == 3);
  REQUIRE(api.call("POST", contacts_of(a.workspace_id) + "/" +
                       contact_by_phone(api, a.workspace_id, a.owner_auth(), "+442079460958")["id"].get<std::string>() +
                       "/opt-out",
                   json::object(), a.owner_auth())
              .status == 200);

  const auto exported = export_csv(api, a.workspace_id, a.key_auth());
  REQUIRE(exported.status == 200);
  CHECK(exported.content_type.rfind("text/csv", 0) == 0);
  CHECK(exported.text.rfind("phone,name,email,tags,opted_out,metadata.city,metadata.note\r\n", 0) == 0);
  CHECK(exported.text.find("\"Lima, Ana\"") != std::string::npos);

  const auto back = import_csv(api, b.workspace_id, b.owner_auth(), exported.text);
  INFO(back.text);
  REQUIRE(back.status == 200);
  CHECK(back.body["imported"] == 3);
  CHECK(back.body["errors"].empty());
  auto mine = contacts_by_phone(api, a.workspace_id, a.owner_auth());
  auto theirs = contacts_by_phone(api, b.workspace_id, b.owner_auth());
  // The opt-out travels; its reason says where it came from.
  CHECK(mine["+442079460958"]["opt_out_reason"] == "api");
  CHECK(theirs["+442079460958"]["opt_out_reason"] == "import");
  for (auto* m : {&mine, &theirs})
    for (auto& [phone, c] : *m) c.erase("opt_out_reason");
  CHECK(mine == theirs);

  // Narrowed by a tag query.
  const auto vip = export_csv(api, a.workspace_id, a.owner_auth(), "?tags=vip");
  CHECK(vip.text.find("+12025550101") != std::string::npos);
  CHECK(vip.text.find("+4915123456789") == std::string::npos);
  CHECK(export_csv(api, a.workspace_id, a.owner_auth(), "?tags=vip%20AND").status == 400);
}

TEST_CASE("contacts opt-out: a STOP from the channel opts the sender out, START back in; the API does too",
          "[api][messaging]") {
  TempDir dir("sb-api-contacts-optout");
  ApiHost api(dir.path());
  auto c = api.host().client();
  const std::string demo = contacts_of("demo");

  REQUIRE(sb::test::post_inbound(*c, {{"from", "+12025550161"}, {"text", "hello"}, {"id", "w-1"}}));
  REQUIRE(sb::test::post_inbound(*c, {{"from", "+12025550161"}, {"text", " Stop "}, {"id", "w-2"}}));
  json contact = contact_by_phone(api, "demo", api.master(), "+12025550161");
  REQUIRE(contact.is_object());
  CHECK(contact["opted_out"] == true);
  CHECK(contact["opt_out_reason"] == "keyword:STOP");
  CHECK(contact["opted_out_at"].is_number());
  // A sentence with the word is not a keyword.
  REQUIRE(sb::test::post_inbound(*c, {{"from", "+12025550162"}, {"text", "please stop the reminders"}, {"id", "w-3"}}));
  CHECK(contact_by_phone(api, "demo", api.master(), "+12025550162")["opted_out"] == false);
  // Sends to an opted-out contact are refused.
  auto send = api.call("POST", "/api/v1/workspaces/demo/messages",
                       {{"profile_id", "demo"}, {"to", "+12025550161"}, {"text", "promo"}}, api.master());
  CHECK(send.status >= 400);
  CHECK(send.status < 500);

  REQUIRE(sb::test::post_inbound(*c, {{"from", "+12025550161"}, {"text", "START"}, {"id", "w-4"}}));
  contact = contact_by_phone(api, "demo", api.master(), "+12025550161");
  CHECK(contact["opted_out"] == false);
  CHECK(contact["opt_out_reason"].is_null());

  // Through the API: with a reason, repeatable, and audited.
  const std::string item = demo + "/" + contact["id"].get<std::string>();
  auto out = api.call("POST", item + "/opt-out", {{"reason", "asked by phone"}}, api.master());
  INFO(out.raw);
  REQUIRE(out.status == 200);
  CHECK(out.body["opted_out"] == true);
  CHECK(out.body["opt_out_reason"] == "asked by phone");
  auto twice = api.call("POST", item + "/opt-out", {{"reason", "again"}}, api.master());
  CHECK(twice.body["opt_out_reason"] == "asked by phone");
  CHECK(twice.body["opted_out_at"] == out.body["opted_out_at"]);
  CHECK(api.call("GET", demo + "?opted_out=true", nullptr, api.master()).body["data"].size() == 1);
  auto in = api.call("POST", item + "/opt-in", nullptr, api.master());
  REQUIRE(in.status == 200);
  CHECK(in.body["opted_out"] == false);
  require_error(api.call("POST", demo + "/ct_nobody/opt-out", json::object(), api.master()), 404, "not_found");
  require_error(api.call("POST", item + "/opt-out", {{"why", "x"}}, api.master()), 400, "invalid_argument");
}

TEST_CASE("contacts import, export and opt-out stay inside their tenant", "[api][messaging]") {
  TempDir dir("sb-api-contacts-tenants");
  ApiHost api(dir.path());
  const Tenant a = api.make_tenant("a");
  const Tenant b = api.make_tenant("b");
  REQUIRE(import_csv(api, a.workspace_id, a.owner_auth(), "phone,tags\n+12025550101,vip\n").body["imported"] == 1);
  const std::string id = contact_by_phone(api, a.workspace_id, a.owner_auth(), "+12025550101")["id"];
  REQUIRE(import_csv(api, b.workspace_id, b.owner_auth(), "phone,tags\n+12025550202,vip\n").body["imported"] == 1);

  for (const Headers& auth : {b.owner_auth(), b.key_auth()}) {
    CHECK(import_csv(api, a.workspace_id, auth, "phone\n+12025550303\n").status == 404);
    CHECK(export_csv(api, a.workspace_id, auth).status == 404);
    require_error(api.call("POST", contacts_of(a.workspace_id) + "/" + id + "/opt-out", json::object(), auth), 404,
                  "not_found");
    require_error(api.call("POST", contacts_of(b.workspace_id) + "/" + id + "/opt-out", json::object(), auth), 404,
                  "not_found");
    require_error(api.call("POST", contacts_of(b.workspace_id) + "/" + id + "/opt-in", json::object(), auth), 404,
                  "not_found");
    const auto theirs = export_csv(api, b.workspace_id, auth);
    REQUIRE(theirs.status == 200);
    CHECK(theirs.text.find("+12025550101") == std::string::npos);
    CHECK(theirs.text.find("+12025550202") != std::string::npos);
  }
  const Headers viewer = {{"Authorization", "Bearer " + api.add_member(a, "viewer@a.example.com", "viewer")}};
  CHECK(import_csv(api, a.workspace_id, viewer, "phone\n+12025550304\n").status == 403);
  CHECK(export_csv(api, a.workspace_id, viewer).status == 200);
  require_error(api.call("POST", contacts_of(a.workspace_id) + "/" + id + "/opt-out", json::object(), viewer), 403,
                "forbidden");
  CHECK(contacts_in(api, a.workspace_id) == 1);
  CHECK(contact_by_phone(api, a.workspace_id, a.owner_auth(), "+12025550101")["opted_out"] == false);
}
