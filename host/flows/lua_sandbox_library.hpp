#pragma once
// Internal to LuaSandbox: builds the sandbox's libraries in a fresh state
// (the safe standard libraries, their read-only proxies, the replacements of
// load, pcall, xpcall, coroutine.resume/close, print, collectgarbage,
// setmetatable and rawset, the environment metatable, the trusted globals
// with __sb_signal) and the signal helpers. Nothing here is for other rooms.
#include "flows/lua_sandbox.hpp"

#include <lua.hpp>

#include <string_view>

namespace sb::flows {

// What the library functions may see of their sandbox's private state.
struct SandboxAccess {
  static bool must_propagate(lua_State* L, int status, int error_index) {
    return LuaSandbox::of(L).must_propagate(L, status, error_index);
  }
  static bool aborting(lua_State* L) { return LuaSandbox::of(L).aborting_ != LuaSandbox::Abort::none; }
  static int environment_metatable(lua_State* L) { return LuaSandbox::of(L).environment_mt_ref_; }
  // Counts `steps` against the instruction budget before a C loop of that
  // many steps runs (the hook cannot see inside it); raises the abort when
  // the budget is exceeded.
  static void charge(lua_State* L, lua_Unsigned steps) {
    LuaSandbox& sandbox = LuaSandbox::of(L);
    if (!sandbox.budget_active_) return;
    const uint64_t left = sandbox.instruction_budget_ > sandbox.instructions_used_
                              ? sandbox.instruction_budget_ - sandbox.instructions_used_
                              : 0;
    if (steps <= left) {
      sandbox.instructions_used_ += steps;
      return;
    }
    sandbox.instructions_used_ = sandbox.instruction_budget_ + 1;
    if (sandbox.aborting_ == LuaSandbox::Abort::none) sandbox.aborting_ = LuaSandbox::Abort::instructions;
    sandbox.push_abort_message(L);
    lua_error(L);
  }
};

namespace library {

// Registry references made by open().
struct Refs {
  int frozen_globals = LUA_NOREF;
  int trusted_globals = LUA_NOREF;
  int environment_metatable = LUA_NOREF;
  int fresh_upvalue = LUA_NOREF;  // a function(env) whose result's upvalue 1 is a new one holding env
};

// Sets the whole sandbox up; runs in protected mode (it allocates).
Refs open(lua_State* L);

void push_environment(lua_State* L);
void push_signal(lua_State* L, std::string_view kind);
bool is_signal(lua_State* L, int index);

}  // namespace library

}  // namespace sb::flows
