// Triggers (docs/flows.md, "Triggers"): each type takes its own fields,
// unknown ones are refused, defaults are filled in, and regexes, cron
// expressions, time zones and webhook secrets are checked before a flow is
// accepted.
#include "flows/flow_document.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using Catch::Matchers::Contains;
using nlohmann::json;
using sb::flows::check_trigger;
using sb::flows::Problem;

namespace {

struct Checked {
  json trigger;
  std::vector<Problem> problems;

  // The message at `path` ("" when there is none; fails when there are several).
  std::string at(const std::string& path) const {
    std::vector<std::string> found;
    for (const auto& p : problems) {
      if (p.path == path) found.push_back(p.message);
    }
    INFO(sb::flows::format_problems(problems));
    REQUIRE(found.size() <= 1);
    return found.empty() ? "" : found.front();
  }
};

Checked check(json trigger) {
  Checked c{std::move(trigger), {}};
  check_trigger(c.trigger, "/trigger", c.problems);
  return c;
}

}  // namespace

TEST_CASE("a message trigger takes profiles and gets priority 0 by default", "[flows][trigger]") {
  const auto c = check({{"type", "message"}, {"profiles", {"demo", "support"}}});
  CHECK(c.problems.empty());
  CHECK(c.trigger == json{{"type", "message"}, {"profiles", {"demo", "support"}}, {"priority", 0}});
  CHECK(check({{"type", "message"}, {"priority", 5}}).trigger.at("priority") == 5);
}

TEST_CASE("a keyword trigger gets match exact and case_sensitive false by default", "[flows][trigger]") {
  const auto c = check({{"type", "keyword"}, {"keywords", {"hi"}}});
  CHECK(c.problems.empty());
  CHECK(c.trigger.at("match") == "exact");
  CHECK(c.trigger.at("case_sensitive") == false);
  CHECK(c.trigger.at("priority") == 0);
}

TEST_CASE("a keyword trigger needs a non-empty list of non-empty keywords and a known match", "[flows][trigger]") {
  CHECK(check({{"type", "keyword"}}).at("/trigger/keywords") == "required property 'keywords' is missing");
  CHECK(check({{"type", "keyword"}, {"keywords", json::array()}}).at("/trigger/keywords") ==
        "must list at least one keyword");
  CHECK(check({{"type", "keyword"}, {"keywords", {"hi", ""}}}).at("/trigger/keywords/1") == "must be a non-empty string");
  CHECK(check({{"type", "keyword"}, {"keywords", "hi"}}).at("/trigger/keywords") == "must be an array of strings");
  CHECK_THAT(check({{"type", "keyword"}, {"keywords", {"hi"}}, {"match", "fuzzy"}}).at("/trigger/match"),
             Contains("must be one of"));
  CHECK(check({{"type", "keyword"}, {"keywords", {"hi"}}, {"case_sensitive", "no"}}).at("/trigger/case_sensitive") ==
        "must be true or false");
}

TEST_CASE("each keyword of a regex trigger must compile", "[flows][trigger]") {
  CHECK(check({{"type", "keyword"}, {"keywords", {"^order\\s+\\d+$"}}, {"match", "regex"}}).problems.empty());
  const auto c = check({{"type", "keyword"}, {"keywords", {"ok", "(unclosed"}}, {"match", "regex"}});
  CHECK(c.at("/trigger/keywords/0").empty());
  CHECK_THAT(c.at("/trigger/keywords/1"), Contains("regex"));
  // Outside regex matching the same text is an ordinary keyword.
  CHECK(check({{"type", "keyword"}, {"keywords", {"(unclosed"}}}).problems.empty());
}

TEST_CASE("an event trigger names one of the three events; only contact.tagged takes a tag", "[flows][trigger]") {
  CHECK(check({{"type", "event"}, {"event", "contact.tagged"}, {"tag", "vip"}}).problems.empty());
  CHECK(check({{"type", "event"}, {"event", "conversation.resolved"}}).problems.empty());
  CHECK(check({{"type", "event"}, {"event", "handoff.released"}}).problems.empty());
  CHECK_THAT(check({{"type", "event"}, {"event", "contact.deleted"}}).at("/trigger/event"),
             Contains("unknown event 'contact.deleted'"));
  CHECK(check({{"type", "event"}}).at("/trigger/event") == "required property 'event' is missing");
  CHECK(check({{"type", "event"}, {"event", "conversation.resolved"}, {"tag", "vip"}}).at("/trigger/tag") ==
        "only a contact.tagged trigger takes a tag");
}

TEST_CASE("a schedule trigger needs a cron that parses and a known time zone", "[flows][trigger]") {
  CHECK(check({{"type", "schedule"}, {"cron", "0 9 * * MON-FRI"}, {"timezone", "Europe/Berlin"}}).problems.empty());
  CHECK(check({{"type", "schedule"}}).at("/trigger/cron") == "required property 'cron' is missing");
  CHECK_THAT(check({{"type", "schedule"}, {"cron", "0 25 * * *"}}).at("/trigger/cron"), Contains("hour"));
  CHECK_THAT(check({{"type", "schedule"}, {"cron", "0 9 * * *"}, {"timezone", "Mars/Olympus"}}).at("/trigger/timezone"),
             Contains("unknown time zone 'Mars/Olympus'"));
}

TEST_CASE("a schedule trigger takes profile and tag together or neither", "[flows][trigger]") {
  CHECK(check({{"type", "schedule"}, {"cron", "@daily"}, {"profile", "demo"}, {"tag", "vip"}}).problems.empty());
  CHECK_THAT(check({{"type", "schedule"}, {"cron", "@daily"}, {"profile", "demo"}}).at("/trigger/tag"),
             Contains("together"));
  CHECK_THAT(check({{"type", "schedule"}, {"cron", "@daily"}, {"tag", "vip"}}).at("/trigger/profile"),
             Contains("together"));
}

TEST_CASE("a webhook trigger needs a secret of 16 characters or more", "[flows][trigger]") {
  CHECK(check({{"type", "webhook"}, {"secret", "0123456789abcdef"}}).problems.empty());
  CHECK(check({{"type", "webhook"}, {"secret", "short"}}).at("/trigger/secret") == "must be at least 16 characters long");
  CHECK(check({{"type", "webhook"}}).at("/trigger/secret") == "required property 'secret' is missing");
}

TEST_CASE("a manual trigger takes nothing but type and priority", "[flows][trigger]") {
  CHECK(check({{"type", "manual"}}).problems.empty());
  CHECK_THAT(check({{"type", "manual"}, {"cron", "@daily"}}).at("/trigger/cron"),
             Contains("unknown property 'cron' for a manual trigger"));
}

TEST_CASE("unknown trigger keys, types and a non-integer priority are refused", "[flows][trigger]") {
  const auto c = check({{"type", "message"}, {"keywords", {"hi"}}, {"priority", 1.5}});
  CHECK_THAT(c.at("/trigger/keywords"), Contains("unknown property 'keywords' for a message trigger"));
  CHECK(c.at("/trigger/priority") == "must be an integer");
  CHECK_THAT(check({{"type", "cron"}}).at("/trigger/type"), Contains("unknown trigger type \"cron\""));
  CHECK_THAT(check(json::object()).at("/trigger/type"), Contains("required property 'type' is missing"));
  CHECK_THAT(check(json("message")).at("/trigger"), Contains("must be an object"));
  CHECK(check({{"type", "message"}, {"profiles", json::array()}}).at("/trigger/profiles") ==
        "must list at least one profile (leave it out for every profile)");
}
