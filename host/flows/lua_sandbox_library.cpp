// The sandbox's libraries: what user code can call, and the replacements
// that keep it from leaving the sandbox, changing what other runs see, or
// swallowing an abort or a control signal.
//
// Every function here is a lua_CFunction without C++ objects that have
// destructors: Lua errors are longjmps.
#include "flows/lua_sandbox_library.hpp"

#include "flows/lua_json.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

namespace sb::flows::library {

namespace {

// Addresses used as registry keys.
const char kSignalMetatableKey = 0;
const char kFrozenTablesKey = 0;  // registry[key] = {[read-only table] = its name}

constexpr size_t kLongestPrintLine = 2000;

void lock_metatable(lua_State* L, int metatable) {
  lua_pushboolean(L, 0);
  lua_setfield(L, metatable, "__metatable");
}

// --- read-only tables -------------------------------------------------------

int read_only_newindex(lua_State* L) {
  return luaL_error(L, "attempt to modify read-only table '%s'", lua_tostring(L, lua_upvalueindex(1)));
}

// next() over the real table, which stays out of the caller's reach (a
// plain __pairs returning `next, real` would hand it out).
int read_only_next(lua_State* L) {
  lua_settop(L, 2);
  if (lua_next(L, lua_upvalueindex(1))) return 2;
  lua_pushnil(L);
  return 1;
}

int read_only_pairs(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

void register_read_only(lua_State* L, int table, const char* name) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kFrozenTablesKey);
  lua_pushvalue(L, table);
  lua_pushstring(L, name);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

// Replaces the table on top of the stack by a read-only proxy of it.
void make_read_only(lua_State* L, const char* name) {
  const int real = lua_gettop(L);
  lua_createtable(L, 0, 0);
  const int proxy = real + 1;
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, name);
  lua_pushcclosure(L, read_only_newindex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, real);
  lua_pushcclosure(L, read_only_next, 1);
  lua_pushcclosure(L, read_only_pairs, 1);
  lua_setfield(L, -2, "__pairs");
  lock_metatable(L, lua_gettop(L));
  lua_setmetatable(L, proxy);
  register_read_only(L, proxy, name);
  lua_replace(L, real);
}

// rawset() would write into a proxy itself, shadowing the library for every
// run of the state.
int sandbox_rawset(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kFrozenTablesKey);
  lua_pushvalue(L, 1);
  if (lua_rawget(L, -2) == LUA_TSTRING) {
    return luaL_error(L, "attempt to modify read-only table '%s'", lua_tostring(L, -1));
  }
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

// A __gc metamethod would run user code at any later collection, in
// whatever run is going on then, outside its own budget's reach.
int sandbox_setmetatable(lua_State* L) {
  const int type = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argexpected(L, type == LUA_TNIL || type == LUA_TTABLE, 2, "nil or table");
  if (type == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL) return luaL_error(L, "__gc metamethods are not allowed in the sandbox");
    lua_pop(L, 1);
  }
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) return luaL_error(L, "cannot change a protected metatable");
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

// --- base -------------------------------------------------------------------

int sandbox_print(lua_State* L) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger || !logger->should_log(spdlog::level::debug)) return 0;
  const int n = lua_gettop(L);
  luaL_Buffer buffer;
  luaL_buffinit(L, &buffer);
  for (int i = 1; i <= n; ++i) {
    if (i > 1) luaL_addchar(&buffer, '\t');
    luaL_tolstring(L, i, nullptr);
    luaL_addvalue(&buffer);
  }
  luaL_pushresult(&buffer);
  size_t length = 0;
  const char* line = lua_tolstring(L, -1, &length);
  try {
    logger->debug("lua print: {}", std::string_view(line, std::min(length, kLongestPrintLine)));
  } catch (...) {
    // A log line that cannot be written is not the flow's problem.
  }
  return 0;
}

int sandbox_collectgarbage(lua_State* L) {
  static const char* const options[] = {"collect", "stop",      "restart",   "count",        "step",
                                        "setpause", "setstepmul", "isrunning", "generational", "incremental",
                                        nullptr};
  const char* option = options[luaL_checkoption(L, 1, "collect", options)];
  if (std::strcmp(option, "count") == 0) {
    const int kib = lua_gc(L, LUA_GCCOUNT, 0);
    const int bytes = lua_gc(L, LUA_GCCOUNTB, 0);
    lua_pushnumber(L, static_cast<lua_Number>(kib) + static_cast<lua_Number>(bytes) / 1024);
    return 1;
  }
  if (std::strcmp(option, "isrunning") == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  // The collector belongs to the host: other options change nothing.
  lua_pushinteger(L, 0);
  return 1;
}

// load(chunk [, chunkname [, mode [, env]]]): text only whatever `mode`
// says, and a new sandbox environment unless `env` is given. A reader
// function is called to the end before compiling, outside lua_load's own
// protection, so its errors (an abort, a signal) go on unwinding.
int sandbox_load(lua_State* L) {
  const bool has_env = !lua_isnone(L, 4);
  int status = LUA_OK;
  if (lua_type(L, 1) == LUA_TSTRING) {
    size_t length = 0;
    const char* source = lua_tolstring(L, 1, &length);
    const char* name = luaL_optstring(L, 2, source);
    status = luaL_loadbufferx(L, source, length, name, "t");
  } else {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    const char* name = luaL_optstring(L, 2, "=(load)");
    lua_settop(L, 4);
    luaL_Buffer buffer;
    luaL_buffinit(L, &buffer);
    for (;;) {
      lua_pushvalue(L, 1);
      lua_call(L, 0, 1);
      if (lua_isnil(L, -1) || (lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) == 0)) {
        lua_pop(L, 1);
        break;
      }
      if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "reader function must return a string");
      luaL_addvalue(&buffer);
    }
    luaL_pushresult(&buffer);
    size_t length = 0;
    const char* source = lua_tolstring(L, -1, &length);
    status = luaL_loadbufferx(L, source, length, name, "t");
  }
  if (status != LUA_OK) {
    if (SandboxAccess::must_propagate(L, status, -1)) return lua_error(L);
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (has_env) {
    lua_pushvalue(L, 4);
  } else {
    push_environment(L);
  }
  if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  return 1;
}

int finish_pcall(lua_State* L, int status, lua_KContext extra) {
  if (status != LUA_OK && status != LUA_YIELD) {
    if (SandboxAccess::must_propagate(L, status, -1)) return lua_error(L);
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - static_cast<int>(extra);
}

int sandbox_pcall(lua_State* L) {
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  const int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
  return finish_pcall(L, status, 0);
}

// xpcall's handler runs before anything unwinds; for an abort or a signal
// it must not get to turn the error into something else.
int xpcall_handler(lua_State* L) {
  if (is_signal(L, 1) || SandboxAccess::aborting(L)) {
    lua_settop(L, 1);
    return 1;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

int sandbox_xpcall(lua_State* L) {
  const int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, xpcall_handler, 1);
  lua_replace(L, 2);
  lua_pushboolean(L, 1);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 2);
  const int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
  return finish_pcall(L, status, 2);
}

// coroutine.resume and coroutine.close return errors as values; the
// originals run first (upvalue 1) and an abort or a signal is raised again.
int reraising_coroutine_call(lua_State* L) {
  const int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  if (lua_gettop(L) >= 2 && !lua_toboolean(L, 1) && SandboxAccess::must_propagate(L, LUA_ERRRUN, 2)) {
    lua_settop(L, 2);
    return lua_error(L);
  }
  return lua_gettop(L);
}

// __sb_signal(kind [, fields]): raises a signal carrying a copy of fields.
int raise_signal(lua_State* L) {
  size_t length = 0;
  const char* kind = luaL_checklstring(L, 1, &length);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  push_signal(L, std::string_view(kind, length));
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, 3);
    }
    lua_pushvalue(L, 1);
    lua_setfield(L, 3, "signal");
  }
  return lua_error(L);
}

// --- C loops the hook cannot see into -----------------------------------------
// A few library functions loop in C as often as an argument or a __len says,
// without allocating, so neither the hook nor the memory cap would stop
// `table.move({}, 1, 1e15, 1)`. Their wrappers charge the loop to the
// instruction budget first, then call the original (upvalue 1).

int call_original(lua_State* L) {
  const int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

// Elements between `from` and `to` inclusive, without overflow.
lua_Unsigned span(lua_Integer from, lua_Integer to) {
  return to < from ? 0 : static_cast<lua_Unsigned>(to) - static_cast<lua_Unsigned>(from) + 1;
}

int charged_table_move(lua_State* L) {
  SandboxAccess::charge(L, span(luaL_checkinteger(L, 2), luaL_checkinteger(L, 3)));
  return call_original(L);
}

// table.insert(t, pos, v) and table.remove(t, pos) shift #t - pos elements,
// and #t is whatever a __len metamethod answers.
int charged_table_insert(lua_State* L) {
  if (lua_gettop(L) == 3 && lua_type(L, 1) == LUA_TTABLE) {
    SandboxAccess::charge(L, span(luaL_checkinteger(L, 2), luaL_len(L, 1)));
  }
  return call_original(L);
}

int charged_table_remove(lua_State* L) {
  if (lua_gettop(L) >= 2 && lua_type(L, 1) == LUA_TTABLE && !lua_isnil(L, 2)) {
    SandboxAccess::charge(L, span(luaL_checkinteger(L, 2), luaL_len(L, 1)));
  }
  return call_original(L);
}

// string.rep copies n times even when every copy is empty.
int guarded_string_rep(lua_State* L) {
  size_t length = 0, separator = 0;
  luaL_checklstring(L, 1, &length);
  const lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &separator);
  if (n > 0 && length + separator == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  return call_original(L);
}

void wrap_function(lua_State* L, int library, const char* name, lua_CFunction wrapper) {
  lua_getfield(L, library, name);
  lua_pushcclosure(L, wrapper, 1);
  lua_setfield(L, library, name);
}

void set_function(lua_State* L, int table, const char* name, lua_CFunction fn) {
  lua_pushcfunction(L, fn);
  lua_setfield(L, table, name);
}

// Opens a standard library into a fresh table (not a global) and pushes it.
void open_library(lua_State* L, const char* name, lua_CFunction open) {
  luaL_requiref(L, name, open, 0);
}

}  // namespace

Refs open(lua_State* L) {
  Refs refs;
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kFrozenTablesKey);
  lua_createtable(L, 0, 1);
  lock_metatable(L, lua_gettop(L));
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kSignalMetatableKey);

  // The real globals: base, less what reaches files or modules, with the
  // replacements; every library as a read-only proxy.
  open_library(L, "_G", luaopen_base);
  const int globals = lua_gettop(L);
  for (const char* name : {"dofile", "loadfile", "require"}) {
    lua_pushnil(L);
    lua_setfield(L, globals, name);
  }
  set_function(L, globals, "load", sandbox_load);
  set_function(L, globals, "pcall", sandbox_pcall);
  set_function(L, globals, "xpcall", sandbox_xpcall);
  set_function(L, globals, "print", sandbox_print);
  set_function(L, globals, "collectgarbage", sandbox_collectgarbage);
  set_function(L, globals, "setmetatable", sandbox_setmetatable);
  set_function(L, globals, "rawset", sandbox_rawset);

  open_library(L, "string", luaopen_string);
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  wrap_function(L, lua_gettop(L), "rep", guarded_string_rep);
  make_read_only(L, "string");
  lua_setfield(L, globals, "string");

  open_library(L, "table", luaopen_table);
  wrap_function(L, lua_gettop(L), "move", charged_table_move);
  wrap_function(L, lua_gettop(L), "insert", charged_table_insert);
  wrap_function(L, lua_gettop(L), "remove", charged_table_remove);
  make_read_only(L, "table");
  lua_setfield(L, globals, "table");

  open_library(L, "math", luaopen_math);
  make_read_only(L, "math");
  lua_setfield(L, globals, "math");

  open_library(L, "utf8", luaopen_utf8);
  make_read_only(L, "utf8");
  lua_setfield(L, globals, "utf8");

  open_library(L, "coroutine", luaopen_coroutine);
  wrap_function(L, lua_gettop(L), "resume", reraising_coroutine_call);
  wrap_function(L, lua_gettop(L), "close", reraising_coroutine_call);
  make_read_only(L, "coroutine");
  lua_setfield(L, globals, "coroutine");

  open_json(L);
  make_read_only(L, "json");
  lua_setfield(L, globals, "json");

  // getmetatable("") answers false, so no run can reach string methods.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lock_metatable(L, lua_gettop(L));
  lua_pop(L, 2);

  // The frozen globals; they also become the state's global table, so even a
  // chunk loaded around the sandbox cannot write globals.
  lua_pushvalue(L, globals);
  make_read_only(L, "_G");
  lua_pushvalue(L, -1);
  lua_setfield(L, globals, "_G");
  lua_pushvalue(L, -1);
  lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  refs.frozen_globals = luaL_ref(L, LUA_REGISTRYINDEX);

  // Environments read the real globals directly (one lookup fewer than
  // through the proxy); the metatable is locked so they never hand it out.
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, globals);
  lua_setfield(L, -2, "__index");
  lock_metatable(L, lua_gettop(L));
  refs.environment_metatable = luaL_ref(L, LUA_REGISTRYINDEX);

  // The trusted globals: the frozen globals plus __sb_signal.
  lua_createtable(L, 0, 1);
  const int trusted = lua_gettop(L);
  set_function(L, trusted, "__sb_signal", raise_signal);
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, globals);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "_G");
  lua_pushcclosure(L, read_only_newindex, 1);
  lua_setfield(L, -2, "__newindex");
  lock_metatable(L, lua_gettop(L));
  lua_setmetatable(L, trusted);
  register_read_only(L, trusted, "_G");
  refs.trusted_globals = luaL_ref(L, LUA_REGISTRYINDEX);

  // Each call of this chunk makes a new local `env` and a closure over it.
  if (luaL_loadstring(L, "local env = ... return function() return env end") != LUA_OK) lua_error(L);
  refs.fresh_upvalue = luaL_ref(L, LUA_REGISTRYINDEX);

  lua_settop(L, globals - 1);
  return refs;
}

void push_environment(lua_State* L) {
  lua_createtable(L, 0, 4);
  lua_rawgeti(L, LUA_REGISTRYINDEX, SandboxAccess::environment_metatable(L));
  lua_setmetatable(L, -2);
}

void push_signal(lua_State* L, std::string_view kind) {
  lua_createtable(L, 0, 4);
  lua_pushlstring(L, kind.data(), kind.size());
  lua_setfield(L, -2, "signal");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kSignalMetatableKey);
  lua_setmetatable(L, -2);
}

bool is_signal(lua_State* L, int index) {
  if (lua_type(L, index) != LUA_TTABLE) return false;
  const int table = lua_absindex(L, index);
  if (!lua_checkstack(L, 2) || !lua_getmetatable(L, table)) return false;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kSignalMetatableKey);
  const bool signal = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return signal;
}

}  // namespace sb::flows::library
