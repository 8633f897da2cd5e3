// JSON <-> Lua: values survive the trip unchanged, and what JSON cannot hold
// is refused with the path to it.
#include "flows/lua_json.hpp"
#include "flows/lua_sandbox.hpp"

#include "core/error.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <limits>
#include <string>

using nlohmann::json;
using sb::flows::CallResult;
using sb::flows::CallStatus;
using sb::flows::LuaSandbox;
using sb::flows::push_json;
using sb::flows::to_json;
using namespace std::chrono_literals;

namespace {

json round_trip(LuaSandbox& sandbox, const json& value) {
  lua_State* L = sandbox.state();
  push_json(L, value);
  json back = to_json(L, -1, "vars");
  lua_pop(L, 1);
  REQUIRE(lua_gettop(L) == 0);
  return back;
}

// Runs user `code` with `vars` as its argument and converts its result.
json through_lua(LuaSandbox& sandbox, const std::string& code, const json& vars = nullptr) {
  lua_State* L = sandbox.state();
  sandbox.begin_budget(10'000'000, 10s);
  sandbox.load_user(code, "=test");
  push_json(L, vars);
  CallResult r = sandbox.call(1, 1);
  INFO(r.message);
  REQUIRE(r.ok());
  json out = to_json(L, -1, "vars");
  lua_pop(L, 1);
  return out;
}

// The message to_json refuses the result of `code` with.
std::string refusal(LuaSandbox& sandbox, const std::string& code) {
  lua_State* L = sandbox.state();
  sandbox.begin_budget(10'000'000, 10s);
  sandbox.load_user(code, "=test");
  REQUIRE(sandbox.call(0, 1).ok());
  std::string message;
  try {
    to_json(L, -1, "vars");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::invalid_argument);
    message = e.what();
  }
  CHECK(lua_gettop(L) == 1);
  lua_pop(L, 1);
  return message;
}

std::string lua_error_of(LuaSandbox& sandbox, const std::string& code) {
  sandbox.begin_budget(10'000'000, 10s);
  sandbox.load_user(code, "=test");
  CallResult r = sandbox.call(0, 1);
  REQUIRE(r.status == CallStatus::error);
  return r.message;
}

}  // namespace

TEST_CASE("JSON survives a trip through Lua unchanged", "[flows][json]") {
  LuaSandbox sandbox;
  const json documents[] = {
      json::parse(R"({"a": null, "b": [null, 1, null], "c": [], "d": {}, "e": [[1, [2, []]], {"x": []}]})"),
      json::parse(R"([1, 1.0, -0.5, 1e300, 9223372036854775807, -9223372036854775808, 0, true, false])"),
      json::parse(R"({"text": "h\u00e9llo \u4e16\u754c \ud83d\ude00", "zero": "a\u0000b", "empty": ""})"),
      json::parse(R"([[], [[]], {"": {"": []}}])"),
      nullptr,
      json(42),
      json("plain"),
      json::array(),
      json::object(),
  };
  for (const json& document : documents) {
    INFO(document.dump());
    const json back = round_trip(sandbox, document);
    CHECK(back == document);
    CHECK(back.dump() == document.dump());
  }
  // Through Lua code that touches nothing, and through json.decode/encode.
  const json doc = documents[0];
  CHECK(through_lua(sandbox, "local vars = ... return vars", doc) == doc);
  lua_State* L = sandbox.state();
  sandbox.begin_budget(10'000'000, 10s);
  sandbox.load_user("local text = ... return json.encode(json.decode(text))", "=test");
  const std::string text = documents[1].dump();
  lua_pushlstring(L, text.data(), text.size());
  REQUIRE(sandbox.call(1, 1).ok());
  CHECK(std::string(lua_tostring(L, -1)) == text);
  lua_pop(L, 1);
}

TEST_CASE("integers stay integers and floats stay floats", "[flows][json]") {
  LuaSandbox sandbox;
  const json out = through_lua(sandbox, R"(
    return {1, 1.0, 2^53, math.maxinteger, math.mininteger, 3 // 2, 3 / 2, ...}
  )", 7);
  CHECK(out.dump() == "[1,1.0,9.007199254740992e+15,9223372036854775807,-9223372036854775808,1,1.5,7]");
  CHECK(out[0].is_number_integer());
  CHECK(out[1].is_number_float());
  CHECK(out[2].is_number_float());
  CHECK(out[3].is_number_integer());
  // Numbers past int64 arrive as floats rather than wrapping.
  CHECK(round_trip(sandbox, json::parse("18446744073709551615")).is_number_float());
}

TEST_CASE("how Lua tables become arrays or objects", "[flows][json]") {
  LuaSandbox sandbox;
  CHECK(through_lua(sandbox, "return {1, 2, 3}").dump() == "[1,2,3]");
  CHECK(through_lua(sandbox, "return {}").dump() == "{}");
  CHECK(through_lua(sandbox, "return json.array()").dump() == "[]");
  CHECK(through_lua(sandbox, "return json.array({})").dump() == "[]");
  CHECK(through_lua(sandbox, "return {[1] = 'a', [3] = 'c'}").dump() == R"({"1":"a","3":"c"})");
  CHECK(through_lua(sandbox, "return {1, 2, x = 3}").dump() == R"({"1":1,"2":2,"x":3})");
  CHECK(through_lua(sandbox, "return {[1.5] = true, [-1] = false}").dump() == R"({"-1":false,"1.5":true})");
  CHECK(through_lua(sandbox, "local a = json.array() a[1] = 1 a[4] = 4 return a").dump() == "[1,null,null,4]");
  CHECK(through_lua(sandbox, "local vars = ... vars.items[2] = nil return vars", json::parse(R"({"items": [1, 2, 3]})"))
            .dump() == R"({"items":[1,null,3]})");
  CHECK(through_lua(sandbox, "local vars = ... vars.list[#vars.list + 1] = json.null return vars",
                    json::parse(R"({"list": []})"))
            .dump() == R"({"list":[null]})");
  CHECK(through_lua(sandbox, "local shared = {1} return {a = shared, b = shared}").dump() ==
        R"({"a":[1],"b":[1]})");
}

TEST_CASE("json.null is one value that reads as null", "[flows][json]") {
  LuaSandbox sandbox;
  lua_State* L = sandbox.state();
  CHECK(through_lua(sandbox, R"(
    local vars = ...
    return {vars.x == json.null, json.decode('null') == json.null, tostring(json.null), type(json.null),
            getmetatable(json.null)}
  )", json::parse(R"({"x": null})")).dump() == R"([true,true,"null","userdata",false])");
  sb::flows::push_null(L);
  CHECK(sb::flows::is_null(L, -1));
  lua_pushnil(L);
  CHECK(!sb::flows::is_null(L, -1));
  lua_settop(L, 0);
}

TEST_CASE("json.array, json.is_array, json.encode and json.decode", "[flows][json]") {
  LuaSandbox sandbox;
  CHECK(through_lua(sandbox, R"(
    local vars = ...
    local marked = {}
    local same = json.array(marked) == marked
    return {same, json.is_array(marked), json.is_array({1, 2}), json.is_array({}), json.is_array({x = 1}),
            json.is_array(vars.list), json.is_array(vars.obj), json.is_array("x")}
  )", json::parse(R"({"list": [], "obj": {}})")).dump() == "[true,true,true,false,false,true,false,false]");
  CHECK(through_lua(sandbox, R"(return json.encode({b = {1, 2.5, "x"}, a = json.null}))").get<std::string>() ==
        R"({"a":null,"b":[1,2.5,"x"]})");
  CHECK(through_lua(sandbox, R"(local v = json.decode('{"a":[1,{"b":null}],"c":"\\u00e9"}') return v)").dump() ==
        R"({"a":[1,{"b":null}],"c":"é"})");
  CHECK(lua_error_of(sandbox, "json.decode('{\"a\":')").find("test:1: json.decode: parse error at line 1") == 0);
  CHECK(lua_error_of(sandbox, "json.decode(string.rep('[', 65) .. string.rep(']', 65))")
            .find("nests deeper than 64 levels") != std::string::npos);
  CHECK(through_lua(sandbox, "return json.decode(string.rep('[', 64) .. string.rep(']', 64))").dump().size() == 128);
  CHECK(lua_error_of(sandbox, "json.encode({f = print})") ==
        "test:1: json.encode: value.f: a function cannot be stored as JSON");
  CHECK(lua_error_of(sandbox, "json.array(setmetatable({}, {}))").find("already has a metatable") != std::string::npos);
}

TEST_CASE("what JSON cannot hold is refused with the path to it", "[flows][json]") {
  LuaSandbox sandbox;
  CHECK(refusal(sandbox, "return {items = {1, print}}") == "vars.items[2]: a function cannot be stored as JSON");
  CHECK(refusal(sandbox, "local t = {a = {}} t.a.self = t return t") ==
        "vars.a.self: a table that contains itself cannot be stored as JSON");
  CHECK(refusal(sandbox, "return {x = 0/0}") == "vars.x: NaN cannot be stored as JSON");
  CHECK(refusal(sandbox, "return {['odd key'] = {math.huge}}") ==
        R"(vars["odd key"][1]: an infinite number cannot be stored as JSON)");
  CHECK(refusal(sandbox, "return {co = coroutine.create(print)}") == "vars.co: a coroutine cannot be stored as JSON");
  CHECK(refusal(sandbox, "return {[true] = 1}") == "vars: a key of type boolean cannot be stored as JSON");
  CHECK(refusal(sandbox, "return {s = '\\xff'}") == "vars.s: a string that is not valid UTF-8 cannot be stored as JSON");
  CHECK(refusal(sandbox, "local a = json.array({1}) a.n = 1 return a") ==
        "vars: an array cannot have the key 'n' (only 1, 2, 3, ...)");
  CHECK(refusal(sandbox, "local a = json.array() a[1e6] = 1 return {a = a}").find("vars.a: an array with holes") == 0);

  const std::string deep = refusal(sandbox, "local t = {} local cur = t for i = 1, 64 do cur.n = {} cur = cur.n end return t");
  CHECK(deep.find("nesting deeper than 64 levels cannot be stored as JSON") != std::string::npos);
  CHECK(deep.rfind("vars.n.n.", 0) == 0);
  // 64 levels are fine.
  CHECK(through_lua(sandbox, "local t = {} local cur = t for i = 1, 63 do cur.n = {} cur = cur.n end return t")
            .is_object());
}

TEST_CASE("large values convert in linear time", "[flows][json]") {
  LuaSandbox sandbox(256u << 20);
  json big = json::array();
  for (int i = 0; i < 50'000; ++i) big.push_back({{"id", i}, {"name", "item " + std::to_string(i)}, {"tags", {1, 2}}});
  const auto started = std::chrono::steady_clock::now();
  CHECK(round_trip(sandbox, big) == big);
  // A quadratic walk would take minutes here; linear takes well under a second.
  CHECK(std::chrono::steady_clock::now() - started < 20s);
}
