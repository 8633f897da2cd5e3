// check_trigger (declared in flow_document.hpp): the Triggers table of
// docs/flows.md, field by field, shared by graph documents and Lua flows.
#include "flows/flow_document.hpp"

#include "core/error.hpp"
#include "core/json_schema.hpp"
#include "flows/cron.hpp"
#include "flows/regex.hpp"

#include <algorithm>
#include <set>

namespace sb::flows {
namespace {

constexpr const char* kTriggerTypes = "message, keyword, event, schedule, webhook, manual";
constexpr size_t kMinWebhookSecret = 16;

// The keys each trigger type takes besides "type" and "priority".
const std::map<std::string, std::vector<std::string>>& allowed_keys() {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"message", {"profiles"}},
      {"keyword", {"keywords", "match", "case_sensitive", "profiles"}},
      {"event", {"event", "tag"}},
      {"schedule", {"cron", "timezone", "profile", "tag"}},
      {"webhook", {"secret"}},
      {"manual", {}},
  };
  return keys;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

size_t utf8_length(const std::string& text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Field checks that append a problem at `path + "/" + key` and say whether
// the field is usable.
struct Fields {
  nlohmann::json& trigger;
  const std::string& path;
  std::vector<Problem>& problems;

  std::string at(const std::string& key) const { return path + "/" + json_pointer_token(key); }
  void problem(const std::string& key, std::string message) const { problems.push_back({at(key), std::move(message)}); }

  // A required (or, when present, optional) non-empty string.
  bool string(const std::string& key, bool required) const {
    auto it = trigger.find(key);
    if (it == trigger.end()) {
      if (required) problem(key, "required property '" + key + "' is missing");
      return false;
    }
    if (!it->is_string() || it->get<std::string>().empty()) {
      problem(key, "must be a non-empty string");
      return false;
    }
    return true;
  }

  bool string_list(const std::string& key, bool required, const std::string& empty_message) const {
    auto it = trigger.find(key);
    if (it == trigger.end()) {
      if (required) problem(key, "required property '" + key + "' is missing");
      return false;
    }
    if (!it->is_array()) {
      problem(key, "must be an array of strings");
      return false;
    }
    if (it->empty()) {
      problem(key, empty_message);
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& item = (*it)[i];
      if (!item.is_string() || item.get<std::string>().empty()) {
        problems.push_back({at(key) + "/" + std::to_string(i), "must be a non-empty string"});
        ok = false;
      }
    }
    return ok;
  }

  void boolean(const std::string& key, bool default_value) const {
    auto it = trigger.find(key);
    if (it == trigger.end()) {
      trigger[key] = default_value;
    } else if (!it->is_boolean()) {
      problem(key, "must be true or false");
    }
  }
};

void check_keyword(const Fields& f) {
  f.boolean("case_sensitive", false);
  auto match = f.trigger.find("match");
  if (match == f.trigger.end()) {
    f.trigger["match"] = "exact";
  } else {
    static const std::set<std::string> kMatches = {"exact", "contains", "starts_with", "regex"};
    if (!match->is_string() || !kMatches.count(match->get<std::string>())) {
      f.problem("match", "must be one of \"exact\", \"contains\", \"starts_with\", \"regex\"");
    }
  }
  const bool keywords_ok = f.string_list("keywords", true, "must list at least one keyword");
  const auto& m = f.trigger["match"];
  const auto& cs = f.trigger["case_sensitive"];
  if (keywords_ok && m == "regex" && cs.is_boolean()) {
    const auto& keywords = f.trigger["keywords"];
    for (size_t i = 0; i < keywords.size(); ++i) {
      try {
        check_regex(keywords[i].get<std::string>(), cs.get<bool>());
      } catch (const Error& e) {
        f.problems.push_back({f.at("keywords") + "/" + std::to_string(i), e.what()});
      }
    }
  }
}

void check_event(const Fields& f) {
  static const std::set<std::string> kEvents = {"contact.tagged", "conversation.resolved", "handoff.released"};
  if (f.string("event", true) && !kEvents.count(f.trigger["event"].get<std::string>())) {
    f.problem("event", "unknown event '" + f.trigger["event"].get<std::string>() +
                           "' (one of: contact.tagged, conversation.resolved, handoff.released)");
  }
  if (f.string("tag", false) && f.trigger.value("event", nlohmann::json()) != "contact.tagged") {
    f.problem("tag", "only a contact.tagged trigger takes a tag");
  }
}

void check_schedule(const Fields& f) {
  if (f.string("cron", true)) {
    try {
      CronSchedule::parse(f.trigger["cron"].get<std::string>());
    } catch (const Error& e) {
      f.problem("cron", e.what());
    }
  }
  if (f.string("timezone", false) && !is_valid_timezone(f.trigger["timezone"].get<std::string>())) {
    f.problem("timezone", "unknown time zone '" + f.trigger["timezone"].get<std::string>() +
                              "' (an IANA name such as Europe/Berlin)");
  }
  const bool profile = f.string("profile", false);
  const bool tag = f.string("tag", false);
  // Either alone would silently mean "once, with no conversation".
  if (profile != tag && f.trigger.contains("profile") != f.trigger.contains("tag")) {
    f.problem(profile ? "tag" : "profile",
              "a schedule trigger takes profile and tag together (once per contact carrying the tag on that "
              "profile), or neither");
  }
}

void check_webhook(const Fields& f) {
  if (f.string("secret", true) && utf8_length(f.trigger["secret"].get<std::string>()) < kMinWebhookSecret) {
    f.problem("secret", "must be at least " + std::to_string(kMinWebhookSecret) + " characters long");
  }
}

}  // namespace

void check_trigger(nlohmann::json& trigger, const std::string& path, std::vector<Problem>& problems) {
  if (!trigger.is_object()) {
    problems.push_back({path, "the trigger must be an object such as {\"type\": \"message\"}"});
    return;
  }
  const Fields f{trigger, path, problems};
  auto type_it = trigger.find("type");
  if (type_it == trigger.end()) {
    f.problem("type", "required property 'type' is missing (one of: " + std::string(kTriggerTypes) + ")");
    return;
  }
  const std::string type = type_it->is_string() ? type_it->get<std::string>() : type_it->dump();
  const auto allowed = allowed_keys().find(type);
  if (!type_it->is_string() || allowed == allowed_keys().end()) {
    f.problem("type", "unknown trigger type " + type_it->dump() + " (one of: " + kTriggerTypes + ")");
    return;
  }

  for (const auto& [key, value] : trigger.items()) {
    if (key == "type" || key == "priority") continue;
    if (std::find(allowed->second.begin(), allowed->second.end(), key) == allowed->second.end()) {
      f.problem(key, "unknown property '" + key + "' for a " + type + " trigger" +
                         (allowed->second.empty() ? " (it takes only type and priority)"
                                                  : " (it takes " + join(allowed->second) + ", priority)"));
    }
  }
  if (auto priority = trigger.find("priority"); priority == trigger.end()) {
    trigger["priority"] = 0;
  } else if (!priority->is_number_integer()) {
    f.problem("priority", "must be an integer");
  }
  const bool takes_profiles =
      std::find(allowed->second.begin(), allowed->second.end(), "profiles") != allowed->second.end();
  if (takes_profiles && trigger.contains("profiles")) {
    f.string_list("profiles", false, "must list at least one profile (leave it out for every profile)");
  }

  if (type == "keyword") check_keyword(f);
  if (type == "event") check_event(f);
  if (type == "schedule") check_schedule(f);
  if (type == "webhook") check_webhook(f);
}

}  // namespace sb::flows
