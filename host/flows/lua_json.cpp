// JSON <-> Lua. Both directions walk the value once; the Lua side never
// converts numbers to strings in place, and push_json() keeps no C++ object
// with a destructor in its frames, because a memory error inside it is a
// longjmp when it runs under Lua.
#include "flows/lua_json.hpp"

#include "core/error.hpp"
#include "core/utf8.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <string_view>

namespace sb::flows {

namespace {

using json = nlohmann::json;

// Addresses used as registry keys and as the null value itself.
const char kNullTag = 0;
const char kArrayMetatableKey = 0;

// A marked array may have holes, but not so many that a few keys turn into
// millions of nulls.
constexpr lua_Integer kMaxArrayHoles = 1024;

bool has_array_metatable(lua_State* L, int index) {
  if (!lua_getmetatable(L, index)) return false;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kArrayMetatableKey);
  const bool marked = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return marked;
}

// One scan of a table's keys: how many there are, the largest positive
// integer key, and whether every key is a positive integer.
struct KeyScan {
  lua_Integer count = 0;
  lua_Integer max_index = 0;
  bool only_indices = true;
};

// Stops at the first key that is not a positive integer unless `full`.
KeyScan scan_keys(lua_State* L, int index, bool full) {
  KeyScan scan;
  lua_pushnil(L);
  while (lua_next(L, index)) {
    lua_pop(L, 1);
    ++scan.count;
    if (lua_isinteger(L, -1)) {
      const lua_Integer k = lua_tointeger(L, -1);
      if (k >= 1) {
        scan.max_index = std::max(scan.max_index, k);
        continue;
      }
    }
    scan.only_indices = false;
    if (!full) {
      lua_pop(L, 1);
      break;
    }
  }
  return scan;
}

bool is_plain_array(const KeyScan& scan) {
  return scan.only_indices && scan.count > 0 && scan.max_index == scan.count;
}

bool is_identifier(const char* s, size_t n) {
  if (n == 0 || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (size_t i = 1; i < n; ++i) {
    if (!(std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) return false;
  }
  return true;
}

std::string format_number_key(lua_Number n) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.14g", static_cast<double>(n));
  return buffer;
}

// Converts one Lua value, keeping the path to it as pointers into strings
// that stay on the Lua stack, so that the path costs nothing unless an
// error needs it.
class ToJson {
 public:
  ToJson(lua_State* L, const std::string& root) : L_(L), root_(root) {}

  void convert(int index, json& out) {
    switch (lua_type(L_, index)) {
      case LUA_TNIL:
        out = nullptr;
        return;
      case LUA_TBOOLEAN:
        out = static_cast<bool>(lua_toboolean(L_, index));
        return;
      case LUA_TNUMBER:
        if (lua_isinteger(L_, index)) {
          out = static_cast<int64_t>(lua_tointeger(L_, index));
        } else {
          const double d = static_cast<double>(lua_tonumber(L_, index));
          if (std::isnan(d)) fail("NaN cannot be stored as JSON");
          if (std::isinf(d)) fail("an infinite number cannot be stored as JSON");
          out = d;
        }
        return;
      case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L_, index, &len);
        if (!is_valid_utf8(std::string_view(s, len))) fail("a string that is not valid UTF-8 cannot be stored as JSON");
        out = std::string(s, len);
        return;
      }
      case LUA_TTABLE:
        convert_table(index, out);
        return;
      case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L_, index) == &kNullTag) {
          out = nullptr;
          return;
        }
        fail("a userdata value cannot be stored as JSON");
      case LUA_TFUNCTION:
        fail("a function cannot be stored as JSON");
      case LUA_TTHREAD:
        fail("a coroutine cannot be stored as JSON");
      default:
        fail(std::string("a ") + luaL_typename(L_, index) + " value cannot be stored as JSON");
    }
  }

 private:
  struct Part {
    enum class Kind { name, index, number } kind;
    const char* name;
    size_t length;
    lua_Integer index;
    lua_Number number;
  };

  void convert_table(int index, json& out) {
    const void* self = lua_topointer(L_, index);
    for (int i = 0; i < depth_; ++i) {
      if (tables_[i] == self) fail("a table that contains itself cannot be stored as JSON");
    }
    if (depth_ >= kMaxJsonDepth) {
      fail("nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels cannot be stored as JSON");
    }
    if (!lua_checkstack(L_, 4)) fail("the value is nested too deeply");
    tables_[depth_++] = self;

    const bool marked = has_array_metatable(L_, index);
    const KeyScan scan = scan_keys(L_, index, marked);
    if (marked) {
      if (!scan.only_indices) fail_on_key(index);
      if (scan.max_index > 2 * scan.count + kMaxArrayHoles) {
        fail("an array with holes up to index " + std::to_string(scan.max_index) +
             " but only " + std::to_string(scan.count) + " values cannot be stored as JSON");
      }
      convert_array(index, scan.max_index, out);
    } else if (is_plain_array(scan)) {
      convert_array(index, scan.count, out);
    } else {
      convert_object(index, out);
    }
    --depth_;
  }

  void convert_array(int index, lua_Integer length, json& out) {
    out = json::array();
    auto& items = out.get_ref<json::array_t&>();
    items.resize(static_cast<size_t>(length));
    for (lua_Integer i = 1; i <= length; ++i) {
      if (lua_rawgeti(L_, index, i) != LUA_TNIL) {
        parts_[path_length_++] = Part{Part::Kind::index, nullptr, 0, i, 0};
        convert(lua_gettop(L_), items[static_cast<size_t>(i - 1)]);
        --path_length_;
      }
      lua_pop(L_, 1);
    }
  }

  void convert_object(int index, json& out) {
    out = json::object();
    auto& members = out.get_ref<json::object_t&>();
    lua_pushnil(L_);
    while (lua_next(L_, index)) {
      const int key = lua_gettop(L_) - 1;
      json* slot = nullptr;
      switch (lua_type(L_, key)) {
        case LUA_TSTRING: {
          size_t len = 0;
          const char* s = lua_tolstring(L_, key, &len);
          parts_[path_length_++] = Part{Part::Kind::name, s, len, 0, 0};
          if (!is_valid_utf8(std::string_view(s, len))) fail("a key that is not valid UTF-8 cannot be stored as JSON");
          slot = &members[std::string(s, len)];
          break;
        }
        case LUA_TNUMBER:
          if (lua_isinteger(L_, key)) {
            const lua_Integer k = lua_tointeger(L_, key);
            parts_[path_length_++] = Part{Part::Kind::index, nullptr, 0, k, 0};
            slot = &members[std::to_string(k)];
          } else {
            const lua_Number k = lua_tonumber(L_, key);
            parts_[path_length_++] = Part{Part::Kind::number, nullptr, 0, 0, k};
            slot = &members[format_number_key(k)];
          }
          break;
        default:
          fail_on_key(index, key);
      }
      convert(lua_gettop(L_), *slot);
      --path_length_;
      lua_pop(L_, 1);
    }
  }

  // A key that JSON cannot hold; `key` is its stack index (0: find the
  // first key of the marked array at `table` that is not an index).
  [[noreturn]] void fail_on_key(int table, int key = 0) {
    if (key == 0) {
      lua_pushnil(L_);
      while (lua_next(L_, table)) {
        lua_pop(L_, 1);
        if (!(lua_isinteger(L_, -1) && lua_tointeger(L_, -1) >= 1)) break;
      }
      key = lua_gettop(L_);
      std::string what = "an array cannot have the key ";
      what += lua_type(L_, key) == LUA_TSTRING ? "'" + std::string(lua_tostring(L_, key)) + "'"
                                               : std::string("of type ") + luaL_typename(L_, key);
      fail(what + " (only 1, 2, 3, ...)");
    }
    fail(std::string("a key of type ") + luaL_typename(L_, key) + " cannot be stored as JSON");
  }

  [[noreturn]] void fail(const std::string& what) { throw Error(ErrorCode::invalid_argument, path() + ": " + what); }

  std::string path() const {
    std::string out = root_;
    for (int i = 0; i < path_length_; ++i) {
      const Part& part = parts_[i];
      switch (part.kind) {
        case Part::Kind::index:
          out += "[" + std::to_string(part.index) + "]";
          break;
        case Part::Kind::number:
          out += "[" + format_number_key(part.number) + "]";
          break;
        case Part::Kind::name:
          if (is_identifier(part.name, part.length)) {
            out += ".";
            out.append(part.name, part.length);
          } else {
            out += "[" + json(std::string(part.name, part.length)).dump(-1, ' ', false, json::error_handler_t::replace) + "]";
          }
          break;
      }
    }
    return out;
  }

  lua_State* L_;
  const std::string& root_;
  int depth_ = 0;
  const void* tables_[kMaxJsonDepth];
  int path_length_ = 0;
  Part parts_[kMaxJsonDepth + 1];
};

// Deepest nesting of [ and { in `text`, strings skipped; cheap enough to run
// before parsing so that a hostile document cannot nest without bound.
int nesting_depth(const char* text, size_t n) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// Copies an exception's message into a buffer that lives in the C function's
// frame, so that the Lua error can be raised after the C++ objects are gone.
void keep_message(char (&buffer)[512], const char* message) {
  std::snprintf(buffer, sizeof buffer, "%s", message);
}

int push_json_thunk(lua_State* L) {
  const auto* value = static_cast<const json*>(lua_touserdata(L, 1));
  lua_pop(L, 1);
  push_json(L, *value);
  return 1;
}

int push_string_thunk(lua_State* L) {
  const auto* text = static_cast<const std::string*>(lua_touserdata(L, 1));
  lua_pushlstring(L, text->data(), text->size());
  return 1;
}

// Runs `thunk(data)` in protected mode: a memory error while pushing lands
// here, where the caller can free its C++ objects before raising it again.
int push_protected(lua_State* L, lua_CFunction thunk, const void* data) {
  lua_pushcfunction(L, thunk);
  lua_pushlightuserdata(L, const_cast<void*>(data));
  return lua_pcall(L, 1, 1, 0);
}

int json_array(lua_State* L) {
  if (lua_isnoneornil(L, 1)) {
    lua_createtable(L, 0, 0);
    mark_array(L, -1);
    return 1;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  if (lua_getmetatable(L, 1)) {
    lua_pop(L, 1);
    if (!has_array_metatable(L, 1)) return luaL_error(L, "json.array: the table already has a metatable");
    return 1;
  }
  mark_array(L, 1);
  return 1;
}

int json_is_array(lua_State* L) {
  bool array = false;
  if (lua_type(L, 1) == LUA_TTABLE) {
    array = has_array_metatable(L, 1) || is_plain_array(scan_keys(L, 1, false));
  }
  lua_pushboolean(L, array);
  return 1;
}

int json_encode(lua_State* L) {
  luaL_checkany(L, 1);
  char message[512];
  bool failed = false;
  int status = LUA_OK;
  {
    std::string text;
    try {
      text = to_json(L, 1, "value").dump();
    } catch (const std::exception& e) {
      keep_message(message, e.what());
      failed = true;
    }
    if (!failed) status = push_protected(L, push_string_thunk, &text);
  }
  if (failed) return luaL_error(L, "json.encode: %s", message);
  if (status != LUA_OK) return lua_error(L);
  return 1;
}

int json_decode(lua_State* L) {
  size_t len = 0;
  const char* text = luaL_checklstring(L, 1, &len);
  if (nesting_depth(text, len) > kMaxJsonDepth) {
    return luaL_error(L, "json.decode: the document nests deeper than %d levels", kMaxJsonDepth);
  }
  char message[512];
  bool failed = false;
  int status = LUA_OK;
  {
    json value;
    try {
      value = json::parse(text, text + len);
    } catch (const std::exception& e) {
      // "[json.exception.parse_error.101] parse error at line 1, ..." without the tag.
      const char* what = e.what();
      const char* tag_end = std::strstr(what, "] ");
      keep_message(message, what[0] == '[' && tag_end ? tag_end + 2 : what);
      failed = true;
    }
    if (!failed) status = push_protected(L, push_json_thunk, &value);
  }
  if (failed) return luaL_error(L, "json.decode: %s", message);
  if (status != LUA_OK) return lua_error(L);
  return 1;
}

// tostring(json.null) is "null"; other light userdata (the host's own) keep
// Lua's usual description.
int light_userdata_tostring(lua_State* L) {
  const void* p = lua_touserdata(L, 1);
  if (p == &kNullTag) {
    lua_pushliteral(L, "null");
  } else {
    lua_pushfstring(L, "userdata: %p", p);
  }
  return 1;
}

}  // namespace

void open_json(lua_State* L) {
  // The array metatable: locked, so that no run can change what every
  // array of the state does.
  lua_createtable(L, 0, 2);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pushliteral(L, "json.array");
  lua_setfield(L, -2, "__name");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kArrayMetatableKey);

  // The metatable of every light userdata (only json.null reaches Lua code).
  push_null(L);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, light_userdata_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_pop(L, 1);

  static const luaL_Reg functions[] = {
      {"array", json_array},
      {"is_array", json_is_array},
      {"encode", json_encode},
      {"decode", json_decode},
      {nullptr, nullptr},
  };
  luaL_newlib(L, functions);
  push_null(L);
  lua_setfield(L, -2, "null");
}

void push_json(lua_State* L, const nlohmann::json& value) {
  switch (value.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      push_null(L);
      return;
    case json::value_t::boolean:
      lua_pushboolean(L, *value.get_ptr<const json::boolean_t*>());
      return;
    case json::value_t::number_integer:
      lua_pushinteger(L, static_cast<lua_Integer>(*value.get_ptr<const json::number_integer_t*>()));
      return;
    case json::value_t::number_unsigned: {
      const auto n = *value.get_ptr<const json::number_unsigned_t*>();
      if (n <= static_cast<json::number_unsigned_t>(std::numeric_limits<lua_Integer>::max())) {
        lua_pushinteger(L, static_cast<lua_Integer>(n));
      } else {
        lua_pushnumber(L, static_cast<lua_Number>(n));
      }
      return;
    }
    case json::value_t::number_float:
      lua_pushnumber(L, static_cast<lua_Number>(*value.get_ptr<const json::number_float_t*>()));
      return;
    case json::value_t::string: {
      const auto& s = *value.get_ptr<const json::string_t*>();
      lua_pushlstring(L, s.data(), s.size());
      return;
    }
    case json::value_t::binary: {
      const auto& bytes = *value.get_ptr<const json::binary_t*>();
      lua_pushlstring(L, reinterpret_cast<const char*>(bytes.data()), bytes.size());
      return;
    }
    case json::value_t::array: {
      const auto& items = *value.get_ptr<const json::array_t*>();
      luaL_checkstack(L, 3, "JSON value nested too deeply");
      lua_createtable(L, static_cast<int>(std::min<size_t>(items.size(), INT32_MAX)), 0);
      lua_Integer i = 0;
      for (const auto& item : items) {
        push_json(L, item);
        lua_rawseti(L, -2, ++i);
      }
      mark_array(L, -1);
      return;
    }
    case json::value_t::object: {
      const auto& members = *value.get_ptr<const json::object_t*>();
      luaL_checkstack(L, 3, "JSON value nested too deeply");
      lua_createtable(L, 0, static_cast<int>(std::min<size_t>(members.size(), INT32_MAX)));
      for (const auto& member : members) {
        lua_pushlstring(L, member.first.data(), member.first.size());
        push_json(L, member.second);
        lua_rawset(L, -3);
      }
      return;
    }
  }
  push_null(L);
}

nlohmann::json to_json(lua_State* L, int index, const std::string& path) {
  const int top = lua_gettop(L);
  const int absolute = lua_absindex(L, index);
  nlohmann::json out;
  try {
    ToJson(L, path).convert(absolute, out);
  } catch (...) {
    lua_settop(L, top);
    throw;
  }
  return out;
}

void push_null(lua_State* L) { lua_pushlightuserdata(L, const_cast<char*>(&kNullTag)); }

bool is_null(lua_State* L, int index) {
  return lua_type(L, index) == LUA_TLIGHTUSERDATA && lua_touserdata(L, index) == &kNullTag;
}

void mark_array(lua_State* L, int index) {
  const int table = lua_absindex(L, index);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kArrayMetatableKey);
  lua_setmetatable(L, table);
}

}  // namespace sb::flows
