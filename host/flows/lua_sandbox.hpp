#pragma once
// One sandboxed Lua 5.4 state: the only way host code runs admins' Lua.
//
// What the sandbox gives code loaded with load_user():
//   - base (without dofile, loadfile, require; load() takes text chunks only
//     and gives them the sandbox environment unless one is passed;
//     collectgarbage only answers "count"; print() goes to the host log at
//     debug level), string (without string.dump), table, math, utf8,
//     coroutine. No io, os, package, debug.
//   - every library table is a read-only proxy shared by all runs of the
//     state (writing `string.upper = nil` raises an error), and the string
//     metatable is locked, so one flow cannot change what another sees.
//   - each environment made by new_environment() is a fresh table whose
//     __index is the frozen globals: a run's globals die with the run.
//
// Budgets (set with begin_budget(), cleared with end_budget()):
//   - instructions: a count hook every kHookInterval VM instructions adds to
//     a counter and raises "instruction budget exceeded (N instructions)"
//     once it passes the budget;
//   - wall clock: the same hook checks a steady-clock deadline and raises
//     "time budget exceeded (N ms)";
//   - memory: a custom allocator refuses to grow the state past its cap and
//     the allocation fails with Lua's memory error.
// Once a budget is exceeded the sandbox is "aborting": the sandboxed pcall
// and xpcall re-raise every error, so user code cannot swallow the abort.
// They also re-raise control signals (see push_signal()), which the runtime
// uses to stop a run at a wait.
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
  // Pushes the frozen globals table itself (read-only; what trusted code
  // loaded by load_trusted() sees as _ENV).
  void push_frozen_globals();

  // Compiles `source` (text only; binary chunks are refused) as a chunk named
  // `chunk_name` ("=node:send_text", "=flow:lead-capture") and pushes the
  // function. Its _ENV is the table at `env_index` (absolute or relative
  // index), or a new environment when env_index == 0. Throws
  // sb::Error(invalid_argument) with Lua's syntax message on a bad chunk.
  void load_user(std::string_view source, const std::string& chunk_name, int env_index = 0);
  // The same for the host's own Lua (the node library, the prelude): _ENV is
  // the frozen globals plus nothing else; the budgets still apply when it runs.
  void load_trusted(std::string_view source, const std::string& chunk_name);

  // Sets the _ENV upvalue of the function at `func_index` to the table at
  // `env_index` (for a cached compiled chunk reused by another run).
  void set_environment(int func_index, int env_index);

  // Starts a budget window: the instruction counter restarts at 0, the
  // deadline is now + wall, and the aborting flag is cleared.
  void begin_budget(uint64_t instructions, std::chrono::milliseconds wall);
  // No budget: code runs without instruction or time limits (the cap on
  // memory always holds).
  void end_budget();
  // Instructions counted in the current window (a multiple of kHookInterval).
  uint64_t instructions_used() const { return instructions_used_; }

  // Calls the function below `nargs` arguments on the stack, in protected
  // mode with a traceback handler. On ok leaves `nresults` results (or all
  // with LUA_MULTRET); on signal leaves the signal value on the stack (one
  // value; the caller pops it); on anything else leaves nothing. Never
  // throws and never lets a Lua error escape.
  CallResult call(int nargs, int nresults);

  // Pushes a new control signal: a table with the given `kind` in field
  // "signal" plus whatever fields the caller then sets on it. Raising it
  // (lua_error, or error(sig) from Lua via the registered prelude helper)
  // unwinds through every sandboxed pcall to call(), which reports
  // CallStatus::signal. Lua code gets the same through `__sb_signal(kind, t)`
  // in the frozen globals of trusted code only.
  void push_signal(std::string_view kind);
  static bool is_signal(lua_State* L, int index);

  // Bytes the state has allocated right now, and its cap.
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
  static void* allocate(void* ud, void* ptr, size_t old_size, size_t new_size);
  static void count_hook(lua_State* L, lua_Debug* ar);
  void open_safe_libraries();

  lua_State* L_ = nullptr;
  size_t memory_cap_;
  size_t memory_used_ = 0;
  bool memory_exceeded_ = false;  // an allocation was refused in this window
  enum class Abort { none, instructions, memory, timeout };
  Abort aborting_ = Abort::none;
  bool budget_active_ = false;
  uint64_t instruction_budget_ = 0;
  uint64_t instructions_used_ = 0;
  std::chrono::steady_clock::time_point deadline_{};
  std::chrono::milliseconds wall_budget_{0};
  int frozen_globals_ref_ = LUA_NOREF;
  int environment_mt_ref_ = LUA_NOREF;
  friend struct SandboxAccess;
};

}  // namespace sb::flows
