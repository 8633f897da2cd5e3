// Contacts for campaigns: tag queries (text and SQL), audiences paged by
// id, CSV import with its report, export, opt-out keywords, identities.
// Over a real database.
#include "core/error.hpp"
#include "messaging/contacts_csv.hpp"
#include "messaging/contacts_identities.hpp"
#include "messaging/contacts_opt_out.hpp"
#include "messaging/contacts_tag_query.hpp"
#include "messaging/csv.hpp"
#include "store/contact_repository.hpp"
#include "store/tenancy_repository.hpp"
#include "support/error_code.hpp"
#include "support/store_test_host.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

using sb::messaging::ContactImportOptions;
using sb::messaging::import_contacts_csv;
using sb::messaging::match_opt_keyword;
using sb::messaging::OptKeyword;
using sb::messaging::parse_tag_query;
using sb::store::Connection;
using sb::store::Contact;
using sb::store::TagQuery;
using sb::test::code_of;
namespace contacts = sb::store::contacts;

namespace {

struct ContactsDb {
  ContactsDb() {
    db = host.open();
    db->write([](Connection& c) {
      for (const char* t : {"a", "b"}) {
        sb::store::tenancy::ensure_organization(c, {std::string("org_") + t, "Org", 1}, 1);
        sb::store::tenancy::ensure_workspace(c, {std::string("ws_") + t, std::string("org_") + t, "Shop", "UTC", 1}, 1);
      }
      return 0;
    });
  }
  ~ContactsDb() { db.reset(); }

  std::string add(const std::string& t, const std::string& phone, std::vector<std::string> tags,
                  bool opted_out = false) {
    Contact ct;
    ct.organization_id = "org_" + t;
    ct.workspace_id = "ws_" + t;
    ct.phone = phone;
    ct.tags = nlohmann::json(tags);
    ct.opted_out = opted_out;
    return db->write([&](Connection& c) { return contacts::create(c, ct, 10).id; });
  }

  std::set<std::string> phones_matching(const std::string& query, bool include_opted_out = false,
                                        const std::string& ws = "ws_a") {
    const TagQuery q = parse_tag_query(query);
    std::set<std::string> out;
    db->read([&](Connection& c) {
      for (const auto& ct : contacts::contacts_matching(c, ws, q, "", 1000, include_opted_out)) out.insert(ct.phone);
      CHECK(contacts::count_matching(c, ws, q, include_opted_out) == static_cast<int64_t>(out.size()));
      return 0;
    });
    return out;
  }

  ContactImportOptions options(const std::string& t = "a") const {
    ContactImportOptions o;
    o.organization_id = "org_" + t;
    o.workspace_id = "ws_" + t;
    return o;
  }

  sb::test::StoreTestHost host;
  std::unique_ptr<sb::store::Database> db;
};

using Phones = std::set<std::string>;

}  // namespace

TEST_CASE("tag queries parse with NOT over AND over OR and print back", "[messaging][contacts][tags]") {
  CHECK(to_string(parse_tag_query("tag:vip AND NOT tag:churned")) == "(tag:vip AND NOT tag:churned)");
  CHECK(to_string(parse_tag_query("vip or berlin and new")) == "(tag:vip OR (tag:berlin AND tag:new))");
  CHECK(to_string(parse_tag_query("(vip OR berlin) new")) == "((tag:vip OR tag:berlin) AND tag:new)");
  CHECK(to_string(parse_tag_query("tag:\"early adopter\" AND tag:and")) == "(tag:\"early adopter\" AND tag:and)");
  CHECK(to_string(parse_tag_query("*")) == "*");
  CHECK(to_string(parse_tag_query("NOT NOT x")) == "NOT NOT tag:x");
  for (const char* bad : {"", "   ", "vip AND", "(vip", "vip)", "AND vip", "tag:\"open", "tag:", "vip, new"}) {
    INFO(bad);
    try {
      parse_tag_query(bad, "audience");
      FAIL("expected an error");
    } catch (const sb::Error& e) {
      CHECK(e.code() == sb::ErrorCode::invalid_argument);
      CHECK_THAT(e.what(), Catch::StartsWith("\"audience\""));
      CHECK(e.details().value("field", "") == "audience");
    }
  }
  CHECK_THAT(std::string([] {
               try {
                 parse_tag_query("vip AND (new OR");
               } catch (const sb::Error& e) {
                 return std::string(e.what());
               }
               return std::string();
             }()),
             Catch::Contains("at character 16"));
}

TEST_CASE("audiences select by tag query, leave out opted-out contacts and other workspaces",
          "[messaging][contacts][tags]") {
  ContactsDb t;
  t.add("a", "+12025550101", {"vip", "berlin"});
  t.add("a", "+12025550102", {"vip", "churned"});
  t.add("a", "+12025550103", {"berlin"});
  t.add("a", "+12025550104", {});
  t.add("a", "+12025550105", {"vip"}, true);
  t.add("b", "+12025550101", {"vip"});

  CHECK(t.phones_matching("tag:vip AND NOT tag:churned") == Phones{"+12025550101"});
  CHECK(t.phones_matching("tag:vip AND NOT tag:churned", true) == Phones{"+12025550101", "+12025550105"});
  CHECK(t.phones_matching("vip OR berlin") == Phones{"+12025550101", "+12025550102", "+12025550103"});
  CHECK(t.phones_matching("NOT vip") == Phones{"+12025550103", "+12025550104"});
  CHECK(t.phones_matching("*").size() == 4);
  CHECK(t.phones_matching("tag:unknown").empty());
  CHECK(t.phones_matching("vip", false, "ws_b") == Phones{"+12025550101"});

  t.db->read([&](Connection& c) {
    CHECK(contacts::count_matching(c, "ws_a", TagQuery::all_tags({"vip", "berlin"})) == 1);
    CHECK(contacts::count_matching(c, "ws_a", TagQuery::any_tag({"churned", "berlin"})) == 3);
    CHECK(contacts::count_matching(c, "ws_a", TagQuery::any_tag({})) == 0);
    return 0;
  });
}

TEST_CASE("tag changes from any writer reach the tag index", "[messaging][contacts][tags]") {
  ContactsDb t;
  const std::string id = t.add("a", "+12025550101", {"vip"});
  t.db->write([&](Connection& c) {
    contacts::add_tags(c, "ws_a", id, {"berlin"}, 20);
    // A writer that knows only tags_json (as the flows' tag nodes do).
    c.execute("UPDATE contacts SET tags_json = ? WHERE id = ?", {std::string(R"(["berlin","new"])"), id});
    return 0;
  });
  CHECK(t.phones_matching("vip").empty());
  CHECK(t.phones_matching("berlin AND new") == Phones{"+12025550101"});
  t.db->write([&](Connection& c) { return contacts::remove(c, "ws_a", id); });
  t.db->read([&](Connection& c) {
    CHECK(c.query_one("SELECT COUNT(*) AS n FROM contact_tags")->integer("n") == 0);
    return 0;
  });
}

TEST_CASE("audience pages walk every contact once by id", "[messaging][contacts][tags]") {
  ContactsDb t;
  t.db->write([&](Connection& c) {
    for (int i = 0; i < 250; ++i) {
      Contact ct;
      ct.organization_id = "org_a";
      ct.workspace_id = "ws_a";
      ct.phone = std::string("+1202555").append(std::to_string(1000 + i));
      ct.tags = nlohmann::json::array({i % 2 ? "odd" : "even"});
      contacts::create(c, ct, 10);
    }
    return 0;
  });
  std::set<std::string> seen;
  std::string after;
  for (;;) {
    auto page = t.db->read([&](Connection& c) {
      return contacts::contacts_matching(c, "ws_a", TagQuery::has("odd"), after, 40);
    });
    if (page.empty()) break;
    for (const auto& ct : page) {
      CHECK(ct.id > after);
      CHECK(seen.insert(ct.id).second);
    }
    after = page.back().id;
  }
  CHECK(seen.size() == 125);
  CHECK_THROWS(t.db->read([&](Connection& c) { return contacts::contacts_matching(c, "ws_a", {}, "", 0); }));
}

TEST_CASE("an import writes the good rows and reports each bad one with its line and column",
          "[messaging][contacts][import]") {
  ContactsDb t;
  const std::string existing = t.add("a", "+12025550109", {"old"});
  const std::string csv =
      "\xEF\xBB\xBFPhone,Name,email,tags,metadata.city\r\n"
      "+1 202 555 0101,Ana,ana@example.com,vip;berlin,Berlin\r\n"  // line 2: new
      "+1 555,Bob,,,\r\n"                                           // line 3: phone too short
      "+12025550102,\"Lima, Carla\",not-an-email,,\r\n"             // line 4: bad email
      "+12025550103,Dan,,a|b,\"Rio\r\nde Janeiro\"\r\n"              // line 5-6: new, newline in a field
      "+12025550109,,,new,Paris\r\n"                                 // line 7: existing, updated
      "+12025550101,Ana again,,,\r\n"                                // line 8: repeats line 2
      "+12025550104,Eve\r\n"                                         // line 9: ragged
      "+12025550105,Fay,,,\xFF\r\n";                                 // line 10: bad UTF-8
  const auto report = import_contacts_csv(*t.db, csv, t.options());
  CHECK(report.rows == 8);
  CHECK(report.imported == 2);
  CHECK(report.updated == 1);
  CHECK(report.skipped == 0);
  CHECK(report.error_rows == 5);
  REQUIRE(report.errors.size() == 5);
  CHECK(report.errors[0].line == 3);
  CHECK(report.errors[0].column == "phone");
  CHECK_THAT(report.errors[0].message, Catch::Contains("too short for US numbers"));
  CHECK(report.errors[1].line == 4);
  CHECK(report.errors[1].column == "email");
  CHECK(report.errors[2].line == 8);
  CHECK(report.errors[2].column == "phone");
  CHECK_THAT(report.errors[2].message, Catch::Contains("line 2"));
  CHECK(report.errors[3].line == 9);
  CHECK_THAT(report.errors[3].message, Catch::Contains("2 fields; the header has 5"));
  CHECK(report.errors[4].line == 10);
  CHECK_THAT(report.errors[4].message, Catch::Contains("UTF-8"));

  t.db->read([&](Connection& c) {
    const auto ana = contacts::find_by_phone(c, "ws_a", "+12025550101");
    REQUIRE(ana);
    CHECK(ana->name == "Ana");
    CHECK(ana->email == "ana@example.com");
    CHECK(ana->tags == nlohmann::json::array({"vip", "berlin"}));
    CHECK(ana->metadata == nlohmann::json{{"city", "Berlin"}});
    const auto dan = contacts::find_by_phone(c, "ws_a", "+12025550103");
    REQUIRE(dan);
    CHECK(dan->tags == nlohmann::json::array({"a", "b"}));
    CHECK(dan->metadata["city"] == "Rio\r\nde Janeiro");
    const auto old = contacts::find(c, "ws_a", existing);
    CHECK(old->tags == nlohmann::json::array({"old", "new"}));  // added, not replaced
    CHECK(old->metadata["city"] == "Paris");
    CHECK_FALSE(contacts::find_by_phone(c, "ws_a", "+12025550102"));
    CHECK(contacts::count(c, "ws_b") == 0);
    return 0;
  });
}

TEST_CASE("create_only skips existing phones; a second identical import changes nothing",
          "[messaging][contacts][import]") {
  ContactsDb t;
  const std::string csv = "phone,name\n+12025550101,Ana\n+12025550102,Bob\n";
  auto first = import_contacts_csv(*t.db, csv, t.options());
  CHECK(first.imported == 2);
  auto again = import_contacts_csv(*t.db, csv, t.options());
  CHECK(again.imported == 0);
  CHECK(again.updated == 0);
  CHECK(again.skipped == 2);
  auto options = t.options();
  options.create_only = true;
  auto only = import_contacts_csv(*t.db, "phone,name\n+12025550101,Changed\n+12025550103,Cy\n", options);
  CHECK(only.imported == 1);
  CHECK(only.skipped == 1);
  t.db->read([&](Connection& c) {
    CHECK(contacts::find_by_phone(c, "ws_a", "+12025550101")->name == "Ana");
    return 0;
  });
}

TEST_CASE("a file with a bad header is refused before anything is written", "[messaging][contacts][import]") {
  ContactsDb t;
  for (const char* csv : {"", "name,email\nAna,a@b.co\n", "phone,fone\n+12025550101,x\n",
                          "phone,name,Name\n+12025550101,a,b\n", "phone,\"bad\"x\n+12025550101,1\n"}) {
    INFO(csv);
    CHECK(code_of([&] { import_contacts_csv(*t.db, csv, t.options()); }) == sb::ErrorCode::invalid_argument);
  }
  t.db->read([&](Connection& c) {
    CHECK(contacts::count(c, "ws_a") == 0);
    return 0;
  });
}

TEST_CASE("phones without + are read in the import's default region", "[messaging][contacts][import]") {
  ContactsDb t;
  auto options = t.options();
  options.default_region = "DE";
  auto report = import_contacts_csv(*t.db, "phone\n030 12345678\n", options);
  CHECK(report.imported == 1);
  auto refused = import_contacts_csv(*t.db, "phone\n030 12345679\n", t.options());
  REQUIRE(refused.errors.size() == 1);
  CHECK_THAT(refused.errors[0].message, Catch::Contains("no country code"));
}

TEST_CASE("an import opts out but never back in", "[messaging][contacts][import]") {
  ContactsDb t;
  auto report = import_contacts_csv(*t.db, "phone,opted_out\n+12025550101,true\n+12025550102,maybe\n", t.options());
  CHECK(report.imported == 1);
  REQUIRE(report.errors.size() == 1);
  CHECK(report.errors[0].column == "opted_out");
  auto again = import_contacts_csv(*t.db, "phone,opted_out\n+12025550101,false\n", t.options());
  CHECK(again.skipped == 1);
  t.db->read([&](Connection& c) {
    const auto ct = contacts::find_by_phone(c, "ws_a", "+12025550101");
    CHECK(ct->opted_out);
    CHECK(ct->opt_out_reason == "import");
    CHECK(ct->opted_out_at);
    return 0;
  });
}

TEST_CASE("an export reads back through the import unchanged", "[messaging][contacts][import]") {
  ContactsDb t;
  const std::string csv =
      "phone,name,email,tags,metadata.city,metadata.note\n"
      "+12025550101,\"Lima, Ana\",ana@example.com,vip;berlin,Berlin,\"says \"\"hi\"\"\"\n"
      "+442079460958,Bob,,,London,\"two\nlines\"\n";
  REQUIRE(import_contacts_csv(*t.db, csv, t.options()).imported == 2);
  std::string exported;
  t.db->read([&](Connection& c) {
    const auto keys = sb::messaging::contact_metadata_keys(c, "ws_a");
    CHECK(keys == std::vector<std::string>{"city", "note"});
    exported = sb::messaging::contact_csv_header(keys);
    for (const auto& ct : contacts::contacts_matching(c, "ws_a", {}, "", 100, true))
      exported += sb::messaging::contact_csv_record(ct, keys);
    return 0;
  });
  auto report = import_contacts_csv(*t.db, exported, t.options("b"));
  CHECK(report.imported == 2);
  CHECK(report.errors.empty());
  t.db->read([&](Connection& c) {
    for (const char* phone : {"+12025550101", "+442079460958"}) {
      const auto a = contacts::find_by_phone(c, "ws_a", phone);
      const auto b = contacts::find_by_phone(c, "ws_b", phone);
      REQUIRE(b);
      CHECK(a->name == b->name);
      CHECK(a->email == b->email);
      CHECK(a->tags == b->tags);
      CHECK(a->metadata == b->metadata);
    }
    return 0;
  });
}

TEST_CASE("100,000 rows import in seconds", "[messaging][contacts][import][slow]") {
  ContactsDb t;
  std::string csv = "phone,name,email,tags,metadata.city\r\n";
  for (int i = 0; i < 100000; ++i) {
    // Valid, distinct US numbers: +1 202 3XX NNNN.
    std::string line = std::to_string(10000 + i % 10000).substr(1);
    csv += std::string("+1202").append(std::to_string(300 + i / 10000)).append(line);
    csv += std::string(",Person ").append(std::to_string(i)).append(",p").append(std::to_string(i)).append("@example.com,");
    csv += i % 3 ? "vip" : "vip;churned";
    csv += ",City\r\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const auto report = import_contacts_csv(*t.db, csv, t.options());
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("imported " << report.imported << " in " << seconds << " s; first error: "
                   << (report.errors.empty() ? std::string() : report.errors[0].message));
  CHECK(report.rows == 100000);
  CHECK(report.imported == 100000);
  CHECK(seconds < 20.0);
  WARN("100,000-row import: " << seconds << " s (" << report.imported << " imported, " << report.error_rows
                              << " refused)");
  const auto q_start = std::chrono::steady_clock::now();
  const int64_t audience = t.db->read([&](Connection& c) {
    return contacts::count_matching(c, "ws_a", parse_tag_query("tag:vip AND NOT tag:churned"));
  });
  const auto q_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - q_start).count();
  WARN("audience count over 100,000 contacts: " << q_seconds << " s");
  CHECK(audience > 0);
  CHECK(q_seconds < 2.0);
}

TEST_CASE("opt-out keywords match the whole text, in any case, trimmed", "[messaging][contacts][opt-out]") {
  for (const char* stop : {"STOP", "stop", " Stop! ", "unsubscribe", "STOPP", "baja", "Dar de  baja", "arrêt", "ARRÊT."})
    CHECK(match_opt_keyword(stop) == OptKeyword::opt_out);
  for (const char* start : {"START", "start", "Subscribe", "UNSTOP"}) CHECK(match_opt_keyword(start) == OptKeyword::opt_in);
  for (const char* other : {"please stop the reminders", "stopped", "", "   ", "hello", "STOP STOP"})
    CHECK(match_opt_keyword(other) == OptKeyword::none);

  sb::messaging::set_opt_keywords({{"PARE"}, {"VOLTA"}});
  CHECK(match_opt_keyword("pare") == OptKeyword::opt_out);
  CHECK(match_opt_keyword("STOP") == OptKeyword::none);
  CHECK(match_opt_keyword("volta") == OptKeyword::opt_in);
  CHECK_THROWS(sb::messaging::set_opt_keywords({{"SAME"}, {"same"}}));
  sb::messaging::set_opt_keywords(sb::messaging::default_opt_keywords());
  CHECK(match_opt_keyword("STOP") == OptKeyword::opt_out);
}

TEST_CASE("a STOP opts the contact out once; START opts back in", "[messaging][contacts][opt-out]") {
  ContactsDb t;
  const std::string id = t.add("a", "+12025550101", {});
  t.db->write([&](Connection& c) {
    auto contact = *contacts::find(c, "ws_a", id);
    auto changed = sb::messaging::apply_opt_keyword(c, contact, std::string("Stop"), 100);
    REQUIRE(changed);
    CHECK(changed->opted_out);
    CHECK(changed->opt_out_reason == "keyword:STOP");
    CHECK(changed->opted_out_at == 100);
    CHECK_FALSE(sb::messaging::apply_opt_keyword(c, *changed, std::string("STOP"), 200));  // already out
    CHECK(contacts::is_opted_out(c, id));
    CHECK_FALSE(sb::messaging::apply_opt_keyword(c, *changed, std::string("hello"), 200));
    auto back = sb::messaging::apply_opt_keyword(c, *changed, std::string("start"), 300);
    REQUIRE(back);
    CHECK_FALSE(back->opted_out);
    CHECK_FALSE(back->opted_out_at);
    CHECK_FALSE(contacts::is_opted_out(c, id));
    return 0;
  });
}

TEST_CASE("a channel's alternate ids find their contact and belong to one contact", "[messaging][contacts]") {
  ContactsDb t;
  const std::string ana = t.add("a", "+12025550101", {});
  const std::string bob = t.add("a", "+12025550102", {});
  t.db->write([&](Connection& c) {
    sb::store::ContactIdentity id{ana, "channel-whatsapp-cloud", "", "bsuid", "US.123", 0};
    CHECK(contacts::add_identity(c, "ws_a", id, 10));
    CHECK_FALSE(contacts::add_identity(c, "ws_a", id, 11));  // already hers
    auto found = contacts::find_by_identity(c, "ws_a", "channel-whatsapp-cloud", "", "bsuid", "US.123");
    REQUIRE(found);
    CHECK(found->id == ana);
    CHECK_FALSE(contacts::find_by_identity(c, "ws_b", "channel-whatsapp-cloud", "", "bsuid", "US.123"));
    id.contact_id = bob;
    CHECK(code_of([&] { contacts::add_identity(c, "ws_a", id, 12); }) == sb::ErrorCode::conflict);
    id.contact_id = ana;
    CHECK(code_of([&] { contacts::add_identity(c, "ws_b", id, 12); }) == sb::ErrorCode::not_found);
    CHECK(contacts::identities(c, "ws_a", ana).size() == 1);
    return 0;
  });
}

TEST_CASE("ids a channel reports with an inbound message are recorded for its sender, never failing it",
          "[messaging][contacts]") {
  ContactsDb t;
  const std::string ana = t.add("a", "+12025550101", {});
  const std::string bob = t.add("a", "+12025550102", {});
  t.db->write([&](Connection& c) {
    const auto contact = *contacts::find(c, "ws_a", ana);
    const nlohmann::json payload = {
        {"wa_id", "12025550101"},
        {"identities",
         {{{"kind", "bsuid"}, {"value", "US.13491208655302741918"}},
          {{"kind", "Bad Kind"}, {"value", "x"}},   // not a kind: left out
          {{"kind", "lid"}, {"value", ""}},         // empty: left out
          "not an object"}}};
    CHECK(sb::messaging::record_reported_identities(c, contact, "channel-whatsapp-cloud", payload, 10) == 2);
    CHECK(sb::messaging::record_reported_identities(c, contact, "channel-whatsapp-cloud", payload, 11) == 0);
    CHECK(contacts::identities(c, "ws_a", ana).size() == 2);
    CHECK(contacts::find_by_identity(c, "ws_a", "channel-whatsapp-cloud", "", "bsuid", "US.13491208655302741918")->id ==
          ana);
    // Bob reporting Ana's id does not take it, and does not throw.
    const auto other = *contacts::find(c, "ws_a", bob);
    CHECK(sb::messaging::record_reported_identities(c, other, "channel-whatsapp-cloud",
                                                    {{"wa_id", "12025550101"}}, 12) == 0);
    CHECK(contacts::identities(c, "ws_a", bob).empty());
    CHECK(sb::messaging::record_reported_identities(c, other, "channel-whatsapp-cloud", nlohmann::json::array(), 12) == 0);
    return 0;
  });
}
