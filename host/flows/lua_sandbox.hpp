#pragma once
// One sandboxed Lua 5.4 state: the only way host code runs admins' Lua.
//
// What the sandbox gives code loaded with load_user():
//   - base (without dofile, loadfile, require; load() takes text chunks only
//     (mode is always "t"; a reader function is read to the end first) and
//     gives them a new sandbox environment unless an env argument is passed;
//     collectgarbage only answers "count" (and "isrunning"), its other valid
//     options are ignored and return 0; setmetatable refuses metatables with
//     __gc; rawset refuses the read-only tables; print() goes to the host log
//     at debug level), string (without string.dump), table, math, utf8,
//     coroutine, and `json` (lua_json.hpp). No io, os, package, debug.
//   - every library table (and `json`, and _G) is a read-only proxy shared by
//     all runs of the state: writing `string.upper = nil` raises "attempt to
//     modify read-only table 'string'", pairs() walks the library, and
//     getmetatable() answers false. The string metatable is locked the same
//     way, so one flow cannot change what another sees.
//   - each environment made by new_environment() is a fresh table whose
//     metatable (shared, locked) reads missing names from the frozen globals:
//     a run's globals die with the run. `_G` there is the read-only frozen
//     globals, not the environment (use _ENV for that).
//
// Trusted code (load_trusted()) sees the "trusted globals": the frozen
// globals plus `__sb_signal(kind, fields)`, which raises a control signal
// (see push_signal()) and never returns. User code has no way to reach it.
//
// Budgets (set with begin_budget(), cleared with end_budget()):
//   - instructions: a count hook every kHookInterval VM instructions adds to
//     a counter and raises "instruction budget exceeded (N instructions)"
//     once it passes the budget;
//   - wall clock: the same hook checks a steady-clock deadline and raises
//     "time budget exceeded (N ms)";
//   - memory: a custom allocator refuses to grow the state past its cap (with
//     or without a budget) and the allocation fails with Lua's memory error;
//     call() reports it as "memory limit exceeded (N MiB)".
// Once a budget is exceeded the sandbox is "aborting" until the next
// begin_budget()/end_budget(): the sandboxed pcall, xpcall, coroutine.resume
// and coroutine.close re-raise every error (xpcall's handler is not called),
// and the hook raises again every kHookInterval instructions, so user code
// cannot swallow the abort. They also always re-raise control signals (see
// push_signal()), which the runtime uses to stop a run at a wait.
// Known gap: the hook only runs between VM instructions, so a single C call
// (a pathological string pattern on a long text) is not interrupted.
//
// Lua errors outside a protected call (a memory error in push_json() or
// new_environment() called from host code) throw sb::Error(internal) from
// the panic handler instead of aborting the process; the stack then holds
// unspecified extra values above what the caller pushed (lua_settop back).
// C functions called from Lua must never let a C++ exception escape (Lua's
// errors are longjmps over C frames): catch, leave the scope, then lua_error.
//
// Threads: a LuaSandbox belongs to one thread at a time (the runtime's pool
// hands each state to one worker).
#include <lua.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sb::flows {

inline constexpr int kHookInterval = 1000;  // VM instructions between hook calls

// How a protected call ended.
enum class CallStatus {
  ok,
  error,         // a Lua error (user error(), a runtime error)
  instructions,  // the instruction budget was exceeded
  memory,        // the memory cap was hit
  timeout,       // the wall-clock budget was exceeded
  signal,        // a control signal was raised (see push_signal)
};

struct CallResult {
  CallStatus status = CallStatus::ok;
  // For every status but ok and signal: what went wrong, in words an admin
  // understands ("[flow welcome, node n3] attempt to index a nil value
  // (field 'x')"), and the Lua traceback in `traceback`.
  std::string message;
  std::string traceback;
  bool ok() const { return status == CallStatus::ok; }
};

class LuaSandbox {
 public:
  // A state whose allocations may not exceed `memory_cap_bytes` in total.
  explicit LuaSandbox(size_t memory_cap_bytes = 64u << 20);
  ~LuaSandbox();
  LuaSandbox(const LuaSandbox&) = delete;
  LuaSandbox& operator=(const LuaSandbox&) = delete;

  lua_State* state() const { return L_; }

  // Pushes a new environment table for user code (see above).
  void new_environment();
  // Pushes the frozen globals table itself (read-only; what every
  // environment reads missing names from).
  void push_frozen_globals();
  // Pushes the trusted globals (read-only; _ENV of load_trusted() chunks):
  // the frozen globals plus __sb_signal.
  void push_trusted_globals();

  // Compiles `source` (text only; binary chunks are refused) as a chunk named
  // `chunk_name` ("=node:send_text", "=flow:lead-capture") and pushes the
  // function. Its _ENV is the table at `env_index` (absolute or relative
  // index), or a new environment when env_index == 0. Throws
  // sb::Error(invalid_argument) with Lua's syntax message on a bad chunk.
  void load_user(std::string_view source, const std::string& chunk_name, int env_index = 0);
  // The same for the host's own Lua (the node library, the prelude): _ENV is
  // the trusted globals; the budgets still apply when it runs.
  void load_trusted(std::string_view source, const std::string& chunk_name);

  // Gives the function at `func_index` a new _ENV upvalue holding the table
  // at `env_index` (for a cached compiled chunk reused by another run):
  // closures made by earlier runs of the chunk keep the environment they had.
  void set_environment(int func_index, int env_index);

  // Starts a budget window: the instruction counter restarts at 0, the
  // deadline is now + wall, and the aborting and memory flags are cleared.
  // The numbers are taken literally (0 instructions aborts at the first hook).
  void begin_budget(uint64_t instructions, std::chrono::milliseconds wall);
  // No budget: code runs without instruction or time limits (the cap on
  // memory always holds, but a memory error can then be caught by pcall).
  // Clears the aborting flag.
  void end_budget();
  // Instructions counted in the current window (a multiple of kHookInterval).
  uint64_t instructions_used() const { return instructions_used_; }

  // Calls the function below `nargs` arguments on the stack, in protected
  // mode with a traceback handler. On ok leaves `nresults` results (or all
  // with LUA_MULTRET); on signal leaves the signal value on the stack (one
  // value; the caller pops it); on anything else leaves nothing. Never
  // throws and never lets a Lua error escape. The status is decided in this
  // order: an abort of the current budget window (instructions, timeout,
  // memory), a signal, Lua's memory error (memory), any other error (error).
  // `message` is the error without the traceback (several lines if the
  // error had several; non-string errors are described by __tostring or as
  // "(error object is a table value)"); `traceback` starts at "stack
  // traceback:" (empty for memory errors, which Lua raises without calling
  // the handler). A memory abort is followed by a full collection. No
  // allocation happens on the ok path.
  CallResult call(int nargs, int nresults);

  // Pushes a new control signal: a table with the given `kind` in field
  // "signal" plus whatever fields the caller then sets on it (its metatable
  // is the registry's signal metatable, locked). Raising it (lua_error)
  // unwinds through every sandboxed pcall, xpcall and coroutine.resume to
  // call(), which reports CallStatus::signal. Trusted Lua code raises one
  // with `__sb_signal(kind, fields)`: a copy of `fields` (raw pairs) with
  // signal = kind. Caveat: a user __close handler still sees the signal
  // passing by and could keep it and raise it again later, so treat a
  // signal's fields as a claim to check against the run's own state.
  void push_signal(std::string_view kind);
  // The same on any thread of the state (from a C function running in a
  // coroutine, use the lua_State* it was given).
  static void push_signal(lua_State* L, std::string_view kind);
  // True when the value at `index` is a signal. Never allocates or raises.
  static bool is_signal(lua_State* L, int index);

  // Bytes the state has allocated right now, and its cap (which includes the
  // state itself: about 20 KiB with the libraries).
  size_t memory_used() const { return memory_used_; }
  size_t memory_cap() const { return memory_cap_; }
  // A full garbage collection.
  void collect();

  // The LuaSandbox that owns `L` (stored in the state's extra space).
  static LuaSandbox& of(lua_State* L);

  // A slot the runtime uses to find its per-run context from C functions
  // called by Lua (not touched by the sandbox itself).
  void* user_data = nullptr;

 private:
  enum class Abort { none, instructions, memory, timeout };

  static void* allocate(void* ud, void* ptr, size_t old_size, size_t new_size);
  static void count_hook(lua_State* L, lua_Debug* ar);
  static int panic(lua_State* L);
  static int message_handler(lua_State* L);
  static int setup(lua_State* L);
  void refuse_allocation(void* ptr, size_t old_size, size_t new_size);
  // True (and the abort recorded) when the error of a caught `status` must
  // go on unwinding: aborting, a signal, or a memory error in a budget.
  bool must_propagate(lua_State* L, int status, int error_index);
  void push_abort_message(lua_State* L) const;
  std::string memory_message() const;
  void format_memory_message(char* buffer, size_t size) const;

  lua_State* L_ = nullptr;
  size_t memory_cap_;
  size_t memory_used_ = 0;
  bool memory_exceeded_ = false;  // an allocation was refused in this window
  // Lua retries a refused allocation once after an emergency collection; the
  // first refusal is undone when that retry succeeds.
  struct Refusal {
    void* ptr = nullptr;
    size_t old_size = 0, new_size = 0;
    Abort aborting_before = Abort::none;
    bool memory_exceeded_before = false;
    bool pending = false;
  } refusal_;
  Abort aborting_ = Abort::none;
  bool budget_active_ = false;
  uint64_t instruction_budget_ = 0;
  uint64_t instructions_used_ = 0;
  std::chrono::steady_clock::time_point deadline_{};
  std::chrono::milliseconds wall_budget_{0};
  int frozen_globals_ref_ = LUA_NOREF;
  int trusted_globals_ref_ = LUA_NOREF;
  int environment_mt_ref_ = LUA_NOREF;
  int fresh_upvalue_ref_ = LUA_NOREF;  // function(env) return function() return env end end
  // The string the message handler last returned, and where its traceback
  // starts, so call() can split it without searching.
  const char* handled_ = nullptr;
  size_t handled_message_length_ = 0;
  friend struct SandboxAccess;
};

}  // namespace sb::flows
