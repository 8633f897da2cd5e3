#include "api/metrics.hpp"

#include "core/event_bus.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

using namespace sb;
using sb::api::Metrics;

namespace {

// A tiny parser for the text exposition format 0.0.4: every line is a
// "# HELP", a "# TYPE", another comment, or a sample `name{labels} value`
// whose family was declared with # TYPE before it. Fails the test on
// anything else.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, std::string> help;
  std::vector<Sample> samples;
  std::vector<std::string> comments;

  // The value of the one sample with this name and these labels (a subset).
  double value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    const Sample* found = nullptr;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) match = false;
      }
      if (!match) continue;
      if (found) throw std::runtime_error("more than one sample matches " + name);
      found = &s;
    }
    if (!found) throw std::runtime_error("no sample " + name);
    return found->value;
  }
  bool has(const std::string& name) const {
    for (const auto& s : samples)
      if (s.name == name) return true;
    return false;
  }
};

double parse_value(const std::string& text) {
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  if (text == "NaN") return NAN;
  size_t used = 0;
  const double v = std::stod(text, &used);
  if (used != text.size()) throw std::runtime_error("bad value " + text);
  return v;
}

// `a="x",b="y\"z"` -> labels, undoing the escapes.
std::map<std::string, std::string> parse_labels(const std::string& text) {
  static const std::regex kName("[a-zA-Z_][a-zA-Z0-9_]*");
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t eq = text.find('=', i);
    if (eq == std::string::npos) throw std::runtime_error("label without '=': " + text);
    const std::string name = text.substr(i, eq - i);
    if (!std::regex_match(name, kName)) throw std::runtime_error("bad label name '" + name + "'");
    if (eq + 1 >= text.size() || text[eq + 1] != '"') throw std::runtime_error("unquoted label value: " + text);
    std::string value;
    size_t j = eq + 2;
    for (;; ++j) {
      if (j >= text.size()) throw std::runtime_error("unterminated label value: " + text);
      const char c = text[j];
      if (c == '"') break;
      if (c == '\\') {
        if (++j >= text.size()) throw std::runtime_error("dangling escape: " + text);
        const char e = text[j];
        if (e == '\\') value += '\\';
        else if (e == '"') value += '"';
        else if (e == 'n') value += '\n';
        else throw std::runtime_error(std::string("bad escape \\") + e);
      } else {
        value += c;
      }
    }
    if (!out.emplace(name, value).second) throw std::runtime_error("duplicate label " + name);
    i = j + 1;
    if (i < text.size()) {
      if (text[i] != ',') throw std::runtime_error("expected ',' in " + text);
      ++i;
    }
  }
  return out;
}

std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  if (types.count(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  throw std::runtime_error("sample " + name + " has no # TYPE before it");
}

Exposition parse(const std::string& text) {
  static const std::regex kSample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$)");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$)");
  if (text.empty() || text.back() != '\n') throw std::runtime_error("the exposition must end with a newline");
  Exposition out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.rfind("# TYPE ", 0) == 0) {
      if (!std::regex_match(line, m, kType)) throw std::runtime_error("bad TYPE line: " + line);
      if (!out.types.emplace(m[1], m[2]).second) throw std::runtime_error("second TYPE for " + m[1].str());
    } else if (line.rfind("# HELP ", 0) == 0) {
      if (!std::regex_match(line, m, kHelp)) throw std::runtime_error("bad HELP line: " + line);
      out.help[m[1]] = m[2];
    } else if (line.rfind("#", 0) == 0) {
      out.comments.push_back(line);
    } else {
      if (!std::regex_match(line, m, kSample)) throw std::runtime_error("bad sample line: '" + line + "'");
      Sample s;
      s.name = m[1];
      if (m[2].matched) s.labels = parse_labels(m[3]);
      s.value = parse_value(m[4]);
      family_of(s.name, out.types);
      out.samples.push_back(std::move(s));
    }
  }
  // Every histogram series: cumulative buckets, a +Inf bucket equal to _count, and a _sum.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    std::map<std::map<std::string, std::string>, double> counts;
    std::map<std::map<std::string, std::string>, double> sums;
    for (const auto& s : out.samples) {
      auto labels = s.labels;
      if (s.name == family + "_bucket") {
        auto le = labels.find("le");
        if (le == labels.end()) throw std::runtime_error("bucket without le");
        const double bound = parse_value(le->second);
        labels.erase(le);
        buckets[labels].push_back({bound, s.value});
      } else if (s.name == family + "_count") {
        counts[labels] = s.value;
      } else if (s.name == family + "_sum") {
        sums[labels] = s.value;
      }
    }
    if (buckets.size() != counts.size() || sums.size() != counts.size())
      throw std::runtime_error(family + ": buckets, _sum and _count do not match up");
    for (const auto& [labels, list] : buckets) {
      double previous_bound = -INFINITY, previous = 0;
      for (const auto& [bound, value] : list) {
        if (!(bound > previous_bound)) throw std::runtime_error(family + ": buckets not in increasing order");
        if (value < previous) throw std::runtime_error(family + ": buckets not cumulative");
        previous_bound = bound;
        previous = value;
      }
      if (!std::isinf(list.back().first)) throw std::runtime_error(family + ": no +Inf bucket");
      if (!counts.count(labels) || counts.at(labels) != list.back().second)
        throw std::runtime_error(family + ": +Inf bucket differs from _count");
    }
  }
  return out;
}

}  // namespace

TEST_CASE("metrics: requests are counted by method, route pattern and status, with a latency histogram",
          "[metrics]") {
  Metrics m;
  const std::string contacts = "/api/v1/workspaces/:workspace_id/contacts";
  m.observe_request("GET", contacts, 200, 0.001);   // exactly on a bound: le="0.001"
  m.observe_request("GET", contacts, 200, 0.003);   // le="0.005"
  m.observe_request("GET", contacts, 200, 0.0004);  // le="0.001"
  m.observe_request("POST", contacts, 201, 0.2);    // le="0.25"
  m.observe_request("GET", contacts, 404, 7.5);     // only +Inf
  m.observe_request("GET", "unmatched", 404, -1);   // negative counts as 0
  m.observe_request("GET", "", 404, NAN);           // "" is unmatched too

  const std::string text = m.render();
  INFO(text);
  Exposition e;
  REQUIRE_NOTHROW(e = parse(text));
  CHECK(e.types.at("switchboard_http_requests_total") == "counter");
  CHECK(e.types.at("switchboard_http_request_duration_seconds") == "histogram");
  CHECK(e.help.count("switchboard_http_requests_total") == 1);

  const std::string total = "switchboard_http_requests_total";
  CHECK(e.value(total, {{"method", "GET"}, {"route", contacts}, {"status", "200"}}) == 3);
  CHECK(e.value(total, {{"method", "POST"}, {"route", contacts}, {"status", "201"}}) == 1);
  CHECK(e.value(total, {{"method", "GET"}, {"route", contacts}, {"status", "404"}}) == 1);
  CHECK(e.value(total, {{"method", "GET"}, {"route", "unmatched"}, {"status", "404"}}) == 2);

  const std::string h = "switchboard_http_request_duration_seconds";
  const auto bucket = [&](const std::string& route, const std::string& le) {
    return e.value(h + "_bucket", {{"route", route}, {"le", le}});
  };
  CHECK(bucket(contacts, "0.001") == 2);
  CHECK(bucket(contacts, "0.0025") == 2);
  CHECK(bucket(contacts, "0.005") == 3);
  CHECK(bucket(contacts, "0.1") == 3);
  CHECK(bucket(contacts, "0.25") == 4);
  CHECK(bucket(contacts, "5") == 4);
  CHECK(bucket(contacts, "+Inf") == 5);
  CHECK(e.value(h + "_count", {{"route", contacts}}) == 5);
  CHECK(e.value(h + "_sum", {{"route", contacts}}) == Approx(0.001 + 0.003 + 0.0004 + 0.2 + 7.5));
  CHECK(bucket("unmatched", "0.001") == 2);
  CHECK(e.value(h + "_sum", {{"route", "unmatched"}}) == 0);

  // The histogram has exactly the documented bounds, by route only.
  std::vector<std::string> les;
  for (const auto& s : e.samples) {
    if (s.name == h + "_bucket" && s.labels.at("route") == contacts) les.push_back(s.labels.at("le"));
    if (s.name.rfind(h, 0) == 0) CHECK(s.labels.count("method") == 0);
  }
  CHECK(les == std::vector<std::string>{"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                                        "1", "2.5", "5", "+Inf"});
  CHECK(m.render() == text);  // stable
}

TEST_CASE("metrics: label values are escaped and read back intact", "[metrics]") {
  Metrics m;
  const std::string route = "/odd/\"quoted\"/back\\slash/new\nline";
  m.observe_request("GET", route, 200, 0.01);
  CHECK(Metrics::escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(Metrics::escape_help("a\\b\"c\nd") == "a\\\\b\"c\\nd");

  const std::string text = m.render();
  INFO(text);
  CHECK(text.find("route=\"/odd/\\\"quoted\\\"/back\\\\slash/new\\nline\"") != std::string::npos);
  Exposition e;
  REQUIRE_NOTHROW(e = parse(text));
  CHECK(e.value("switchboard_http_requests_total", {{"route", route}}) == 1);
  CHECK(e.value("switchboard_http_request_duration_seconds_count", {{"route", route}}) == 1);
}

TEST_CASE("metrics: message counters are fed from the bus", "[metrics]") {
  EventBus bus;
  Metrics m;
  m.attach(bus);
  bus.publish(Event{"message.received", "ws_a", "pr_1", {{"message_id", "m1"}}, 1});
  bus.publish(Event{"message.received", "ws_a", "pr_1", {{"message_id", "m2"}}, 1});
  bus.publish(Event{"message.status", "ws_a", "pr_1", {{"status", "sent"}}, 1});
  bus.publish(Event{"message.status", "ws_a", "pr_1", {{"status", "delivered"}}, 1});
  bus.publish(Event{"message.status", "ws_a", "pr_1", {{"status", "failed"}, {"error", "blocked"}}, 1});
  bus.publish(Event{"message.status", "ws_a", "pr_1", nullptr, 1});        // ignored
  bus.publish(Event{"message.status", "ws_a", "pr_1", {{"status", 3}}, 1});  // ignored
  bus.publish(Event{"session.status", "ws_a", "pr_1", {{"status", "sent"}}, 1});

  const auto e = parse(m.render());
  CHECK(e.types.at("switchboard_messages_received_total") == "counter");
  CHECK(e.value("switchboard_messages_received_total") == 2);
  CHECK(e.value("switchboard_messages_sent_total") == 1);
  CHECK(e.value("switchboard_messages_failed_total") == 1);

  // A Metrics that is gone no longer counts, and publishing is still safe.
  {
    Metrics other;
    other.attach(bus);
  }
  CHECK_NOTHROW(bus.publish(Event{"message.received", "ws_a", "pr_1", {}, 1}));
  CHECK(parse(m.render()).value("switchboard_messages_received_total") == 3);
}

TEST_CASE("metrics: gauge and counter callbacks, and one that throws", "[metrics]") {
  Metrics m;
  double depth = 3;
  m.add_gauge("switchboard_outbox_depth", "Pending outbox rows.", [&] { return depth; });
  m.add_counter_callback("switchboard_flow_errors_total", "Flow executions that failed.", [] { return 12.0; });
  m.add_gauge("switchboard_sse_streams", "Open event streams.", []() -> double {
    throw std::runtime_error("the hub is gone\nreally");
  });
  m.add_gauge("switchboard_odd_values", "Odd\nhelp \\ text.", [] { return 0.5; });

  auto e = parse(m.render());
  CHECK(e.types.at("switchboard_outbox_depth") == "gauge");
  CHECK(e.types.at("switchboard_flow_errors_total") == "counter");
  CHECK(e.types.at("switchboard_sse_streams") == "gauge");
  CHECK(e.value("switchboard_outbox_depth") == 3);
  CHECK(e.value("switchboard_flow_errors_total") == 12);
  CHECK(e.value("switchboard_odd_values") == 0.5);
  CHECK(e.help.at("switchboard_odd_values") == "Odd\\nhelp \\\\ text.");
  CHECK_FALSE(e.has("switchboard_sse_streams"));
  REQUIRE(e.comments.size() == 1);
  CHECK(e.comments[0].find("switchboard_sse_streams") != std::string::npos);
  CHECK(e.comments[0].find("the hub is gone really") != std::string::npos);

  depth = 7;
  CHECK(parse(m.render()).value("switchboard_outbox_depth") == 7);

  CHECK_THROWS_AS(m.add_gauge("switchboard_outbox_depth", "again", [] { return 1.0; }), std::invalid_argument);
  CHECK_THROWS_AS(m.add_gauge("switchboard_messages_sent_total", "built in", [] { return 1.0; }),
                  std::invalid_argument);
  CHECK_THROWS_AS(m.add_gauge("switchboard_http_request_duration_seconds_count", "built in", [] { return 1.0; }),
                  std::invalid_argument);
  CHECK_THROWS_AS(m.add_gauge("bad-name", "x", [] { return 1.0; }), std::invalid_argument);
  CHECK_THROWS_AS(m.add_gauge("9lives", "x", [] { return 1.0; }), std::invalid_argument);
  CHECK_THROWS_AS(m.add_gauge("switchboard_nothing", "x", nullptr), std::invalid_argument);
}

TEST_CASE("metrics: sample values format as the text format expects", "[metrics]") {
  CHECK(Metrics::format_value(1) == "1");
  CHECK(Metrics::format_value(0.0025) == "0.0025");
  CHECK(Metrics::format_value(-2.5) == "-2.5");
  CHECK(Metrics::format_value(INFINITY) == "+Inf");
  CHECK(Metrics::format_value(-INFINITY) == "-Inf");
  CHECK(Metrics::format_value(NAN) == "NaN");

  Metrics m;
  m.add_gauge("switchboard_nan", "not a number", [] { return NAN; });
  const auto e = parse(m.render());
  CHECK(std::isnan(e.value("switchboard_nan")));
}

TEST_CASE("metrics: observations from many threads are all counted", "[metrics]") {
  Metrics m;
  constexpr int kThreads = 8;
  constexpr int kEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        m.observe_request(i % 2 ? "GET" : "POST", "/api/v1/route" + std::to_string(i % 3), 200 + t % 2, 0.002);
        if (i % 500 == 0) (void)m.render();  // rendering while observing is safe
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto e = parse(m.render());
  double total = 0, count = 0;
  for (const auto& s : e.samples) {
    if (s.name == "switchboard_http_requests_total") total += s.value;
    if (s.name == "switchboard_http_request_duration_seconds_count") count += s.value;
  }
  CHECK(total == kThreads * kEach);
  CHECK(count == kThreads * kEach);
  // Series are merged across shards: one per (method, route, status).
  size_t series = 0;
  for (const auto& s : e.samples) series += s.name == "switchboard_http_requests_total";
  CHECK(series == 2 * 3 * 2);
}
