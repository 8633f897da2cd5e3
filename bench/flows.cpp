// bench_flows — how many flow node steps one FlowEngine runs per second on one
// thread, with no database and no runtime around it: the interpreter's own
// cost (Lua calls, templates, JSON in and out of Lua, the step log).
//
// The graph is ten nodes of set, switch and send_text with the configs a
// builder would save (templates on contact, message and vars, an object
// value, an expression, a switch of equals/contains/starts_with and one of
// equals/expression/regex); every run passes through all ten nodes, as a new
// execution of an inbound message. The Lua flow does the same work in one
// main() through the same ctx API. Inputs rotate over four messages, so both
// switches take different ports.
//
//   bench_flows [--seconds S | --runs N] [--warmup S] [--flow graph|lua|both]
//               [--flow-file PATH] [--json]
#include "bench_args.hpp"
#include "flows/engine.hpp"
#include "flows/flow_document.hpp"
#include "flows/node_catalog.hpp"

#include <nlohmann/json.hpp>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace sb::flows;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

using bench::fail;
using bench::parse_number;

constexpr double kMaxSeconds = 600;
constexpr uint64_t kMaxRuns = 100'000'000;

// A ten-node graph: set, set, switch, set (object), send_text, set
// (expression), switch, send_text, set, send_text. Every case and the
// default of both switches lead on, so each run takes ten steps.
constexpr const char* kGraphFlow = R"JSON({
  "schema": "switchboard.flow/1",
  "id": "bench-graph",
  "rev": 1,
  "name": "Bench: ten nodes",
  "trigger": {"type": "message"},
  "start": "remember_name",
  "nodes": [
    {"id": "remember_name", "type": "set", "typeVersion": 1,
     "config": {"variable": "name", "value": "{{contact.name}}"}},
    {"id": "greeting", "type": "set", "typeVersion": 1,
     "config": {"variable": "greeting", "value": "Hi {{vars.name}}! You wrote: {{message.text}}"}},
    {"id": "topic", "type": "switch", "typeVersion": 1,
     "config": {"value": "{{message.text}}",
                "cases": [{"id": "hours", "match": "equals", "value": "hours"},
                          {"id": "price", "match": "contains", "value": "price"},
                          {"id": "order", "match": "starts_with", "value": "order"}]}},
    {"id": "ticket", "type": "set", "typeVersion": 1,
     "config": {"variable": "ticket",
                "value": {"from": "{{contact.phone}}", "text": "{{message.text}}", "channel": "whatsapp",
                          "priority": 2}}},
    {"id": "say_hi", "type": "send_text", "typeVersion": 1, "config": {"text": "{{vars.greeting}}"}},
    {"id": "count", "type": "set", "typeVersion": 1,
     "config": {"variable": "attempts", "expression": "(vars.attempts or 0) + 1"}},
    {"id": "route", "type": "switch", "typeVersion": 1,
     "config": {"value": "{{vars.ticket.text}}",
                "cases": [{"id": "hours", "match": "equals", "value": "hours"},
                          {"id": "retry", "match": "expression", "value": "vars.attempts > 3"},
                          {"id": "order", "match": "regex", "value": "^order\\s+\\d{4,10}$"}]}},
    {"id": "ack", "type": "send_text", "typeVersion": 1,
     "config": {"text": "Thanks {{contact.name}}, we got your message about \"{{vars.ticket.text}}\"."}},
    {"id": "status", "type": "set", "typeVersion": 1, "config": {"variable": "status", "value": "answered"}},
    {"id": "summary", "type": "send_text", "typeVersion": 1,
     "config": {"text": "Ticket for {{vars.ticket.from}}: {{vars.status}} (attempt {{vars.attempts}})."}}
  ],
  "edges": [
    {"id": "e1", "from": {"node": "remember_name", "port": "next"}, "to": {"node": "greeting"}},
    {"id": "e2", "from": {"node": "greeting", "port": "next"}, "to": {"node": "topic"}},
    {"id": "e3", "from": {"node": "topic", "port": "match:hours"}, "to": {"node": "ticket"}},
    {"id": "e4", "from": {"node": "topic", "port": "match:price"}, "to": {"node": "ticket"}},
    {"id": "e5", "from": {"node": "topic", "port": "match:order"}, "to": {"node": "ticket"}},
    {"id": "e6", "from": {"node": "topic", "port": "default"}, "to": {"node": "ticket"}},
    {"id": "e7", "from": {"node": "ticket", "port": "next"}, "to": {"node": "say_hi"}},
    {"id": "e8", "from": {"node": "say_hi", "port": "next"}, "to": {"node": "count"}},
    {"id": "e9", "from": {"node": "count", "port": "next"}, "to": {"node": "route"}},
    {"id": "e10", "from": {"node": "route", "port": "match:hours"}, "to": {"node": "ack"}},
    {"id": "e11", "from": {"node": "route", "port": "match:retry"}, "to": {"node": "ack"}},
    {"id": "e12", "from": {"node": "route", "port": "match:order"}, "to": {"node": "ack"}},
    {"id": "e13", "from": {"node": "route", "port": "default"}, "to": {"node": "ack"}},
    {"id": "e14", "from": {"node": "ack", "port": "next"}, "to": {"node": "status"}},
    {"id": "e15", "from": {"node": "status", "port": "next"}, "to": {"node": "summary"}}
  ],
  "resources": []
})JSON";

// The same work written as a Lua flow (one step per run).
constexpr const char* kLuaFlow = R"LUA(
local function trim(s) return (s:match("^%s*(.-)%s*$")) end

return {
  id = "bench-lua",
  name = "Bench: ten nodes in Lua",
  trigger = {type = "message"},
  main = function(ctx)
    local vars = ctx.vars
    vars.name = ctx.template("{{contact.name}}")
    vars.greeting = ctx.template("Hi {{vars.name}}! You wrote: {{message.text}}")
    local text = trim(ctx.template("{{message.text}}")):lower()
    if text == "hours" then vars.topic = "hours"
    elseif text:find("price", 1, true) then vars.topic = "price"
    elseif text:sub(1, 5) == "order" then vars.topic = "order"
    else vars.topic = "other" end
    vars.ticket = {from = ctx.template("{{contact.phone}}"), text = ctx.template("{{message.text}}"),
                   channel = "whatsapp", priority = 2}
    ctx.send(ctx.template("{{vars.greeting}}"))
    vars.attempts = (vars.attempts or 0) + 1
    local about = trim(ctx.template("{{vars.ticket.text}}"))
    if about:lower() == "hours" then vars.route = "hours"
    elseif vars.attempts > 3 then vars.route = "retry"
    elseif ctx.regex("^order\\s+\\d{4,10}$", about) then vars.route = "order"
    else vars.route = "default" end
    ctx.send(ctx.template("Thanks {{contact.name}}, we got your message about \"{{vars.ticket.text}}\"."))
    vars.status = "answered"
    ctx.send(ctx.template("Ticket for {{vars.ticket.from}}: {{vars.status}} (attempt {{vars.attempts}})."))
  end,
}
)LUA";

constexpr int kGraphNodes = 10;
constexpr size_t kSendsPerRun = 3;

struct Options {
  double seconds = 3;
  std::optional<uint64_t> runs;
  double warmup = 0.5;
  std::string flow = "both";
  std::string flow_file;  // instead of the built-in flows
  bool json = false;
};

void print_usage() {
  std::cout << R"(usage: bench_flows [options]

Runs a ten-node flow (set/switch/send_text) through one FlowEngine on one
thread, with a fake host (no database), and prints runs/s, node steps/s,
the mean time per step and the Lua state's memory.

  --seconds S      measured duration per flow (default 3, max 600)
  --runs N         measure N runs instead of a duration (for profilers)
  --warmup S       unmeasured runs first (default 0.5)
  --flow F         graph | lua | both (default both)
  --flow-file PATH  measure this flow (.json or .lua) instead, with the same
                   four inbound messages; it must complete without waiting
  --json           also print the results as one JSON line per flow
)";
}

Options parse_args(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      print_usage();
      std::exit(0);
    } else if (arg == "--seconds") {
      options.seconds = parse_number(arg, value(), 0.1, kMaxSeconds);
    } else if (arg == "--runs") {
      options.runs = static_cast<uint64_t>(parse_number(arg, value(), 1, static_cast<double>(kMaxRuns)));
    } else if (arg == "--warmup") {
      options.warmup = parse_number(arg, value(), 0, 60);
    } else if (arg == "--flow") {
      options.flow = value();
      if (options.flow != "graph" && options.flow != "lua" && options.flow != "both") {
        fail("--flow wants graph, lua or both, got '" + options.flow + "'");
      }
    } else if (arg == "--flow-file") {
      options.flow_file = value();
    } else if (arg == "--json") {
      options.json = true;
    } else {
      fail("unknown argument '" + arg + "' (see --help)");
    }
  }
  return options;
}

// The engine's surroundings: the flows by id, nothing in the key-value store.
class BenchHost final : public EngineHost {
 public:
  std::map<std::string, FlowPtr> flows;
  FlowPtr current_flow(const std::string&, const std::string& id) override {
    auto it = flows.find(id);
    return it == flows.end() ? nullptr : it->second;
  }
  FlowPtr flow_revision(const std::string&, const std::string& id, const std::string& hash) override {
    auto it = flows.find(id);
    return it != flows.end() && it->second->hash == hash ? it->second : nullptr;
  }
  std::optional<json> kv_get(const std::string&, const std::string&) override { return std::nullopt; }
};

// What the runtime passes for an inbound message (see FlowRuntime), for the
// n-th of four messages from four contacts.
RunInput inbound_input(const FlowPtr& flow, int n) {
  static const char* const kTexts[] = {"hours", "What is the price of the large plan?", "order 10423",
                                       "hello there"};
  static const char* const kNames[] = {"Ada", "Grace", "Linus", "Margaret"};
  RunInput input;
  input.flow = flow;
  input.workspace_id = "ws";
  input.now_ms = 1'700'000'000'000 + n;
  input.context = {
      {"message", {{"id", "msg_" + std::to_string(n)}, {"type", "text"}, {"text", kTexts[n % 4]},
                   {"payload", json::object()}, {"at", input.now_ms}}},
      {"contact", {{"id", "con_" + std::to_string(n)}, {"phone", "+1555010000" + std::to_string(n)},
                   {"name", kNames[n % 4]}, {"email", nullptr}, {"tags", json::array({"customer"})},
                   {"metadata", json::object()}}},
      {"conversation", {{"id", "cnv_" + std::to_string(n)}, {"status", "open"}, {"mode", "bot"},
                        {"profile_id", "demo"}}},
      {"trigger", {{"type", "message"}}},
      {"workspace", {{"id", "ws"}, {"timezone", "Europe/Berlin"}}}};
  return input;
}

Clock::duration from_seconds(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

struct Result {
  uint64_t runs = 0;
  uint64_t steps = 0;
  uint64_t sends = 0;
  uint64_t bad = 0;  // runs that did not complete with the expected sends
  double seconds = 0;
  double cpu_seconds = 0;
  size_t memory_before = 0;
  size_t memory_after = 0;
  std::string first_problem;
};

// Runs `flow` on `engine` for the warm-up, then for the measured duration
// (or number of runs), checking every outcome.
// `expected_sends`: what every run must send (nullopt: not checked).
Result measure(FlowEngine& engine, const FlowPtr& flow, std::optional<size_t> expected_sends, const Options& options) {
  std::vector<RunInput> inputs;
  for (int n = 0; n < 4; ++n) inputs.push_back(inbound_input(flow, n));

  Result result;
  auto run_once = [&](uint64_t i, bool counted) {
    const RunOutcome outcome = engine.run(inputs[i % inputs.size()]);
    size_t sends = 0;
    for (const auto& effect : outcome.effects) sends += effect.kind == Effect::Kind::send ? 1 : 0;
    const bool ok = outcome.status == RunOutcome::Status::completed && (!expected_sends || sends == *expected_sends);
    if (!ok && result.first_problem.empty()) {
      result.first_problem =
          outcome.error.empty() ? "completed with " + std::to_string(sends) + " sends" : outcome.error;
    }
    if (counted) {
      ++result.runs;
      result.steps += outcome.steps.size();
      result.sends += sends;
      result.bad += ok ? 0 : 1;
    }
  };

  result.memory_before = engine.memory_used();
  const auto warm_end = Clock::now() + from_seconds(options.warmup);
  uint64_t i = 0;
  do {
    run_once(i++, false);
  } while (Clock::now() < warm_end);

  const auto begin = Clock::now();
  const double cpu_begin = thread_cpu_seconds();
  const auto end = begin + from_seconds(options.seconds);
  if (options.runs) {
    for (uint64_t n = 0; n < *options.runs; ++n) run_once(i++, true);
  } else {
    do {
      run_once(i++, true);
    } while (Clock::now() < end);
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  result.cpu_seconds = thread_cpu_seconds() - cpu_begin;
  result.memory_after = engine.memory_used();
  return result;
}

FlowPtr load(bool lua) {
  ParseResult parsed =
      lua ? parse_flow_lua(kLuaFlow, "bench-lua") : parse_flow_json(kGraphFlow, NodeCatalog::embedded());
  if (!parsed.ok()) fail(std::string("the bench's ") + (lua ? "Lua" : "graph") + " flow does not load:\n" +
                         format_problems(parsed.problems));
  return parsed.flow;
}

FlowPtr load_file(const std::string& path) {
  ParseResult parsed = parse_flow_file(path, NodeCatalog::embedded());
  if (!parsed.ok()) fail(path + " does not load:\n" + format_problems(parsed.problems));
  return parsed.flow;
}

struct Subject {
  std::string label;
  FlowPtr flow;
  std::optional<size_t> expected_sends;
  int nodes_per_run = kGraphNodes;  // for a Lua flow's node-equivalents
};

void report(const Subject& subject, const Result& r, bool as_json) {
  const FlowPtr& flow = subject.flow;
  const double runs_per_s = static_cast<double>(r.runs) / r.seconds;
  const double steps_per_s = static_cast<double>(r.steps) / r.seconds;
  const double steps_per_cpu_s = r.cpu_seconds > 0 ? static_cast<double>(r.steps) / r.cpu_seconds : 0;
  // A Lua flow is one step per run; its "node steps" are the graph's ten.
  const double equivalent_steps_per_s = runs_per_s * subject.nodes_per_run;
  const bool lua = flow->kind == FlowDefinition::Kind::lua;
  std::cout << subject.label << "\n";
  std::cout << "  runs                 " << r.runs << " in " << fixed(r.seconds, 2) << " s (thread CPU "
            << fixed(r.cpu_seconds, 2) << " s)\n";
  std::cout << "  runs/s               " << fixed(runs_per_s, 0) << "  (mean " << fixed(1e6 / runs_per_s, 1)
            << " µs per run)\n";
  if (lua) {
    std::cout << "  node-equivalents/s   " << fixed(equivalent_steps_per_s, 0) << "  (runs/s x "
              << subject.nodes_per_run              << ", the graph's work)\n";
  } else {
    std::cout << "  node steps/s         " << fixed(steps_per_s, 0)
              << "  (per CPU second: " << fixed(steps_per_cpu_s, 0)              << ")\n";
    std::cout << "  mean µs per step     " << fixed(r.steps ? r.seconds * 1e6 / static_cast<double>(r.steps) : 0, 2)
              << "\n";
  }
  std::cout << "  sends                " << r.sends << " ("
            << fixed(r.runs ? static_cast<double>(r.sends) / static_cast<double>(r.runs) : 0, 1) << " per run)\n";
  std::cout << "  engine memory        " << fixed(static_cast<double>(r.memory_before) / 1024, 0) << " KiB before, "
            << fixed(static_cast<double>(r.memory_after) / 1024, 0)
            << " KiB after (Lua state, FlowEngine::memory_used)\n";
  if (r.bad != 0 || !r.first_problem.empty()) {
    std::cout << "  PROBLEM              " << r.bad << " runs went wrong; first: " << r.first_problem << "\n";
  }
  if (as_json) {
    std::cout << json{{"flow", lua ? "lua" : "graph"},
                      {"runs", r.runs},
                      {"seconds", r.seconds},
                      {"cpu_seconds", r.cpu_seconds},
                      {"runs_per_second", runs_per_s},
                      {"steps", r.steps},
                      {"steps_per_second", lua ? equivalent_steps_per_s : steps_per_s},
                      {"steps_per_cpu_second", lua ? 0.0 : steps_per_cpu_s},
                      {"memory_bytes", r.memory_after},
                      {"bad_runs", r.bad}}
                     .dump()
              << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::set_program_name("bench_flows");
  const Options options = parse_args(argc, argv);
  BenchHost host;
  std::vector<Subject> subjects;
  if (!options.flow_file.empty()) {
    FlowPtr flow = load_file(options.flow_file);
    subjects.push_back({options.flow_file + ", one FlowEngine, one thread", flow, std::nullopt,
                        static_cast<int>(std::max<size_t>(flow->nodes.size(), 1))});
  } else {
    if (options.flow != "lua") {
      subjects.push_back({"graph: 10 nodes (5 set, 2 switch, 3 send_text), one FlowEngine, one thread", load(false),
                          kSendsPerRun});
    }
    if (options.flow != "graph") {
      subjects.push_back(
          {"lua flow: the same work in one main(), one FlowEngine, one thread", load(true), kSendsPerRun});
    }
  }

  bool all_ok = true;
  for (const auto& subject : subjects) {
    host.flows[subject.flow->id] = subject.flow;
    // A fresh engine per flow, as a runtime worker has: its own Lua state.
    FlowEngine engine(NodeCatalog::embedded(), host);
    const Result result = measure(engine, subject.flow, subject.expected_sends, options);
    report(subject, result, options.json);
    all_ok = all_ok && result.bad == 0 && result.first_problem.empty();
  }
  std::cout << "process peak RSS       " << fixed(static_cast<double>(peak_rss_kib()) / 1024, 1) << " MiB\n";
  return all_ok ? 0 : 1;
}
