// Tenancy, profiles and plugin state over a real database.
#include "support/error_code.hpp"
#include "core/error.hpp"
#include "store/migration.hpp"
#include "store/migrator.hpp"
#include "store/plugin_state_store.hpp"
#include "store/profile_repository.hpp"
#include "store/tenancy_repository.hpp"
#include "support/store_test_host.hpp"

#include <catch2/catch.hpp>

using sb::ErrorCode;
using sb::test::code_of;
using sb::store::Connection;
using sb::store::Organization;
using sb::store::Profile;
using sb::store::Workspace;

namespace {

struct Seeded {
  Organization org;
  Workspace ws;
};

Seeded seed(sb::store::TenancyRepository& tenancy) {
  Seeded s;
  s.org = tenancy.ensure_organization({"org_a", "Agency A", 0});
  s.ws = tenancy.ensure_workspace({"ws_a", "org_a", "Shop", "Europe/Berlin", 0});
  return s;
}

Profile sample_profile(const Seeded& s) {
  Profile p;
  p.organization_id = s.org.id;
  p.workspace_id = s.ws.id;
  p.name = "Support line";
  p.channel_plugin = "channel-sandbox";
  p.config = {{"phone", "+15550001111"}, {"auto_pair", true}};
  return p;
}

}  // namespace

TEST_CASE("organizations and workspaces are created, read back and listed", "[store][tenancy]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  sb::store::TenancyRepository tenancy(*db);

  auto org = tenancy.create_organization({"", "Acme", 0});
  CHECK(org.id.rfind("org_", 0) == 0);
  CHECK(org.created_at > 0);
  auto ws = tenancy.create_workspace({"", org.id, "Main", "UTC", 0});
  CHECK(ws.id.rfind("ws_", 0) == 0);

  auto read_org = tenancy.get_organization(org.id);
  REQUIRE(read_org);
  CHECK(read_org->name == "Acme");
  CHECK(read_org->created_at == org.created_at);
  auto read_ws = tenancy.get_workspace(org.id, ws.id);
  REQUIRE(read_ws);
  CHECK(read_ws->name == "Main");
  CHECK(read_ws->timezone == "UTC");

  auto other = tenancy.create_organization({"", "Other", 0});
  tenancy.create_workspace({"", other.id, "Theirs", "UTC", 0});
  CHECK(tenancy.list_organizations().size() == 2);
  REQUIRE(tenancy.list_workspaces(org.id).size() == 1);
  CHECK(tenancy.list_workspaces(org.id)[0].id == ws.id);
  // A workspace asked for under the wrong organization does not exist.
  CHECK_FALSE(tenancy.get_workspace(other.id, ws.id));
  CHECK_FALSE(tenancy.get_organization("org_missing"));
}

TEST_CASE("tenancy refuses duplicates and workspaces of unknown organizations", "[store][tenancy]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  sb::store::TenancyRepository tenancy(*db);
  tenancy.create_organization({"org_x", "X", 0});
  CHECK(code_of([&] { tenancy.create_organization({"org_x", "Again", 0}); }) == ErrorCode::conflict);
  CHECK(code_of([&] { tenancy.create_workspace({"", "org_missing", "W", "UTC", 0}); }) == ErrorCode::not_found);
  CHECK(code_of([&] { tenancy.create_organization({"", "", 0}); }) == ErrorCode::invalid_argument);
}

TEST_CASE("ensure seeds once and keeps what an admin changed since", "[store][tenancy]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  sb::store::TenancyRepository tenancy(*db);
  auto first = tenancy.ensure_organization({"org_demo", "Demo", 0});
  db->write([](Connection& c) { c.execute("UPDATE organizations SET name = 'Renamed' WHERE id = 'org_demo'"); });
  auto second = tenancy.ensure_organization({"org_demo", "Demo", 0});
  CHECK(second.name == "Renamed");
  CHECK(second.created_at == first.created_at);
  CHECK(tenancy.list_organizations().size() == 1);

  tenancy.ensure_workspace({"ws_demo", "org_demo", "Demo", "UTC", 0});
  CHECK_NOTHROW(tenancy.ensure_workspace({"ws_demo", "org_demo", "Demo", "UTC", 0}));
  tenancy.ensure_organization({"org_other", "Other", 0});
  CHECK(code_of([&] { tenancy.ensure_workspace({"ws_demo", "org_other", "Demo", "UTC", 0}); }) ==
        ErrorCode::conflict);
}

TEST_CASE("a profile round-trips through the repository", "[store][profiles]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  sb::store::TenancyRepository tenancy(*db);
  sb::store::ProfileRepository profiles(*db);
  auto s = seed(tenancy);

  auto created = profiles.create(sample_profile(s));
  CHECK(created.id.rfind("prf_", 0) == 0);
  CHECK(created.status == "DISCONNECTED");

  auto read = profiles.get(created.id);
  REQUIRE(read);
  CHECK(read->organization_id == "org_a");
  CHECK(read->workspace_id == "ws_a");
  CHECK(read->name == "Support line");
  CHECK(read->channel_plugin == "channel-sandbox");
  CHECK(read->config == created.config);
  CHECK(read->status == "DISCONNECTED");
  CHECK_FALSE(read->status_detail);
  CHECK_FALSE(read->qr);
  CHECK(read->created_at == created.created_at);

  CHECK(profiles.get("ws_a", created.id));
  CHECK_FALSE(profiles.get("ws_other", created.id));
  CHECK(profiles.list().size() == 1);
  CHECK(profiles.list("ws_a").size() == 1);
  CHECK(profiles.list("ws_other").empty());

  auto json = sb::store::to_json(*read);
  CHECK_FALSE(json.contains("config"));  // may hold secrets
  CHECK(json["status"] == "DISCONNECTED");
}

TEST_CASE("a profile's session status is updated in place", "[store][profiles]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  sb::store::TenancyRepository tenancy(*db);
  sb::store::ProfileRepository profiles(*db);
  auto s = seed(tenancy);
  auto p = profiles.create(sample_profile(s));

  CHECK(profiles.update_status(p.id, "QR_READY", std::string("scan me"), std::string("2@qr-code")));
  auto read = profiles.get(p.id);
  CHECK(read->status == "QR_READY");
  CHECK(read->status_detail == std::string("scan me"));
  CHECK(read->qr == std::string("2@qr-code"));
  CHECK(read->updated_at >= p.updated_at);

  CHECK(profiles.update_status(p.id, "CONNECTED", std::nullopt, std::nullopt));
  read = profiles.get(p.id);
  CHECK(read->status == "CONNECTED");
  CHECK_FALSE(read->qr);

  CHECK_FALSE(profiles.update_status("prf_missing", "CONNECTED", std::nullopt, std::nullopt));
  CHECK(code_of([&] { profiles.update_status(p.id, "ONLINE", std::nullopt, std::nullopt); }) ==
        ErrorCode::invalid_argument);
}

TEST_CASE("a profile stored with auto-reply rules before migration 004 keeps everything else after it",
          "[store][profiles][migrations]") {
  sb::test::StoreTestHost host;
  {
    // A database as the version before 004 left it, with the rules column filled.
    auto conn = host.connect();
    std::vector<sb::store::Migration> before;
    for (const auto& m : sb::store::embedded_migrations())
      if (m.version < 4) before.push_back(m);
    REQUIRE(sb::store::apply_migrations(*conn, before) == 3);
    conn->execute("INSERT INTO organizations (id, name, created_at) VALUES ('org_a', 'Agency A', 1)");
    conn->execute("INSERT INTO workspaces (id, organization_id, name, created_at) VALUES ('ws_a', 'org_a', 'Shop', 1)");
    conn->execute(
        "INSERT INTO profiles (id, organization_id, workspace_id, name, channel_plugin, config_json, status, qr, "
        "auto_reply_json, created_at, updated_at) VALUES ('prf_old', 'org_a', 'ws_a', 'Support line', "
        "'channel-sandbox', '{\"phone\":\"+15550001111\"}', 'QR_READY', 'qr-1', "
        "'[{\"keyword\":\"ping\",\"reply\":\"pong\"}]', 10, 20)");
  }
  auto db = host.open();
  CHECK(db->schema_version() >= 4);
  db->read([](Connection& c) {
    CHECK(c.query_one("SELECT COUNT(*) AS n FROM pragma_table_info('profiles') WHERE name = 'auto_reply_json'")
              ->integer("n") == 0);
  });
  auto read = sb::store::ProfileRepository(*db).get("prf_old");
  REQUIRE(read);
  CHECK(read->organization_id == "org_a");
  CHECK(read->workspace_id == "ws_a");
  CHECK(read->name == "Support line");
  CHECK(read->channel_plugin == "channel-sandbox");
  CHECK(read->config == nlohmann::json{{"phone", "+15550001111"}});
  CHECK(read->status == "QR_READY");
  CHECK(read->qr == std::string("qr-1"));
  CHECK(read->created_at == 10);
  CHECK(read->updated_at == 20);
}

TEST_CASE("a profile is refused outside its organization's workspaces and under a taken id", "[store][profiles]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  sb::store::TenancyRepository tenancy(*db);
  sb::store::ProfileRepository profiles(*db);
  auto s = seed(tenancy);
  tenancy.ensure_organization({"org_b", "Agency B", 0});

  auto wrong_org = sample_profile(s);
  wrong_org.organization_id = "org_b";
  CHECK(code_of([&] { profiles.create(wrong_org); }) == ErrorCode::not_found);

  auto p = sample_profile(s);
  p.id = "demo";
  profiles.create(p);
  CHECK(code_of([&] { profiles.create(p); }) == ErrorCode::conflict);
}

TEST_CASE("repositories compose inside one write job: all or nothing", "[store][profiles]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  CHECK_THROWS(db->write([](Connection& c) {
    auto org = sb::store::tenancy::create_organization(c, {"org_t", "T", 0}, 1);
    auto ws = sb::store::tenancy::create_workspace(c, {"ws_t", org.id, "W", "UTC", 0}, 1);
    Profile p;
    p.organization_id = org.id;
    p.workspace_id = ws.id;
    p.name = "P";
    p.channel_plugin = "channel-sandbox";
    p.status = "BOGUS";  // fails after the inserts above
    sb::store::profiles::create(c, p, 1);
  }));
  sb::store::TenancyRepository tenancy(*db);
  CHECK_FALSE(tenancy.get_organization("org_t"));
  CHECK_FALSE(tenancy.get_workspace("ws_t"));
}

TEST_CASE("plugin state is kept per plugin instance: get, put, overwrite, erase", "[store][plugin_state]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  sb::store::PluginStateStore state(*db);
  sb::plugins::PluginStateStore& store = state;  // as HostServices sees it

  CHECK_FALSE(store.get("channel-web", "prf_1", "creds"));
  store.put("channel-web", "prf_1", "creds", R"({"noise":"abc"})");
  store.put("channel-web", "prf_2", "creds", "other instance");
  CHECK(store.get("channel-web", "prf_1", "creds") == std::string(R"({"noise":"abc"})"));

  store.put("channel-web", "prf_1", "creds", "rotated");
  CHECK(store.get("channel-web", "prf_1", "creds") == std::string("rotated"));
  CHECK(store.get("channel-web", "prf_2", "creds") == std::string("other instance"));
  CHECK_FALSE(store.get("channel-other", "prf_1", "creds"));

  store.put("channel-web", "prf_1", "empty", "");
  CHECK(store.get("channel-web", "prf_1", "empty") == std::string());

  store.erase("channel-web", "prf_1", "creds");
  CHECK_FALSE(store.get("channel-web", "prf_1", "creds"));
  CHECK_NOTHROW(store.erase("channel-web", "prf_1", "never-there"));
  CHECK(store.get("channel-web", "prf_2", "creds") == std::string("other instance"));

  CHECK(db->write([](Connection& c) { return sb::store::plugin_state::erase_instance(c, "channel-web", "prf_2"); }) ==
        1);
  CHECK_FALSE(store.get("channel-web", "prf_2", "creds"));
}

TEST_CASE("plugin state survives a restart", "[store][plugin_state]") {
  sb::test::StoreTestHost host;
  {
    auto db = host.open();
    sb::store::PluginStateStore(*db).put("channel-web", "prf_1", "creds", "keep me");
  }
  auto db = host.open();
  CHECK(sb::store::PluginStateStore(*db).get("channel-web", "prf_1", "creds") == std::string("keep me"));
}
