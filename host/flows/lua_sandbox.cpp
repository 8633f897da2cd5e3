// The sandboxed state: the capped allocator, the budget hook, call() and the
// construction of the frozen globals (the library replacements themselves
// are in lua_sandbox_library.cpp).
//
// Lua is built as C here, so its errors are longjmps: no function below keeps
// a C++ object with a destructor alive across a Lua API call that can raise.
#include "flows/lua_sandbox.hpp"

#include "core/error.hpp"
#include "flows/lua_json.hpp"
#include "flows/lua_sandbox_library.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sb::flows {

namespace {

using Clock = std::chrono::steady_clock;

// A wall budget past this is "no deadline" (now + wall would overflow).
constexpr auto kLongestWall = std::chrono::hours(24 * 365);

}  // namespace

LuaSandbox::LuaSandbox(size_t memory_cap_bytes) : memory_cap_(memory_cap_bytes) {
  lua_State* L = lua_newstate(&LuaSandbox::allocate, this);
  if (!L) {
    throw Error(ErrorCode::invalid_argument,
                "a Lua state does not fit in a memory cap of " + std::to_string(memory_cap_bytes) + " bytes");
  }
  *static_cast<LuaSandbox**>(lua_getextraspace(L)) = this;
  lua_atpanic(L, &LuaSandbox::panic);
  L_ = L;
  lua_pushcfunction(L, &LuaSandbox::setup);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    const char* why = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "unknown error";
    std::string message = std::string("the Lua sandbox could not be set up within a memory cap of ") +
                          std::to_string(memory_cap_bytes) + " bytes: " + why;
    lua_close(L);
    L_ = nullptr;
    throw Error(ErrorCode::invalid_argument, message);
  }
  // New threads (coroutines) inherit the hook and the extra space.
  lua_sethook(L, &LuaSandbox::count_hook, LUA_MASKCOUNT, kHookInterval);
  memory_exceeded_ = false;
  refusal_.pending = false;
}

LuaSandbox::~LuaSandbox() {
  if (L_) lua_close(L_);
}

LuaSandbox& LuaSandbox::of(lua_State* L) { return **static_cast<LuaSandbox**>(lua_getextraspace(L)); }

// --- memory -----------------------------------------------------------------

void* LuaSandbox::allocate(void* ud, void* ptr, size_t old_size, size_t new_size) {
  auto* self = static_cast<LuaSandbox*>(ud);
  if (new_size == 0) {
    if (ptr) {
      std::free(ptr);
      self->memory_used_ -= old_size;
    }
    return nullptr;
  }
  // For a new block Lua passes the object's type in old_size, not a size.
  const size_t old_block = ptr ? old_size : 0;
  const bool grows = new_size > old_block;
  if (grows && new_size - old_block > self->memory_cap_ - self->memory_used_) {
    self->refuse_allocation(ptr, old_size, new_size);
    return nullptr;
  }
  void* block = std::realloc(ptr, new_size);
  if (!block) {
    self->refuse_allocation(ptr, old_size, new_size);
    return nullptr;
  }
  self->memory_used_ = self->memory_used_ - old_block + new_size;
  if (grows && self->refusal_.pending) {
    Refusal& r = self->refusal_;
    if (r.ptr == ptr && r.old_size == old_size && r.new_size == new_size) {
      // Lua's emergency collection made room: the refusal did not count.
      self->memory_exceeded_ = r.memory_exceeded_before;
      self->aborting_ = r.aborting_before;
    }
    r.pending = false;
  }
  return block;
}

void LuaSandbox::refuse_allocation(void* ptr, size_t old_size, size_t new_size) {
  Refusal& r = refusal_;
  if (r.pending && r.ptr == ptr && r.old_size == old_size && r.new_size == new_size) {
    r.pending = false;  // the retry after the emergency collection failed too: final
  } else {
    r = Refusal{ptr, old_size, new_size, aborting_, memory_exceeded_, true};
  }
  memory_exceeded_ = true;
  if (budget_active_ && aborting_ == Abort::none) aborting_ = Abort::memory;
}

std::string LuaSandbox::memory_message() const {
  char buffer[96];
  format_memory_message(buffer, sizeof buffer);
  return buffer;
}

void LuaSandbox::format_memory_message(char* buffer, size_t size) const {
  constexpr size_t kMiB = size_t{1} << 20;
  if (memory_cap_ % kMiB == 0) {
    std::snprintf(buffer, size, "memory limit exceeded (%zu MiB)", memory_cap_ / kMiB);
  } else {
    std::snprintf(buffer, size, "memory limit exceeded (%.1f MiB)", static_cast<double>(memory_cap_) / kMiB);
  }
}

void LuaSandbox::collect() { lua_gc(L_, LUA_GCCOLLECT, 0); }

// Only reached by a Lua error outside any protected call: host code pushing
// values (push_json, new_environment) when the cap is hit. Throwing beats
// Lua's abort(); the C frames of Lua in between have unwind tables.
int LuaSandbox::panic(lua_State* L) {
  LuaSandbox& self = of(L);
  std::string message;
  if (self.memory_exceeded_) {
    message = self.memory_message();
  } else {
    message = "Lua error outside a protected call: ";
    message += lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(not a string)";
  }
  throw Error(ErrorCode::internal, message);
}

// --- budgets ----------------------------------------------------------------

void LuaSandbox::begin_budget(uint64_t instructions, std::chrono::milliseconds wall) {
  instruction_budget_ = instructions;
  instructions_used_ = 0;
  wall_budget_ = wall;
  deadline_ = wall > kLongestWall ? Clock::time_point::max() : Clock::now() + wall;
  aborting_ = Abort::none;
  memory_exceeded_ = false;
  refusal_.pending = false;
  budget_active_ = true;
  // Restarts the main thread's count so the window starts on a full interval.
  lua_sethook(L_, &LuaSandbox::count_hook, LUA_MASKCOUNT, kHookInterval);
}

void LuaSandbox::end_budget() {
  budget_active_ = false;
  aborting_ = Abort::none;
}

// Runs every kHookInterval instructions in every thread of the state, so it
// is kept to a load, an add, two compares and a vDSO clock read.
void LuaSandbox::count_hook(lua_State* L, lua_Debug*) {
  LuaSandbox& self = of(L);
  if (!self.budget_active_) return;
  self.instructions_used_ += kHookInterval;
  if (self.aborting_ == Abort::none) {
    if (self.instructions_used_ > self.instruction_budget_) {
      self.aborting_ = Abort::instructions;
    } else if (Clock::now() >= self.deadline_) {
      self.aborting_ = Abort::timeout;
    } else {
      return;
    }
  }
  // Also raised again while aborting: code that caught the first error in a
  // __close handler does not get to run on.
  self.push_abort_message(L);
  lua_error(L);
}

void LuaSandbox::push_abort_message(lua_State* L) const {
  switch (aborting_) {
    case Abort::instructions:
      lua_pushfstring(L, "instruction budget exceeded (%I instructions)",
                      static_cast<LUAI_UACINT>(instruction_budget_));
      return;
    case Abort::timeout:
      lua_pushfstring(L, "time budget exceeded (%I ms)", static_cast<LUAI_UACINT>(wall_budget_.count()));
      return;
    case Abort::memory:
    case Abort::none: {
      char buffer[96];
      format_memory_message(buffer, sizeof buffer);
      lua_pushstring(L, buffer);
      return;
    }
  }
}

bool LuaSandbox::must_propagate(lua_State* L, int status, int error_index) {
  if (status == LUA_ERRMEM) {
    memory_exceeded_ = true;
    if (budget_active_ && aborting_ == Abort::none) aborting_ = Abort::memory;
  }
  return aborting_ != Abort::none || is_signal(L, error_index);
}

// --- calls ------------------------------------------------------------------

// Describes the error and appends the traceback where it was raised; leaves
// signals alone (they carry no message and need no traceback).
int LuaSandbox::message_handler(lua_State* L) {
  if (is_signal(L, 1)) return 1;
  LuaSandbox& self = of(L);
  const char* message = nullptr;
  if (self.aborting_ != Abort::none) {
    self.push_abort_message(L);
    message = lua_tostring(L, -1);
  } else {
    message = lua_tostring(L, 1);
    if (!message) {
      if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
        message = lua_tostring(L, -1);
      } else {
        message = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
      }
    }
  }
  const size_t message_length = std::strlen(message);
  luaL_traceback(L, L, message, 1);
  self.handled_ = lua_tostring(L, -1);
  self.handled_message_length_ = message_length;
  return 1;
}

CallResult LuaSandbox::call(int nargs, int nresults) {
  lua_State* L = L_;
  const int func = lua_gettop(L) - nargs;
  CallResult result;
  if (!lua_checkstack(L, 2)) {
    lua_settop(L, func - 1);
    result.status = CallStatus::error;
    result.message = "the Lua stack is full";
    return result;
  }
  lua_pushcfunction(L, &LuaSandbox::message_handler);
  lua_insert(L, func);
  handled_ = nullptr;
  const int status = lua_pcall(L, nargs, nresults, func);
  lua_remove(L, func);
  if (status == LUA_OK) return result;

  size_t length = 0;
  const char* text = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &length) : nullptr;
  const bool handled = text && text == handled_ && handled_message_length_ < length;
  if (aborting_ == Abort::instructions) {
    result.status = CallStatus::instructions;
    result.message = "instruction budget exceeded (" + std::to_string(instruction_budget_) + " instructions)";
  } else if (aborting_ == Abort::timeout) {
    result.status = CallStatus::timeout;
    result.message = "time budget exceeded (" + std::to_string(wall_budget_.count()) + " ms)";
  } else if (aborting_ == Abort::memory) {
    result.status = CallStatus::memory;
    result.message = memory_message();
  } else if (status != LUA_ERRMEM && is_signal(L, -1)) {
    result.status = CallStatus::signal;
    handled_ = nullptr;
    return result;
  } else if (status == LUA_ERRMEM) {
    result.status = CallStatus::memory;
    result.message = memory_message();
  } else {
    result.status = CallStatus::error;
    if (handled) {
      result.message.assign(text, handled_message_length_);
    } else if (text) {
      result.message.assign(text, length);
    } else {
      result.message = std::string("(error object is a ") + luaL_typename(L, -1) + " value)";
    }
  }
  if (handled) result.traceback.assign(text + handled_message_length_ + 1, length - handled_message_length_ - 1);
  handled_ = nullptr;
  lua_pop(L, 1);
  if (result.status == CallStatus::memory) lua_gc(L, LUA_GCCOLLECT, 0);
  return result;
}

// --- environments and chunks ------------------------------------------------

void LuaSandbox::new_environment() { library::push_environment(L_); }

void LuaSandbox::push_frozen_globals() { lua_rawgeti(L_, LUA_REGISTRYINDEX, frozen_globals_ref_); }

void LuaSandbox::push_trusted_globals() { lua_rawgeti(L_, LUA_REGISTRYINDEX, trusted_globals_ref_); }

namespace {

// Compiles a text chunk and pushes it; throws with Lua's message otherwise.
void load_text(lua_State* L, std::string_view source, const std::string& chunk_name, LuaSandbox& sandbox) {
  const int status = luaL_loadbufferx(L, source.data(), source.size(), chunk_name.c_str(), "t");
  if (status == LUA_OK) return;
  std::string message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "the chunk could not be compiled";
  lua_pop(L, 1);
  if (status == LUA_ERRMEM) {
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "%zu", sandbox.memory_cap() >> 20);
    message = "the chunk " + chunk_name + " does not fit in the memory limit (" + buffer + " MiB)";
  }
  throw Error(ErrorCode::invalid_argument, message);
}

}  // namespace

void LuaSandbox::load_user(std::string_view source, const std::string& chunk_name, int env_index) {
  const int env = env_index == 0 ? 0 : lua_absindex(L_, env_index);
  load_text(L_, source, chunk_name, *this);
  if (env != 0) {
    lua_pushvalue(L_, env);
  } else {
    new_environment();
  }
  if (!lua_setupvalue(L_, -2, 1)) lua_pop(L_, 1);
}

void LuaSandbox::load_trusted(std::string_view source, const std::string& chunk_name) {
  load_text(L_, source, chunk_name, *this);
  push_trusted_globals();
  if (!lua_setupvalue(L_, -2, 1)) lua_pop(L_, 1);
}

void LuaSandbox::set_environment(int func_index, int env_index) {
  lua_State* L = L_;
  const int func = lua_absindex(L, func_index);
  const int env = lua_absindex(L, env_index);
  // factory(env) returns a closure whose only upvalue is a fresh one holding
  // env; joining to it gives `func` that new upvalue. The budget is off for
  // these three instructions so an abort cannot fail a host call.
  lua_rawgeti(L, LUA_REGISTRYINDEX, fresh_upvalue_ref_);
  lua_pushvalue(L, env);
  const bool was_active = budget_active_;
  budget_active_ = false;
  const int status = lua_pcall(L, 1, 1, 0);
  budget_active_ = was_active;
  if (status != LUA_OK) {
    lua_pop(L, 1);
    throw Error(ErrorCode::internal, memory_message());
  }
  lua_upvaluejoin(L, func, 1, -1, 1);
  lua_pop(L, 1);
}

// --- signals ----------------------------------------------------------------

void LuaSandbox::push_signal(std::string_view kind) { push_signal(L_, kind); }

void LuaSandbox::push_signal(lua_State* L, std::string_view kind) { library::push_signal(L, kind); }

bool LuaSandbox::is_signal(lua_State* L, int index) { return library::is_signal(L, index); }

// --- construction -----------------------------------------------------------

int LuaSandbox::setup(lua_State* L) {
  LuaSandbox& self = of(L);
  const library::Refs refs = library::open(L);
  self.frozen_globals_ref_ = refs.frozen_globals;
  self.trusted_globals_ref_ = refs.trusted_globals;
  self.environment_mt_ref_ = refs.environment_metatable;
  self.fresh_upvalue_ref_ = refs.fresh_upvalue;
  return 0;
}

}  // namespace sb::flows
