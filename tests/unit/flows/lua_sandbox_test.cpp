// The Lua sandbox: what user code can and cannot reach, the budgets, and
// call()'s reports.
#include "flows/lua_json.hpp"
#include "flows/lua_sandbox.hpp"

#include "core/error.hpp"
#include "support/error_code.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using sb::ErrorCode;
using sb::flows::CallResult;
using sb::flows::CallStatus;
using sb::flows::LuaSandbox;
using sb::test::code_of;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t kPlentyOfInstructions = 50'000'000;

// Loads `code` as user code in a new environment and calls it with the
// budget given; results stay on the stack.
CallResult run(LuaSandbox& sandbox, const std::string& code, int nresults = 1,
               uint64_t instructions = kPlentyOfInstructions, std::chrono::milliseconds wall = 10s) {
  sandbox.begin_budget(instructions, wall);
  sandbox.load_user(code, "=test");
  return sandbox.call(0, nresults);
}

// The first result of `code` as a string (tostring), popped.
std::string result_of(LuaSandbox& sandbox, const std::string& code) {
  lua_State* L = sandbox.state();
  const int top = lua_gettop(L);
  CallResult r = run(sandbox, code);
  INFO(r.message);
  REQUIRE(r.status == CallStatus::ok);
  std::string out = luaL_tolstring(L, -1, nullptr);
  lua_settop(L, top);
  return out;
}

// The message of the error `code` raises.
std::string error_of(LuaSandbox& sandbox, const std::string& code) {
  lua_State* L = sandbox.state();
  const int top = lua_gettop(L);
  CallResult r = run(sandbox, code);
  REQUIRE(r.status == CallStatus::error);
  REQUIRE(lua_gettop(L) == top);
  return r.message;
}

void require_usable(LuaSandbox& sandbox) {
  CHECK(result_of(sandbox, "local t = {} for i = 1, 1000 do t[i] = i end return #t + 1") == "1001");
}

// A binary chunk made by a plain Lua state, since string.dump is gone.
std::string binary_chunk() {
  lua_State* plain = luaL_newstate();
  REQUIRE(luaL_loadstring(plain, "return 42") == LUA_OK);
  std::string bytes;
  lua_dump(
      plain,
      [](lua_State*, const void* p, size_t n, void* ud) {
        static_cast<std::string*>(ud)->append(static_cast<const char*>(p), n);
        return 0;
      },
      &bytes, 0);
  lua_close(plain);
  REQUIRE(bytes.size() > 4);
  REQUIRE(bytes[0] == '\x1b');
  return bytes;
}

}  // namespace

TEST_CASE("user code finds no io, os, package, debug, require, dofile, loadfile or string.dump", "[flows][sandbox]") {
  LuaSandbox sandbox;
  CHECK(result_of(sandbox, R"(
    local present = {}
    for _, name in ipairs({"io", "os", "package", "debug", "require", "dofile", "loadfile", "__sb_signal"}) do
      if _ENV[name] ~= nil then present[#present + 1] = name end
    end
    if string.dump ~= nil then present[#present + 1] = "string.dump" end
    return table.concat(present, ",")
  )") == "");
  CHECK(error_of(sandbox, "io.write('x')").find("attempt to index a nil value (global 'io')") != std::string::npos);
  CHECK(error_of(sandbox, "return require('os')").find("attempt to call a nil value (global 'require')") !=
        std::string::npos);
  CHECK(error_of(sandbox, "return string.dump(print)").find("field 'dump'") != std::string::npos);
}

TEST_CASE("the safe libraries are there", "[flows][sandbox]") {
  LuaSandbox sandbox;
  CHECK(result_of(sandbox, R"(
    return string.format("%s %d %s %s %s", string.upper("a"), math.max(1, 2), table.concat({1, 2}, "-"),
                         utf8.char(233), select("#", 1, 2, 3))
  )") == "A 2 1-2 \xC3\xA9 3");
  CHECK(result_of(sandbox, "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)"
                           " return co(1) + co(10)") == "22");
  CHECK(result_of(sandbox, "return ('%d'):format(7) .. ('abc'):upper()") == "7ABC");
  CHECK(result_of(sandbox, "return json.encode({a = json.null, b = json.array()})") == R"({"a":null,"b":[]})");
}

TEST_CASE("load compiles text only, even when asked for binary", "[flows][sandbox]") {
  LuaSandbox sandbox;
  lua_State* L = sandbox.state();
  const std::string bytes = binary_chunk();

  sandbox.begin_budget(kPlentyOfInstructions, 10s);
  sandbox.load_user(R"(
    local bin = ...
    local f1, e1 = load(bin)
    local f2, e2 = load(bin, "x", "b")
    local sent = false
    local f3, e3 = load(function() if sent then return nil end sent = true return bin end, "r", "bt")
    return f1 == nil and f2 == nil and f3 == nil, e1 .. "|" .. e2 .. "|" .. e3
  )", "=test");
  lua_pushlstring(L, bytes.data(), bytes.size());
  CallResult r = sandbox.call(1, 2);
  REQUIRE(r.ok());
  CHECK(lua_toboolean(L, -2));
  const std::string errors = lua_tostring(L, -1);
  CHECK(errors.find("attempt to load a binary chunk") != std::string::npos);
  lua_pop(L, 2);

  CHECK(code_of([&] { sandbox.load_user(bytes, "=bin"); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { sandbox.load_trusted(bytes, "=bin"); }) == ErrorCode::invalid_argument);
  CHECK(lua_gettop(L) == 0);
}

TEST_CASE("load gives a chunk a new sandbox environment unless one is passed", "[flows][sandbox]") {
  LuaSandbox sandbox;
  CHECK(result_of(sandbox, R"lua(
    x = 1
    local f = load("x = 2 return x, string.upper('ok')")
    local a, b = f()
    local own = {}
    load("y = 3", "=own", "t", own)()
    return table.concat({x, a, b, tostring(own.y), tostring(y)}, " ")
  )lua") == "1 2 OK 3 nil");
  CHECK(result_of(sandbox, "local f, err = load('return +') return err") ==
        "[string \"return +\"]:1: unexpected symbol near '+'");
}

TEST_CASE("collectgarbage only counts", "[flows][sandbox]") {
  LuaSandbox sandbox;
  CHECK(result_of(sandbox, "return math.type(collectgarbage('count'))") == "float");
  CHECK(result_of(sandbox, "return collectgarbage('stop')") == "0");
  CHECK(lua_gc(sandbox.state(), LUA_GCISRUNNING, 0) == 1);
  CHECK(result_of(sandbox, "return collectgarbage()") == "0");
  CHECK(error_of(sandbox, "collectgarbage('nonsense')").find("invalid option 'nonsense'") != std::string::npos);
}

TEST_CASE("library tables are read-only for every way of writing", "[flows][sandbox]") {
  LuaSandbox sandbox;
  for (const char* code : {"string.upper = nil", "table.insert = print", "math.pi = 3", "utf8.x = 1",
                           "coroutine.resume = nil", "json.null = 0"}) {
    INFO(code);
    CHECK(error_of(sandbox, code).find("attempt to modify read-only table '") != std::string::npos);
  }
  CHECK(error_of(sandbox, "string.upper = nil").find("read-only table 'string'") != std::string::npos);
  CHECK(error_of(sandbox, "rawset(string, 'upper', nil)").find("read-only table 'string'") != std::string::npos);
  CHECK(error_of(sandbox, "_G.x = 1").find("read-only table '_G'") != std::string::npos);
  CHECK(error_of(sandbox, "rawset(_G, 'x', 1)").find("read-only table '_G'") != std::string::npos);
  CHECK(error_of(sandbox, "table.insert(math, 1)").find("read-only table 'math'") != std::string::npos);
  CHECK(error_of(sandbox, "setmetatable(string, nil)").find("protected metatable") != std::string::npos);
  CHECK(error_of(sandbox, "local _, real = pairs(string) real.upper = nil").find("read-only") != std::string::npos);
  CHECK(result_of(sandbox, "return getmetatable(string)") == "false");
  CHECK(result_of(sandbox, "local n = 0 for k, v in pairs(string) do n = n + 1 end return n > 10") == "true");
  CHECK(result_of(sandbox, "local n = 0 for k in pairs(_G) do n = n + 1 end return n > 20") == "true");
  // Nothing above changed what the next run sees.
  CHECK(result_of(sandbox, "return string.upper('a') .. math.pi .. tostring(x)") == "A3.1415926535898nil");
}

TEST_CASE("the string metatable is locked", "[flows][sandbox]") {
  LuaSandbox sandbox;
  CHECK(result_of(sandbox, "return getmetatable('')") == "false");
  CHECK(error_of(sandbox, "getmetatable('').__index = {upper = function() return 'evil' end}")
            .find("attempt to index a boolean value") != std::string::npos);
  CHECK(result_of(sandbox, "return ('a'):upper()") == "A");
}

TEST_CASE("setmetatable refuses __gc and still works otherwise", "[flows][sandbox]") {
  LuaSandbox sandbox;
  CHECK(error_of(sandbox, "setmetatable({}, {__gc = function() end})").find("__gc") != std::string::npos);
  CHECK(result_of(sandbox, "local t = setmetatable({}, {__index = function(_, k) return k .. '!' end}) return t.hi") ==
        "hi!");
}

TEST_CASE("globals of one environment do not leak into another", "[flows][sandbox]") {
  LuaSandbox sandbox;
  CHECK(result_of(sandbox, "x = 5 function helper() return 1 end return x") == "5");
  CHECK(result_of(sandbox, "return tostring(x) .. ' ' .. tostring(helper)") == "nil nil");
  CHECK(result_of(sandbox, "return getmetatable(_ENV)") == "false");

  lua_State* L = sandbox.state();
  sandbox.new_environment();
  const int env = lua_gettop(L);
  sandbox.begin_budget(kPlentyOfInstructions, 10s);
  sandbox.load_user("shared = 'mine'", "=a", env);
  REQUIRE(sandbox.call(0, 0).ok());
  sandbox.load_user("return shared", "=b", env);
  REQUIRE(sandbox.call(0, 1).ok());
  CHECK(std::string(lua_tostring(L, -1)) == "mine");
  lua_settop(L, 0);
  CHECK(result_of(sandbox, "return tostring(shared)") == "nil");
}

TEST_CASE("set_environment gives a cached chunk a new environment, older closures keep theirs", "[flows][sandbox]") {
  LuaSandbox sandbox;
  lua_State* L = sandbox.state();
  sandbox.begin_budget(kPlentyOfInstructions, 10s);
  sandbox.load_user("name = name or 'unset' return function() return name end", "=cached");
  const int chunk = lua_gettop(L);

  sandbox.new_environment();
  lua_pushliteral(L, "first");
  lua_setfield(L, -2, "name");
  sandbox.set_environment(chunk, -1);
  lua_pop(L, 1);
  lua_pushvalue(L, chunk);
  REQUIRE(sandbox.call(0, 1).ok());
  const int first_closure = lua_gettop(L);

  sandbox.new_environment();
  lua_pushliteral(L, "second");
  lua_setfield(L, -2, "name");
  sandbox.set_environment(chunk, -1);
  lua_pop(L, 1);
  lua_pushvalue(L, chunk);
  REQUIRE(sandbox.call(0, 1).ok());

  REQUIRE(sandbox.call(0, 1).ok());
  CHECK(std::string(lua_tostring(L, -1)) == "second");
  lua_pop(L, 1);
  lua_pushvalue(L, first_closure);
  REQUIRE(sandbox.call(0, 1).ok());
  CHECK(std::string(lua_tostring(L, -1)) == "first");
  lua_settop(L, 0);
}

TEST_CASE("an infinite loop is stopped by the instruction budget", "[flows][sandbox]") {
  LuaSandbox sandbox;
  lua_State* L = sandbox.state();
  CallResult r = run(sandbox, "local n = 0 while true do n = n + 1 end", 1, 100'000, 10s);
  CHECK(r.status == CallStatus::instructions);
  CHECK(r.message == "instruction budget exceeded (100000 instructions)");
  CHECK(r.traceback.find("test:1") != std::string::npos);
  CHECK(sandbox.instructions_used() > 100'000);
  CHECK(sandbox.instructions_used() <= 100'000 + 2 * sb::flows::kHookInterval);
  CHECK(lua_gettop(L) == 0);
  require_usable(sandbox);

  // Inside a coroutine too.
  r = run(sandbox, "local co = coroutine.create(function() while true do end end) coroutine.resume(co) return 1", 1,
          100'000, 10s);
  CHECK(r.status == CallStatus::instructions);
  require_usable(sandbox);
}

TEST_CASE("a loop under a large instruction budget is stopped by the wall clock", "[flows][sandbox]") {
  LuaSandbox sandbox;
  const auto started = std::chrono::steady_clock::now();
  CallResult r = run(sandbox, "while true do end", 1, uint64_t{1} << 62, 100ms);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(r.status == CallStatus::timeout);
  CHECK(r.message == "time budget exceeded (100 ms)");
  CHECK(elapsed >= 100ms);
  CHECK(elapsed < 5s);
  require_usable(sandbox);
}

TEST_CASE("memory bombs are stopped by the memory cap", "[flows][sandbox]") {
  LuaSandbox sandbox(16u << 20);
  const char* bombs[] = {
      "local t = {} for i = 1, 1e9 do t[i] = i end",
      "return string.rep('x', 1 << 30)",
      "local s = 'x' while true do s = s .. s end",
      "local t = {} while true do t[#t + 1] = {} end",
      "local function f() return 1 + f() end return f()",
  };
  for (const char* bomb : bombs) {
    INFO(bomb);
    CallResult r = run(sandbox, bomb);
    CHECK(r.status == CallStatus::memory);
    CHECK(r.message == "memory limit exceeded (16 MiB)");
    CHECK(lua_gettop(sandbox.state()) == 0);
    CHECK(sandbox.memory_used() <= sandbox.memory_cap());
    CHECK(sandbox.memory_used() < sandbox.memory_cap() / 4);  // the garbage was collected
    require_usable(sandbox);
  }
}

TEST_CASE("user code cannot swallow an instruction or time abort", "[flows][sandbox]") {
  LuaSandbox sandbox;
  const char* swallowers[] = {
      "while true do pcall(function() while true do end end) end",
      "while true do xpcall(function() while true do end end, function() return 'fine' end) end",
      "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
      "while true do pcall(coroutine.wrap(function() while true do end end)) end",
      "while true do pcall(load, function() while true do end end) end",
      "while true do pcall(error, 'x') end",
      "while true do local co = coroutine.create(function() local x <close> = setmetatable({}, {__close = "
      "function() while true do end end}) coroutine.yield() end) coroutine.resume(co) coroutine.close(co) end",
  };
  for (const char* code : swallowers) {
    INFO(code);
    CallResult r = run(sandbox, code, 1, 200'000, 10s);
    CHECK(r.status == CallStatus::instructions);
    require_usable(sandbox);
    r = run(sandbox, code, 1, uint64_t{1} << 62, 50ms);
    CHECK(r.status == CallStatus::timeout);
    require_usable(sandbox);
  }
}

TEST_CASE("user code cannot swallow a memory abort", "[flows][sandbox]") {
  LuaSandbox sandbox(16u << 20);
  const char* swallowers[] = {
      "local ok = pcall(string.rep, 'x', 1 << 30) return 'survived'",
      "for i = 1, 10 do pcall(function() local t = {} for i = 1, 1e8 do t[i] = i end end) end return 'survived'",
      "local ok = xpcall(string.rep, function() return 'fine' end, 'x', 1 << 30) return 'survived'",
      "local co = coroutine.create(function() return string.rep('x', 1 << 30) end) coroutine.resume(co) "
      "return 'survived'",
      "pcall(coroutine.wrap(function() return string.rep('x', 1 << 30) end)) return 'survived'",
  };
  for (const char* code : swallowers) {
    INFO(code);
    CallResult r = run(sandbox, code);
    CHECK(r.status == CallStatus::memory);
    require_usable(sandbox);
  }
}

TEST_CASE("an allocation the emergency collection makes room for is not an abort", "[flows][sandbox]") {
  LuaSandbox sandbox(8u << 20);
  lua_State* L = sandbox.state();
  lua_gc(L, LUA_GCSTOP, 0);  // garbage piles up until the cap forces a collection
  const std::string result = result_of(sandbox, R"(
    for i = 1, 64 do local s = string.rep('x', 1 << 20, tostring(i)) end
    local ok, err = pcall(error, 'caught')
    return tostring(ok) .. ' ' .. err
  )");
  lua_gc(L, LUA_GCRESTART, 0);
  CHECK(result == "false caught");
}

TEST_CASE("pcall, xpcall and coroutines still work for ordinary errors", "[flows][sandbox]") {
  LuaSandbox sandbox;
  CHECK(result_of(sandbox, "local ok, e = pcall(error, 'boom', 0) return tostring(ok) .. e") == "falseboom");
  CHECK(result_of(sandbox, "return select('#', pcall(function() return 1, 2, 3 end))") == "4");
  CHECK(result_of(sandbox, "local ok, e = xpcall(function() error({code = 7}) end, function(e) return e.code * 2 end)"
                           " return e") == "14");
  CHECK(result_of(sandbox, "local ok, a, b = xpcall(function(x, y) return x + y, x end, print, 2, 3) return a * b") ==
        "10");
  CHECK(result_of(sandbox, R"(
    local co = coroutine.create(function()
      local ok, v = pcall(function() return coroutine.yield('y') + 1 end)
      return tostring(ok) .. v
    end)
    local _, first = coroutine.resume(co)
    local _, second = coroutine.resume(co, 41)
    local ok, e = coroutine.resume(coroutine.create(function() error('inner', 0) end))
    return first .. second .. tostring(ok) .. e
  )") == "ytrue42falseinner");
}

TEST_CASE("a signal raised by trusted code reaches call() through user pcall with its fields", "[flows][sandbox]") {
  LuaSandbox sandbox;
  lua_State* L = sandbox.state();
  sandbox.load_trusted("return function(n) __sb_signal('wait', {node = 'n3', n = n, signal = 'forged'}) end",
                       "=trusted");
  REQUIRE(sandbox.call(0, 1).ok());
  const int raise = lua_gettop(L);

  const char* swallowers[] = {
      "local raise = ... local ok, e = pcall(raise, 7) return 'swallowed'",
      "local raise = ... xpcall(raise, function() return 'fine' end, 7) return 'swallowed'",
      "local raise = ... pcall(pcall, pcall, raise, 7) return 'swallowed'",
      "local raise = ... coroutine.resume(coroutine.create(raise), 7) return 'swallowed'",
      "local raise = ... pcall(coroutine.wrap(raise), 7) return 'swallowed'",
      "local raise = ... local ok = pcall(load(function() raise(7) end)) return 'swallowed'",
  };
  for (const char* code : swallowers) {
    INFO(code);
    sandbox.begin_budget(kPlentyOfInstructions, 10s);
    sandbox.load_user(code, "=user");
    lua_pushvalue(L, raise);
    CallResult r = sandbox.call(1, 1);
    REQUIRE(r.status == CallStatus::signal);
    REQUIRE(lua_gettop(L) == raise + 1);
    CHECK(LuaSandbox::is_signal(L, -1));
    lua_getfield(L, -1, "signal");
    CHECK(std::string(lua_tostring(L, -1)) == "wait");
    lua_getfield(L, -2, "node");
    CHECK(std::string(lua_tostring(L, -1)) == "n3");
    lua_getfield(L, -3, "n");
    CHECK(lua_tointeger(L, -1) == 7);
    lua_settop(L, raise);
  }
  require_usable(sandbox);
}

TEST_CASE("user code cannot raise or forge a signal", "[flows][sandbox]") {
  LuaSandbox sandbox;
  lua_State* L = sandbox.state();
  CHECK(result_of(sandbox, "return tostring(__sb_signal)") == "nil");
  CallResult r = run(sandbox, "error(setmetatable({signal = 'wait'}, {}))");
  CHECK(r.status == CallStatus::error);
  CHECK(r.message == "(error object is a table value)");
  CHECK(!LuaSandbox::is_signal(L, -1));
  lua_settop(L, 0);

  // Host code makes one with push_signal().
  sandbox.push_signal("end");
  CHECK(LuaSandbox::is_signal(L, -1));
  lua_settop(L, 0);
}

TEST_CASE("trusted code sees __sb_signal and cannot write globals", "[flows][sandbox]") {
  LuaSandbox sandbox;
  lua_State* L = sandbox.state();
  sandbox.load_trusted("return type(__sb_signal), string.upper('x')", "=trusted");
  REQUIRE(sandbox.call(0, 2).ok());
  CHECK(std::string(lua_tostring(L, -2)) == "function");
  CHECK(std::string(lua_tostring(L, -1)) == "X");
  lua_settop(L, 0);
  sandbox.load_trusted("leak = 1", "=trusted");
  CallResult r = sandbox.call(0, 0);
  CHECK(r.status == CallStatus::error);
  CHECK(r.message.find("read-only table '_G'") != std::string::npos);
}

TEST_CASE("an error reports its chunk and line, with the traceback apart", "[flows][sandbox]") {
  LuaSandbox sandbox;
  lua_State* L = sandbox.state();
  sandbox.begin_budget(kPlentyOfInstructions, 10s);
  sandbox.load_user("local x = 1\nlocal function f(t)\n  return t.field.y\nend\nlocal r = f({}) return r", "=node:greet");
  CallResult r = sandbox.call(0, 1);
  CHECK(r.status == CallStatus::error);
  CHECK(r.message == "node:greet:3: attempt to index a nil value (field 'field')");
  CHECK(r.traceback.rfind("stack traceback:", 0) == 0);
  CHECK(r.traceback.find("node:greet:3:") != std::string::npos);
  CHECK(r.traceback.find("node:greet:5:") != std::string::npos);
  CHECK(lua_gettop(L) == 0);

  CHECK(error_of(sandbox, "error({})") == "(error object is a table value)");
  CHECK(error_of(sandbox, "error(setmetatable({}, {__tostring = function() return 'custom' end}))") == "custom");
  CHECK(error_of(sandbox, "error(42)") == "42");
  CHECK(error_of(sandbox, "error('two\\nlines', 0)") == "two\nlines");
}

TEST_CASE("a chunk that does not compile is an invalid argument", "[flows][sandbox]") {
  LuaSandbox sandbox;
  try {
    sandbox.load_user("return +", "=node:bad");
    FAIL("no error");
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK(std::string(e.what()) == "node:bad:1: unexpected symbol near '+'");
  }
  CHECK(lua_gettop(sandbox.state()) == 0);
}

TEST_CASE("call leaves exactly the results asked for", "[flows][sandbox]") {
  LuaSandbox sandbox;
  lua_State* L = sandbox.state();
  lua_pushliteral(L, "below");
  sandbox.begin_budget(kPlentyOfInstructions, 10s);
  sandbox.load_user("return ...", "=args");
  lua_pushinteger(L, 1);
  lua_pushinteger(L, 2);
  REQUIRE(sandbox.call(2, LUA_MULTRET).ok());
  CHECK(lua_gettop(L) == 3);
  CHECK(lua_tointeger(L, 3) == 2);
  lua_settop(L, 1);
  sandbox.load_user("error('x')", "=err");
  CHECK(sandbox.call(0, 3).status == CallStatus::error);
  CHECK(lua_gettop(L) == 1);
  CHECK(std::string(lua_tostring(L, 1)) == "below");
}

TEST_CASE("the state fits a small cap and a cap too small for it is refused", "[flows][sandbox]") {
  LuaSandbox small(256u << 10);
  CHECK(small.memory_used() < small.memory_cap());
  require_usable(small);
  CHECK(code_of([] { LuaSandbox tiny(4096); }) == ErrorCode::invalid_argument);
}

TEST_CASE("a memory error outside a protected call throws and leaves the state usable", "[flows][sandbox]") {
  LuaSandbox sandbox(1u << 20);
  lua_State* L = sandbox.state();
  nlohmann::json big = nlohmann::json::array();
  for (int i = 0; i < 100'000; ++i) big.push_back("item number " + std::to_string(i));
  try {
    sb::flows::push_json(L, big);
    FAIL("no error");
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::internal);
    CHECK(std::string(e.what()) == "memory limit exceeded (1 MiB)");
  }
  lua_settop(L, 0);
  sandbox.collect();
  require_usable(sandbox);
}

TEST_CASE("no budget means no instruction limit, and a new window clears an abort", "[flows][sandbox]") {
  LuaSandbox sandbox;
  lua_State* L = sandbox.state();
  CHECK(run(sandbox, "while true do end", 1, 10'000, 10s).status == CallStatus::instructions);
  sandbox.end_budget();
  sandbox.load_user("local n = 0 for i = 1, 200000 do n = n + i end return n", "=free");
  REQUIRE(sandbox.call(0, 1).ok());
  CHECK(lua_tointeger(L, -1) == 20000100000);
  lua_settop(L, 0);
}

TEST_CASE("C loops the hook cannot see into are charged to the instruction budget", "[flows][sandbox]") {
  LuaSandbox sandbox;
  const char* loops[] = {
      "table.move({}, 1, 1e15, 1)",
      "table.insert(setmetatable({}, {__len = function() return 1e15 end}), 1, 'x')",
      "table.remove(setmetatable({}, {__len = function() return 1e15 end}), 1)",
  };
  for (const char* code : loops) {
    INFO(code);
    const auto started = std::chrono::steady_clock::now();
    CallResult r = run(sandbox, code, 1, 1'000'000, 10s);
    CHECK(r.status == CallStatus::instructions);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    require_usable(sandbox);
  }
  CHECK(result_of(sandbox, "return #string.rep('', 1e18) + #string.rep('', 1e18, '')") == "0");
  CHECK(result_of(sandbox, "return ('ab'):rep(3, '-')") == "ab-ab-ab");
  CHECK(result_of(sandbox, R"lua(
    local a = table.move({1, 2, 3}, 1, 3, 2)
    table.insert(a, 1, 0)
    table.insert(a, 9)
    local removed = table.remove(a, 2) + table.remove(a)
    return table.concat(a, ",") .. " " .. removed
  )lua") == "0,1,2,3 10");
}
