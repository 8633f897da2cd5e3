#include "app/flow_conversation_test.hpp"

#include "app/flow_harness.hpp"
#include "app/scripted_http_server.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "flows/cron.hpp"
#include "flows/regex.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace sb::app {
namespace {

using nlohmann::json;

Error fixture_error(const std::filesystem::path& fixture, const std::string& why) {
  return Error(ErrorCode::invalid_argument, fixture.string() + ": " + why);
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string quoted(const std::string& s) { return json(s).dump(); }

// ---- The fixture ------------------------------------------------------------------

struct Fixture {
  std::filesystem::path path;
  std::string description;
  std::string phone = "+15550100001", name = "Ada", timezone = "UTC";
  std::optional<int64_t> start_ms;
  std::vector<std::filesystem::path> flows;  // resolved against the fixture's folder
  json http;                                 // null: no server
  json resources = json::object();           // resource id -> config overrides
  // Knowledge bases made before the conversation: name, files, settings.
  struct KnowledgeBase {
    std::string name;
    std::vector<std::filesystem::path> files;
    json settings = json::object();
  };
  std::vector<KnowledgeBase> knowledge;
  json steps;
};

// Checks one step's shape so that a typo fails before anything runs.
void check_step(const Fixture& f, size_t index, const json& step) {
  const std::string where = "steps[" + std::to_string(index) + "]";
  auto bad = [&](const std::string& why) { return fixture_error(f.path, where + ": " + why); };
  static const std::set<std::string> kActions = {"say", "expect", "expect_nothing", "advance", "expect_vars",
                                                 "expect_tags", "expect_execution", "expect_mode"};
  if (!step.is_object()) throw bad("a step is an object like {\"say\": \"hi\"}");
  std::string action;
  for (const auto& [key, value] : step.items()) {
    if (key == "reply_id") continue;
    if (!kActions.count(key)) throw bad("unknown step \"" + key + "\"");
    if (!action.empty()) throw bad("one action per step (\"" + action + "\" and \"" + key + "\")");
    action = key;
  }
  if (action.empty()) throw bad("no action (say, expect, expect_nothing, advance, expect_vars, ...)");
  const json& v = step[action];
  if (step.contains("reply_id") && (action != "say" || !step["reply_id"].is_string()))
    throw bad("\"reply_id\" (a string) goes with \"say\" only");
  if (action == "say" && !v.is_string()) throw bad("\"say\" takes the text the contact sends");
  if (action == "expect_nothing" && v != json(true)) throw bad("\"expect_nothing\" takes true");
  if (action == "advance") {
    if (v.is_number()) {
      if (v.get<double>() < 0) throw bad("\"advance\" cannot move the clock backwards");
    } else if (!v.is_string()) {
      throw bad("\"advance\" takes a duration like \"30s\", \"10m\", \"2h\", \"1d\" or seconds");
    } else {
      try {
        parse_duration_ms(v.get<std::string>());
      } catch (const Error& e) {
        throw bad(e.what());
      }
    }
  }
  if (action == "expect_vars" && !v.is_object()) throw bad("\"expect_vars\" takes an object of variables");
  if (action == "expect_tags") {
    if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const json& t) { return t.is_string(); }))
      throw bad("\"expect_tags\" takes an array of tag names");
  }
  if (action == "expect_execution" && !(v == "waiting" || v == "completed" || v == "failed" || v == "cancelled"))
    throw bad("\"expect_execution\" is \"waiting\", \"completed\" or \"failed\"");
  if (action == "expect_mode" && !(v == "bot" || v == "human")) throw bad("\"expect_mode\" is \"bot\" or \"human\"");
  if (action == "expect") {
    if (v.is_string()) return;
    if (!v.is_object() || v.empty()) throw bad("\"expect\" takes a text or an object (text, contains, regex, type, buttons, rows)");
    for (const auto& [key, value] : v.items()) {
      if (key == "text" || key == "contains" || key == "type") {
        if (!value.is_string()) throw bad("expect." + key + " must be a string");
      } else if (key == "regex") {
        if (!value.is_string()) throw bad("expect.regex must be a string");
        try {
          flows::check_regex(value.get<std::string>(), true);
        } catch (const Error& e) {
          throw bad(std::string("expect.regex: ") + e.what());
        }
      } else if (key == "buttons" || key == "rows") {
        if (!value.is_array() || !std::all_of(value.begin(), value.end(), [](const json& t) { return t.is_string(); }))
          throw bad("expect." + key + " must be an array of titles");
      } else {
        throw bad("unknown expectation \"" + key + "\" (text, contains, regex, type, buttons, rows)");
      }
    }
  }
}

Fixture load_fixture(const std::filesystem::path& path) {
  Fixture f;
  f.path = path;
  const auto text = read_file(path);
  if (!text) throw fixture_error(path, "cannot read the file");
  const json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded()) throw fixture_error(path, "not valid JSON");
  if (!doc.is_object()) throw fixture_error(path, "a fixture is a JSON object");
  static const std::set<std::string> kKeys = {"description", "contact",   "timezone", "start_time", "flows",
                                              "http",        "resources", "knowledge", "steps"};
  for (const auto& [key, value] : doc.items()) {
    if (!kKeys.count(key)) throw fixture_error(path, "unknown field \"" + key + "\"");
  }
  if (doc.contains("description")) {
    if (!doc["description"].is_string()) throw fixture_error(path, "\"description\" must be a string");
    f.description = doc["description"].get<std::string>();
  }
  if (doc.contains("contact")) {
    const json& c = doc["contact"];
    if (!c.is_object()) throw fixture_error(path, "\"contact\" is {\"phone\", \"name\"}");
    if (c.contains("phone")) {
      if (!c["phone"].is_string()) throw fixture_error(path, "contact.phone must be a string");
      f.phone = c["phone"].get<std::string>();
    }
    if (c.contains("name")) {
      if (!c["name"].is_string()) throw fixture_error(path, "contact.name must be a string");
      f.name = c["name"].get<std::string>();
    }
  }
  if (doc.contains("timezone")) {
    if (!doc["timezone"].is_string() || !flows::is_valid_timezone(doc["timezone"].get<std::string>()))
      throw fixture_error(path, "\"timezone\" must name a time zone like \"Europe/Berlin\"");
    f.timezone = doc["timezone"].get<std::string>();
  }
  if (doc.contains("start_time")) {
    if (!doc["start_time"].is_string()) throw fixture_error(path, "\"start_time\" must be an ISO 8601 string");
    try {
      f.start_ms = parse_iso8601_ms(doc["start_time"].get<std::string>());
    } catch (const Error& e) {
      throw fixture_error(path, std::string("start_time: ") + e.what());
    }
  }
  if (doc.contains("flows")) {
    if (!doc["flows"].is_array()) throw fixture_error(path, "\"flows\" is an array of file names");
    for (const auto& name : doc["flows"]) {
      if (!name.is_string()) throw fixture_error(path, "\"flows\" is an array of file names");
      f.flows.push_back(path.parent_path() / name.get<std::string>());
    }
  }
  if (doc.contains("http")) f.http = doc["http"];
  if (doc.contains("resources")) {
    f.resources = doc["resources"];
    if (!f.resources.is_object()) throw fixture_error(path, "\"resources\" maps resource ids to their config");
    for (const auto& [id, config] : f.resources.items()) {
      if (!config.is_object()) throw fixture_error(path, "resources." + id + " must be an object (the resource's config)");
    }
  }
  if (doc.contains("knowledge")) {
    const char* shape = "\"knowledge\" is an array of {\"name\", \"files\": [...], \"settings\"?}";
    if (!doc["knowledge"].is_array()) throw fixture_error(path, shape);
    for (const auto& k : doc["knowledge"]) {
      if (!k.is_object() || !k.contains("name") || !k["name"].is_string() || !k.contains("files") ||
          !k["files"].is_array() || k["files"].empty()) {
        throw fixture_error(path, shape);
      }
      Fixture::KnowledgeBase kb;
      kb.name = k["name"].get<std::string>();
      for (const auto& file : k["files"]) {
        if (!file.is_string()) throw fixture_error(path, shape);
        kb.files.push_back(path.parent_path() / file.get<std::string>());
      }
      if (k.contains("settings")) kb.settings = k["settings"];
      f.knowledge.push_back(std::move(kb));
    }
  }
  if (!doc.contains("steps") || !doc["steps"].is_array() || doc["steps"].empty())
    throw fixture_error(path, "\"steps\" must be a non-empty array");
  f.steps = doc["steps"];
  for (size_t i = 0; i < f.steps.size(); ++i) check_step(f, i, f.steps[i]);
  return f;
}

// Replaces "{{http}}" in every string of `value`; true when there was one.
bool substitute_http(json& value, const std::string& base_url) {
  bool found = false;
  if (value.is_string()) {
    std::string s = value.get<std::string>();
    for (size_t at = s.find("{{http}}"); at != std::string::npos; at = s.find("{{http}}", at + base_url.size())) {
      s.replace(at, 8, base_url);
      found = true;
    }
    value = s;
  } else if (value.is_structured()) {
    for (auto& item : value) found = substitute_http(item, base_url) || found;
  }
  return found;
}

// The document with the fixture's resource configs merged over its own.
// Text that is not a JSON document is returned as it is (the library
// reports its problems).
std::string with_resources(const std::string& text, const json& overrides, std::set<std::string>& used) {
  if (overrides.empty()) return text;
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("resources") || !doc["resources"].is_array()) return text;
  bool changed = false;
  for (auto& resource : doc["resources"]) {
    if (!resource.is_object() || !resource.contains("id") || !resource["id"].is_string()) continue;
    const std::string id = resource["id"].get<std::string>();
    if (!overrides.contains(id)) continue;
    if (!resource.contains("config") || !resource["config"].is_object()) resource["config"] = json::object();
    for (const auto& [key, value] : overrides[id].items()) resource["config"][key] = value;
    used.insert(id);
    changed = true;
  }
  return changed ? doc.dump(2) : text;
}

// ---- Expectations -----------------------------------------------------------------

std::string titles(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& t : list) out += (out.empty() ? "[" : " [") + t + "]";
  return out;
}

std::string describe_expect(const json& e) {
  if (e.is_string()) return "text " + quoted(e.get<std::string>());
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (e.contains("type")) add(e["type"].get<std::string>());
  if (e.contains("text")) add("text " + e["text"].dump());
  if (e.contains("contains")) add("containing " + e["contains"].dump());
  if (e.contains("regex")) add("matching /" + e["regex"].get<std::string>() + "/");
  if (e.contains("buttons")) add("buttons " + titles(e["buttons"].get<std::vector<std::string>>()));
  if (e.contains("rows")) add("rows " + titles(e["rows"].get<std::vector<std::string>>()));
  return out;
}

std::string describe_actual(const store::Message& m) {
  std::string out = m.type + " " + quoted(text_of(m));
  const auto buttons = button_titles(m);
  if (!buttons.empty()) out += " buttons " + titles(buttons);
  const auto rows = row_titles(m);
  if (!rows.empty()) out += " rows " + titles(rows);
  return out;
}

bool message_matches(const json& e, const store::Message& m) {
  const std::string text = text_of(m);
  if (e.is_string()) return m.type == "text" && text == e.get<std::string>();
  if (e.contains("type") && m.type != e["type"].get<std::string>()) return false;
  if (e.contains("text") && text != e["text"].get<std::string>()) return false;
  if (e.contains("contains") && text.find(e["contains"].get<std::string>()) == std::string::npos) return false;
  if (e.contains("regex") && !flows::regex_search(e["regex"].get<std::string>(), text, true)) return false;
  if (e.contains("buttons") && button_titles(m) != e["buttons"].get<std::vector<std::string>>()) return false;
  if (e.contains("rows") && row_titles(m) != e["rows"].get<std::vector<std::string>>()) return false;
  return true;
}

std::string weekday_name(int iso) {
  static const char* kNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  return iso >= 1 && iso <= 7 ? kNames[iso - 1] : "?";
}

// ---- Playing ----------------------------------------------------------------------

class Player {
 public:
  Player(const Fixture& fixture, FlowHarness& harness, ScriptedHttpServer* http, std::FILE* out)
      : f_(fixture), harness_(harness), http_(http), out_(out) {}

  // Plays every step; 0 or 1.
  int play(const std::string& manual_flow) {
    if (!f_.description.empty()) line("# " + f_.description);
    if (!manual_flow.empty()) {
      line("… started " + manual_flow + " (manual trigger)");
      harness_.start_manual(manual_flow);
      if (!collect()) return fail("before the first step");
    }
    for (size_t i = 0; i < f_.steps.size(); ++i) {
      if (!step(f_.steps[i]) || !collect()) return fail("at step " + std::to_string(i + 1) + ": " + f_.steps[i].dump());
    }
    if (http_ && http_->answered() < http_->expected()) {
      line("  ✗ the fixture scripts " + std::to_string(http_->expected()) + " HTTP request(s); " +
           std::to_string(http_->answered()) + " came");
      return fail("at the end");
    }
    line("PASS " + f_.path.string() + " (" + std::to_string(f_.steps.size()) + " steps)");
    return 0;
  }

 private:
  void line(const std::string& text) {
    std::fprintf(out_, "%s\n", text.c_str());
    std::fflush(out_);
  }

  int fail(const std::string& where) {
    line("FAIL " + f_.path.string() + " " + where);
    return 1;
  }

  // Prints what arrived (HTTP calls, replies) and queues the replies; false
  // when the HTTP script saw a request it did not expect.
  bool collect() {
    bool ok = true;
    if (http_) {
      for (const auto& entry : http_->take_log()) line("  ⇄ HTTP " + entry);
      for (const auto& failure : http_->take_failures()) {
        line("  ✗ " + failure);
        ok = false;
      }
    }
    for (auto& m : harness_.take_outbound()) {
      std::string text = describe_message(m);
      for (size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 1)) text.insert(at + 1, "       ");
      line("< bot: " + text);
      queue_.push_back(std::move(m));
    }
    return ok;
  }

  bool check(bool ok, const std::string& what, const std::string& got) {
    if (ok) {
      line("  ✓ " + what);
      return true;
    }
    line("  ✗ expected " + what);
    line("    got " + got);
    if (auto e = harness_.latest_execution(); e && e->status == "failed") {
      line("    (the latest execution, of flow " + e->flow_id + ", failed: " + e->error.value_or("") + ")");
    }
    return false;
  }

  bool step(const json& s) {
    if (s.contains("say")) {
      const std::string text = s["say"].get<std::string>();
      const std::string reply_id = s.value("reply_id", "");
      line("> contact: " + text + (reply_id.empty() ? "" : "  [reply_id " + reply_id + "]"));
      harness_.say(text, reply_id);
      return true;
    }
    if (s.contains("advance")) {
      const json& v = s["advance"];
      const int64_t ms = v.is_number() ? static_cast<int64_t>(v.get<double>() * 1000 + 0.5)
                                       : parse_duration_ms(v.get<std::string>());
      harness_.advance(ms);
      const auto t = flows::local_time(harness_.now(), f_.timezone);
      char when[64];
      std::snprintf(when, sizeof when, "%s %04d-%02d-%02d %02d:%02d", weekday_name(t.weekday).c_str(), t.year, t.month,
                    t.day, t.hour, t.minute);
      line("… advanced " + format_duration(ms) + " (now " + when + " " + f_.timezone + ")");
      return true;
    }
    if (s.contains("expect")) {
      const json& e = s["expect"];
      if (queue_.empty()) return check(false, "a reply: " + describe_expect(e), "nothing (no further message was sent)");
      store::Message m = std::move(queue_.front());
      queue_.pop_front();
      return check(message_matches(e, m), describe_expect(e), describe_actual(m));
    }
    if (s.contains("expect_nothing")) {
      std::string got;
      for (const auto& m : queue_) got += (got.empty() ? "" : "; ") + describe_actual(m);
      return check(queue_.empty(), "nothing more", got);
    }
    const auto execution = harness_.latest_execution();
    if (s.contains("expect_vars")) {
      const json vars = execution ? execution->state.value("current_vars", execution->state.value("vars", json::object()))
                               : json::object();
      return check(json_subset(s["expect_vars"], vars), "vars " + s["expect_vars"].dump(),
                   execution ? vars.dump() : "no execution at all");
    }
    if (s.contains("expect_execution")) {
      const std::string want = s["expect_execution"].get<std::string>();
      std::string got = execution ? execution->status : "no execution at all";
      if (execution && execution->error) got += " (" + *execution->error + ")";
      return check(execution && execution->status == want, "execution " + want, got);
    }
    if (s.contains("expect_tags")) {
      json want = s["expect_tags"];
      std::sort(want.begin(), want.end());
      const json tags = harness_.contact_tags();
      return check(tags == want, "tags " + want.dump(), tags.dump());
    }
    if (s.contains("expect_mode")) {
      const std::string want = s["expect_mode"].get<std::string>();
      const std::string mode = harness_.conversation_mode();
      return check(mode == want, "mode " + want, mode.empty() ? "no conversation" : mode);
    }
    return false;  // check_step let through a step it should not have
  }

  const Fixture& f_;
  FlowHarness& harness_;
  ScriptedHttpServer* http_;
  std::FILE* out_;
  std::deque<store::Message> queue_;  // replies that came and were not expected yet
};

}  // namespace

int run_conversation_test(const ConversationTestOptions& options, std::FILE* out) {
  const Fixture fixture = load_fixture(options.fixture_file);

  json resources = fixture.resources;
  std::unique_ptr<ScriptedHttpServer> http;
  json probe = resources;
  if (!fixture.http.is_null() || substitute_http(probe, "")) {
    http = std::make_unique<ScriptedHttpServer>(fixture.http.is_null() ? json::array() : fixture.http);
    substitute_http(resources, http->base_url());
  }

  FlowHarnessOptions harness_options;
  harness_options.plugin_paths = options.plugin_paths;
  harness_options.timezone = fixture.timezone;
  harness_options.manual_clock_start_ms = fixture.start_ms.value_or(now_ms());
  harness_options.contact_phone = fixture.phone;
  harness_options.contact_name = fixture.name;
  FlowHarness harness(harness_options);

  // Subflows first, the flow under test last (it may name them).
  std::vector<std::filesystem::path> files = fixture.flows;
  files.push_back(options.flow_file);
  std::set<std::string> used;
  flows::FlowPtr main_flow;
  bool problems = false;
  for (const auto& file : files) {
    const auto text = read_file(file);
    if (!text) {
      std::fprintf(out, "%s: cannot read the file\n", file.string().c_str());
      problems = true;
      continue;
    }
    const auto result = harness.install(file.filename().string(), with_resources(*text, resources, used));
    if (!result.ok()) {
      std::istringstream lines(flows::format_problems(result.problems));
      for (std::string l; std::getline(lines, l);) std::fprintf(out, "%s: %s\n", file.string().c_str(), l.c_str());
      problems = true;
    }
    main_flow = result.flow;
  }
  for (const auto& [id, config] : resources.items()) {
    if (!used.count(id)) {
      std::fprintf(out, "%s: resources.%s: no flow of the test has a resource with this id\n",
                   fixture.path.string().c_str(), id.c_str());
      problems = true;
    }
  }
  std::fflush(out);
  if (problems) return 2;

  harness.start();
  for (const auto& kb : fixture.knowledge) {
    try {
      const json made = harness.add_knowledge_base(kb.name, kb.files, kb.settings);
      std::fprintf(out, "knowledge base %s: %d document(s), %d chunks\n", kb.name.c_str(), made["documents"].get<int>(),
                   made["chunks"].get<int>());
    } catch (const Error& e) {
      std::fprintf(out, "%s: knowledge base %s: %s\n", fixture.path.string().c_str(), kb.name.c_str(), e.what());
      return 2;
    }
  }
  std::fflush(out);
  const bool manual = main_flow->trigger.value("type", "") == "manual";
  Player player(fixture, harness, http.get(), out);
  return player.play(manual ? main_flow->id : "");
}

}  // namespace sb::app
