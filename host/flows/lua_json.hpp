#pragma once
// JSON <-> Lua values, so that JSON survives a trip through Lua unchanged:
//   - JSON null is a unique light userdata, `json.null` (never Lua nil, which
//     would delete the key);
//   - JSON arrays become tables carrying the shared array metatable, so an
//     empty array stays an array; json.array(t) marks a Lua table as one;
//   - objects become plain tables.
// Lua -> JSON: a table with the array metatable is an array (holes become
// null); a plain table whose keys are exactly 1..n (n >= 1) is an array;
// any other table is an object (integer keys become their decimal strings);
// the empty plain table is an object. Integers stay integers, floats stay
// floats. Functions, userdata other than json.null, threads, NaN and
// infinities, cycles and nesting deeper than kMaxJsonDepth are refused with
// sb::Error(invalid_argument) naming the path ("vars.items[2]: a function
// cannot be stored as JSON").
#include <lua.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace sb::flows {

inline constexpr int kMaxJsonDepth = 64;

// Creates the null sentinel and the array metatable in the state's registry
// and the global-free table `json` {null, array(t), is_array(t), encode(v),
// decode(s)} left on the stack. Call once per state (LuaSandbox does).
void open_json(lua_State* L);

void push_json(lua_State* L, const nlohmann::json& value);
// `path` names the value in error messages ("vars").
nlohmann::json to_json(lua_State* L, int index, const std::string& path = "value");

void push_null(lua_State* L);
bool is_null(lua_State* L, int index);
// Sets the array metatable on the table at `index`.
void mark_array(lua_State* L, int index);

}  // namespace sb::flows
