// The flow interpreter: every node type and port of the node library, waits
// and replay, errors and budgets, against the embedded node library.
#include "flows/engine.hpp"
#include "flows/flow_document.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace sb::flows;
using nlohmann::json;

namespace {

class FakeHost final : public EngineHost {
 public:
  std::map<std::string, FlowPtr> flows;
  std::map<std::string, json> kv;
  FlowPtr current_flow(const std::string&, const std::string& id) override {
    auto it = flows.find(id);
    return it == flows.end() ? nullptr : it->second;
  }
  FlowPtr flow_revision(const std::string&, const std::string& id, const std::string& hash) override {
    for (const auto& [fid, f] : flows) {
      if (fid == id && f->hash == hash) return f;
    }
    return nullptr;
  }
  std::optional<json> kv_get(const std::string&, const std::string& key) override {
    auto it = kv.find(key);
    if (it == kv.end()) return std::nullopt;
    return it->second;
  }
};

// A graph of `nodes` ({id, type, config}) wired by `edges` ("from.port" -> "to").
FlowPtr graph(const std::string& id, json nodes, const std::vector<std::pair<std::string, std::string>>& edges,
              json resources = json::array()) {
  json doc = {{"schema", "switchboard.flow/1"}, {"id", id}, {"rev", 1}, {"name", id},
              {"trigger", {{"type", "manual"}}}, {"start", nodes[0]["id"]}, {"resources", resources}};
  for (auto& n : nodes) {
    if (!n.contains("typeVersion")) n["typeVersion"] = 1;
    if (!n.contains("config")) n["config"] = json::object();
  }
  doc["nodes"] = nodes;
  json e = json::array();
  int i = 0;
  for (const auto& [from, to] : edges) {
    const auto dot = from.find('.');
    e.push_back({{"id", "e" + std::to_string(++i)},
                 {"from", {{"node", from.substr(0, dot)}, {"port", from.substr(dot + 1)}}},
                 {"to", {{"node", to}}}});
  }
  doc["edges"] = e;
  ParseResult r = parse_flow_json(doc.dump(), NodeCatalog::embedded());
  INFO(format_problems(r.problems));
  REQUIRE(r.ok());
  return r.flow;
}

FlowPtr lua_flow(const std::string& id, const std::string& source) {
  ParseResult r = parse_flow_lua(source, id);
  INFO(format_problems(r.problems));
  REQUIRE(r.ok());
  return r.flow;
}

json context(const std::string& text = "hi") {
  return {{"message", {{"id", "msg_1"}, {"type", "text"}, {"text", text}, {"payload", json::object()}}},
          {"contact", {{"id", "con_1"}, {"phone", "+15550100001"}, {"name", "Ada"}, {"tags", json::array()},
                       {"metadata", json::object()}}},
          {"conversation", {{"id", "cnv_1"}, {"status", "open"}, {"mode", "bot"}, {"profile_id", "p"}}},
          {"trigger", {{"type", "message"}}},
          {"workspace", {{"id", "ws"}, {"timezone", "Europe/Berlin"}}}};
}

struct Harness {
  FakeHost host;
  EngineLimits limits;
  std::unique_ptr<FlowEngine> engine;
  explicit Harness(EngineLimits l = {}) : limits(l) {
    engine = std::make_unique<FlowEngine>(NodeCatalog::embedded(), host, limits);
  }
  RunOutcome start(FlowPtr flow, json ctx = context(), json vars = json::object()) {
    RunInput in;
    in.flow = flow;
    in.workspace_id = "ws";
    in.context = std::move(ctx);
    in.initial_vars = std::move(vars);
    in.now_ms = 1'700'000'000'000;
    return engine->run(in);
  }
  RunOutcome resume(FlowPtr flow, const RunOutcome& waiting, json value, json ctx = context()) {
    RunInput in;
    in.flow = flow;
    in.workspace_id = "ws";
    in.state = waiting.state;
    in.resume = std::move(value);
    in.context = std::move(ctx);
    in.now_ms = 1'700'000'100'000;
    return engine->run(in);
  }
};

std::vector<std::string> texts(const RunOutcome& o) {
  std::vector<std::string> out;
  for (const auto& e : o.effects) {
    if (e.kind == Effect::Kind::send) out.push_back(e.data["message"].value("text", ""));
  }
  return out;
}

std::vector<std::string> ports(const RunOutcome& o) {
  std::vector<std::string> out;
  for (const auto& s : o.steps) out.push_back(s.node + ":" + (s.port.empty() ? s.outcome : s.port));
  return out;
}

}  // namespace

TEST_CASE("send_text expands templates from the contact, vars and message and ends at a port without an edge",
          "[flows][engine]") {
  Harness h;
  auto flow = graph("t", json::array({{{"id", "a"}, {"type", "send_text"},
                                       {"config", {{"text", "Hi {{contact.name}}, you said {{message.text}} ({{vars.n}})"}}}}}),
                    {});
  auto o = h.start(flow, context("hello"), {{"n", 3}});
  CHECK(o.status == RunOutcome::Status::completed);
  CHECK(texts(o) == std::vector<std::string>{"Hi Ada, you said hello (3)"});
  CHECK(ports(o) == std::vector<std::string>{"a:next"});
}

TEST_CASE("a template naming a missing variable expands to nothing and leaves a warning in the step log",
          "[flows][engine]") {
  Harness h;
  auto flow = graph("t", json::array({{{"id", "a"}, {"type", "send_text"}, {"config", {{"text", "x{{vars.nope}}y"}}}}}), {});
  auto o = h.start(flow);
  CHECK(texts(o) == std::vector<std::string>{"xy"});
  REQUIRE(o.steps.size() == 1);
  REQUIRE(o.steps[0].log.size() == 1);
  CHECK(o.steps[0].log[0].find("vars.nope") != std::string::npos);
}

TEST_CASE("set, switch and condition route by value, keyword, regex and expression", "[flows][engine]") {
  Harness h;
  json nodes = json::array({
      {{"id", "s"}, {"type", "set"}, {"config", {{"variable", "n"}, {"expression", "2 + 3"}}}},
      {{"id", "sw"}, {"type", "switch"},
       {"config", {{"cases", json::array({{{"id", "yes"}, {"match", "equals"}, {"value", "YES"}},
                                          {{"id", "num"}, {"match", "regex"}, {"value", "^\\d+$"}},
                                          {{"id", "big"}, {"match", "expression"}, {"value", "vars.n > 4"}}})}}}},
      {{"id", "c"}, {"type", "condition"}, {"config", {{"expression", "vars.n == 5"}}}},
      {{"id", "t"}, {"type", "send_text"}, {"config", {{"text", "true"}}}},
      {{"id", "f"}, {"type", "send_text"}, {"config", {{"text", "false"}}}},
      {{"id", "y"}, {"type", "send_text"}, {"config", {{"text", "yes"}}}},
      {{"id", "d"}, {"type", "send_text"}, {"config", {{"text", "default"}}}},
  });
  auto flow = graph("t", nodes,
                    {{"s.next", "sw"}, {"sw.match:yes", "y"}, {"sw.match:num", "d"}, {"sw.match:big", "c"},
                     {"sw.default", "d"}, {"c.true", "t"}, {"c.false", "f"}});
  CHECK(texts(h.start(flow, context("yes"))) == std::vector<std::string>{"yes"});
  CHECK(texts(h.start(flow, context("42"))) == std::vector<std::string>{"default"});
  auto o = h.start(flow, context("something"));
  CHECK(texts(o) == std::vector<std::string>{"true"});
  CHECK(o.vars["n"] == 5);
}

TEST_CASE("ask waits for a reply, saves a valid one and takes reply, invalid or timeout", "[flows][engine]") {
  Harness h;
  json nodes = json::array({
      {{"id", "q"}, {"type", "ask"},
       {"config", {{"text", "Your email?"}, {"variable", "email"}, {"timeout_seconds", 60},
                   {"validation", {{"regex", "^[^@ ]+@[^@ ]+$"}}}}}},
      {{"id", "ok"}, {"type", "send_text"}, {"config", {{"text", "Thanks {{vars.email}}"}}}},
      {{"id", "bad"}, {"type", "send_text"}, {"config", {{"text", "Not an email"}}}},
      {{"id", "late"}, {"type", "send_text"}, {"config", {{"text", "Too late"}}}},
  });
  auto flow = graph("t", nodes, {{"q.reply", "ok"}, {"q.invalid", "bad"}, {"q.timeout", "late"}});
  auto waiting = h.start(flow);
  REQUIRE(waiting.status == RunOutcome::Status::waiting);
  REQUIRE(waiting.wait);
  CHECK(waiting.wait->kind == "reply");
  CHECK(waiting.wait->deadline_at == 1'700'000'000'000 + 60'000);
  CHECK(texts(waiting) == std::vector<std::string>{"Your email?"});

  auto good = h.resume(flow, waiting, {{"text", "ada@example.com"}});
  CHECK(good.status == RunOutcome::Status::completed);
  CHECK(texts(good) == std::vector<std::string>{"Thanks ada@example.com"});  // the question is not asked again
  CHECK(good.vars["email"] == "ada@example.com");

  CHECK(texts(h.resume(flow, waiting, {{"text", "nope"}})) == std::vector<std::string>{"Not an email"});
  CHECK(texts(h.resume(flow, waiting, {{"timeout", true}})) == std::vector<std::string>{"Too late"});
}

TEST_CASE("ask with choices accepts a tapped button by its id", "[flows][engine]") {
  Harness h;
  json nodes = json::array({
      {{"id", "q"}, {"type", "ask"}, {"config", {{"variable", "pick"}, {"validation", {{"choices", {"hours", "human"}}}}}}},
      {{"id", "ok"}, {"type", "send_text"}, {"config", {{"text", "picked {{vars.pick}}"}}}},
  });
  auto flow = graph("t", nodes, {{"q.reply", "ok"}});
  auto waiting = h.start(flow);
  json ctx = context("Opening hours");
  ctx["message"]["reply_id"] = "hours";
  auto o = h.resume(flow, waiting, {{"text", "Opening hours"}, {"message", ctx["message"]}}, ctx);
  CHECK(texts(o) == std::vector<std::string>{"picked hours"});
}

TEST_CASE("delay waits until its deadline and goes on at next", "[flows][engine]") {
  Harness h;
  auto flow = graph("t", json::array({{{"id", "d"}, {"type", "delay"}, {"config", {{"seconds", 30}}}},
                                      {{"id", "s"}, {"type", "send_text"}, {"config", {{"text", "later"}}}}}),
                    {{"d.next", "s"}});
  auto waiting = h.start(flow);
  REQUIRE(waiting.wait);
  CHECK(waiting.wait->kind == "delay");
  CHECK(waiting.wait->deadline_at == 1'700'000'030'000);
  CHECK(texts(h.resume(flow, waiting, true)) == std::vector<std::string>{"later"});
}

TEST_CASE("http_request waits for the response and takes ok or error", "[flows][engine]") {
  Harness h;
  json resources = json::array({{{"id", "api"}, {"type", "http"}, {"config", {{"base_url", "http://127.0.0.1:9"}}}}});
  json nodes = json::array({
      {{"id", "h"}, {"type", "http_request"}, {"refs", {{"api", "api"}}},
       {"config", {{"method", "POST"}, {"url", "/leads"}, {"body", {{"name", "{{contact.name}}"}}}}}},
      {{"id", "ok"}, {"type", "send_text"}, {"config", {{"text", "saved {{vars.http.json.id}}"}}}},
      {{"id", "err"}, {"type", "send_text"}, {"config", {{"text", "failed {{vars.http.status}}"}}}},
  });
  auto flow = graph("t", nodes, {{"h.ok", "ok"}, {"h.error", "err"}}, resources);
  auto waiting = h.start(flow);
  REQUIRE(waiting.wait);
  CHECK(waiting.wait->kind == "http");
  CHECK(waiting.wait->request["url"] == "http://127.0.0.1:9/leads");
  CHECK(waiting.wait->request["method"] == "POST");
  CHECK(json::parse(waiting.wait->request["body"].get<std::string>()) == json{{"name", "Ada"}});
  CHECK(texts(h.resume(flow, waiting, {{"status", 201}, {"body", "{\"id\":7}"}, {"json", {{"id", 7}}}})) ==
        std::vector<std::string>{"saved 7"});
  CHECK(texts(h.resume(flow, waiting, {{"status", 0}, {"error", "connection refused"}})) ==
        std::vector<std::string>{"failed 0"});
}

TEST_CASE("tag, untag and handoff become effects; handoff ends the execution", "[flows][engine]") {
  Harness h;
  json nodes = json::array({
      {{"id", "t"}, {"type", "tag"}, {"config", {{"tag", "lead"}}}},
      {{"id", "u"}, {"type", "untag"}, {"config", {{"tag", "cold"}}}},
      {{"id", "h"}, {"type", "handoff"}, {"config", {{"text", "A human will answer"}, {"note", "wants a human"}}}},
  });
  auto flow = graph("t", nodes, {{"t.next", "u"}, {"u.next", "h"}});
  auto o = h.start(flow);
  CHECK(o.status == RunOutcome::Status::completed);
  CHECK(o.handed_off);
  std::vector<Effect::Kind> kinds;
  for (const auto& e : o.effects) kinds.push_back(e.kind);
  CHECK(kinds == std::vector<Effect::Kind>{Effect::Kind::tag, Effect::Kind::untag, Effect::Kind::send,
                                           Effect::Kind::handoff});
}

TEST_CASE("a failing node takes its error port with the error in vars.last_error, or fails the execution",
          "[flows][engine]") {
  Harness h;
  json nodes = json::array({
      {{"id", "boom"}, {"type", "lua"}, {"config", {{"code", "error('the CRM said no', 0)"}}}},
      {{"id", "e"}, {"type", "send_text"}, {"config", {{"text", "oops: {{vars.last_error.message}}"}}}},
  });
  auto routed = graph("t", nodes, {{"boom.error", "e"}});
  auto o = h.start(routed);
  CHECK(o.status == RunOutcome::Status::completed);
  CHECK(texts(o) == std::vector<std::string>{"oops: the CRM said no"});

  auto unrouted = graph("u", json::array({nodes[0]}), {});
  auto failed = h.start(unrouted);
  CHECK(failed.status == RunOutcome::Status::failed);
  CHECK(failed.error.find("node 'boom' (lua)") != std::string::npos);
  CHECK(failed.error.find("the CRM said no") != std::string::npos);
}

TEST_CASE("inline Lua cannot reach os, io, require or debug", "[flows][engine]") {
  Harness h;
  for (const char* code : {"return os.time()", "return io.open('/etc/passwd')", "return require('x')",
                           "return debug.getinfo(1)", "return dofile('/etc/passwd')"}) {
    auto flow = graph("t", json::array({{{"id", "x"}, {"type", "lua"}, {"config", {{"code", code}}}}}), {});
    auto o = h.start(flow);
    INFO(code);
    CHECK(o.status == RunOutcome::Status::failed);
    CHECK(o.error.find("nil") != std::string::npos);
  }
}

TEST_CASE("a runaway loop and a memory bomb fail within budget and the engine keeps working", "[flows][engine]") {
  EngineLimits limits;
  limits.instructions = 2'000'000;
  limits.memory_bytes = 32u << 20;
  Harness h(limits);
  auto loop = graph("loop", json::array({{{"id", "x"}, {"type", "lua"}, {"config", {{"code", "while true do end"}}}}}), {});
  auto o = h.start(loop);
  CHECK(o.status == RunOutcome::Status::failed);
  CHECK(o.error.find("instruction budget exceeded") != std::string::npos);

  auto bomb = graph("bomb", json::array({{{"id", "x"}, {"type", "lua"},
                                          {"config", {{"code", "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end"}}}}}),
                    {});
  auto m = h.start(bomb);
  CHECK(m.status == RunOutcome::Status::failed);
  CHECK(m.error.find("memory") != std::string::npos);

  auto ok = graph("ok", json::array({{{"id", "a"}, {"type", "send_text"}, {"config", {{"text", "still here"}}}}}), {});
  CHECK(texts(h.start(ok)) == std::vector<std::string>{"still here"});
}

TEST_CASE("a loop without a wait is stopped after max_steps", "[flows][engine]") {
  EngineLimits limits;
  limits.max_steps = 50;
  Harness h(limits);
  // lua nodes count as waiting nodes, so the validator allows this cycle.
  auto flow = graph("t", json::array({{{"id", "a"}, {"type", "lua"}, {"config", {{"code", "return 'next'"}}}},
                                      {{"id", "b"}, {"type", "set"}, {"config", {{"variable", "x"}, {"value", 1}}}}}),
                    {{"a.next", "b"}, {"b.next", "a"}});
  auto o = h.start(flow);
  CHECK(o.status == RunOutcome::Status::failed);
  CHECK(o.error.find("50 steps") != std::string::npos);
}

TEST_CASE("JSON null and empty arrays survive a wait and a resume", "[flows][engine]") {
  Harness h;
  auto flow = graph("t", json::array({{{"id", "q"}, {"type", "ask"}, {"config", {{"variable", "a"}}}},
                                      {{"id", "s"}, {"type", "set"}, {"config", {{"variable", "b"}, {"value", {1, nullptr}}}}}}),
                    {{"q.reply", "s"}});
  auto waiting = h.start(flow, context(), {{"empty", json::array()}, {"nothing", nullptr}, {"obj", json::object()}});
  auto o = h.resume(flow, waiting, {{"text", "x"}});
  CHECK(o.vars["empty"] == json::array());
  CHECK(o.vars["nothing"].is_null());
  CHECK(o.vars.contains("nothing"));
  CHECK(o.vars["obj"] == json::object());
  CHECK(o.vars["b"] == json({1, nullptr}));
}

TEST_CASE("a subflow runs and returns to the subflow node's next port", "[flows][engine]") {
  Harness h;
  h.host.flows["inner"] = graph("inner", json::array({{{"id", "i"}, {"type", "send_text"}, {"config", {{"text", "inside"}}}}}), {});
  auto outer = graph("outer", json::array({{{"id", "sub"}, {"type", "subflow"}, {"config", {{"flow", "inner"}}}},
                                           {{"id", "after"}, {"type", "send_text"}, {"config", {{"text", "after"}}}}}),
                     {{"sub.next", "after"}});
  auto o = h.start(outer);
  CHECK(o.status == RunOutcome::Status::completed);
  CHECK(texts(o) == std::vector<std::string>{"inside", "after"});
}

TEST_CASE("a Lua flow waits durably and replays without repeating what it did", "[flows][engine]") {
  Harness h;
  auto flow = lua_flow("order", R"lua(
    return {
      trigger = {type = "keyword", keywords = {"order"}},
      main = function(ctx)
        ctx.send("Hello " .. ctx.contact.name)
        ctx.vars.asked = (ctx.vars.asked or 0) + 1
        local a = ctx.ask("Order number?", {timeout = 600})
        if a.timeout then ctx.send("bye") return end
        ctx.send("Order " .. a.text .. " (asked " .. ctx.vars.asked .. ")")
      end,
    })lua");
  auto waiting = h.start(flow);
  REQUIRE(waiting.status == RunOutcome::Status::waiting);
  CHECK(texts(waiting) == std::vector<std::string>{"Hello Ada", "Order number?"});
  auto done = h.resume(flow, waiting, {{"text", "42"}});
  CHECK(done.status == RunOutcome::Status::completed);
  CHECK(texts(done) == std::vector<std::string>{"Order 42 (asked 1)"});
}

TEST_CASE("ctx.kv reads the store and sees its own writes", "[flows][engine]") {
  Harness h;
  h.host.kv["count"] = 41;
  auto flow = graph("t", json::array({{{"id", "x"}, {"type", "lua"},
                                       {"config", {{"code", "ctx.kv.set('count', ctx.kv.get('count') + 1) ctx.send('n=' .. ctx.kv.get('count'))"}}}}}),
                    {});
  auto o = h.start(flow);
  CHECK(texts(o) == std::vector<std::string>{"n=42"});
}
