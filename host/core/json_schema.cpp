#include "core/json_schema.hpp"

#include "core/error.hpp"

// Without this valijson prints and calls abort() on a schema it cannot use;
// this is the only file that includes valijson, so the choice is the host's.
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace sb {

struct JsonSchema::Compiled {
  nlohmann::json document;
  valijson::Schema schema;
};

namespace {

std::string_view strip_prefix(std::string_view text, std::string_view prefix) {
  return text.substr(prefix.size());
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// valijson names a location as {"<root>", "[nodes]", "[2]", ...}.
std::string pointer_of(const std::vector<std::string>& context) {
  std::string pointer;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    std::string_view token = part;
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') token = token.substr(1, token.size() - 2);
    pointer += "/" + json_pointer_token(token);
  }
  return pointer;
}

// valijson reports a failing child twice: once for what is wrong and once
// more per enclosing array item, property or schema combinator. Only the
// first says anything a user can act on.
bool is_wrapper(std::string_view message) {
  static constexpr std::string_view kWrappers[] = {
      "Failed to validate item #",
      "Failed to validate against schema associated with",
      "Failed to validate against additional properties schema",
      "Failed to validate against child schema #",
      "Failed to validate against dependent schema",
      "Failed to validate against a conditional schema",
  };
  return std::any_of(std::begin(kWrappers), std::end(kWrappers),
                     [&](std::string_view w) { return starts_with(message, w); });
}

constexpr std::string_view kMissingPrefix = "Missing required property '";
constexpr std::string_view kUnknownPrefix =
    "Object contains a property that could not be validated using 'properties' or 'additionalProperties' "
    "constraints: '";

// The quoted name at the end of "...: 'name'." messages.
std::string quoted_tail(std::string_view message, std::string_view prefix) {
  std::string_view rest = strip_prefix(message, prefix);
  if (rest.size() >= 2 && rest.substr(rest.size() - 2) == "'.") rest.remove_suffix(2);
  return std::string(rest);
}

const nlohmann::json* find_pointer(const nlohmann::json& root, const std::string& pointer) {
  try {
    return &root.at(nlohmann::json::json_pointer(pointer));
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}

const nlohmann::json* resolve_ref(const nlohmann::json& root, const nlohmann::json* schema) {
  for (int hops = 0; schema && schema->is_object() && hops < 16; ++hops) {
    auto ref = schema->find("$ref");
    if (ref == schema->end() || !ref->is_string()) return schema;
    const std::string target = ref->get<std::string>();
    if (!starts_with(target, "#")) return nullptr;
    schema = find_pointer(root, target.substr(1));
  }
  return schema && schema->is_object() ? schema : nullptr;
}

bool is_array_index(const std::string& token) {
  return !token.empty() && token.size() < 10 &&
         std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The subschema that governs the value at `pointer`, when plain
// "properties" / "additionalProperties" / "items" lead there; nullptr when
// combinators or patterns are involved (messages then stay generic).
const nlohmann::json* schema_at(const nlohmann::json& root, const std::string& pointer) {
  const nlohmann::json* schema = resolve_ref(root, &root);
  std::vector<std::string> tokens;
  {
    nlohmann::json::json_pointer p(pointer);
    while (!p.empty()) {
      tokens.insert(tokens.begin(), p.back());
      p.pop_back();
    }
  }
  for (const auto& token : tokens) {
    if (!schema) return nullptr;
    const nlohmann::json* next = nullptr;
    if (auto props = schema->find("properties"); props != schema->end() && props->contains(token)) {
      next = &(*props)[token];
    } else if (auto items = schema->find("items"); items != schema->end()) {
      if (items->is_object()) {
        next = &*items;
      } else if (items->is_array() && is_array_index(token) && std::stoul(token) < items->size()) {
        next = &(*items)[std::stoul(token)];
      }
    } else if (auto extra = schema->find("additionalProperties"); extra != schema->end() && extra->is_object()) {
      next = &*extra;
    }
    schema = resolve_ref(root, next);
  }
  return schema;
}

std::string describe_type(const std::string& schema_type) {
  if (schema_type == "null") return "null";
  if (schema_type == "integer" || schema_type == "object" || schema_type == "array") return "an " + schema_type;
  return "a " + schema_type;
}

std::string describe_value_type(const nlohmann::json& value) {
  if (value.is_number_integer()) return "an integer";
  if (value.is_number()) return "a number";
  return describe_type(value.type_name());
}

bool has_type(const nlohmann::json& value, const std::string& schema_type) {
  if (schema_type == "integer") return value.is_number_integer();
  if (schema_type == "number") return value.is_number();
  return schema_type == value.type_name();
}

std::string number_text(const nlohmann::json& n) { return n.dump(); }

// valijson's messages, said the way a user reads them where the schema and
// the value are at hand; anything else is kept with its first letter lowered.
std::string friendly_message(const std::string& message, const nlohmann::json& root_schema,
                             const nlohmann::json& value, const std::string& pointer) {
  const nlohmann::json* schema = schema_at(root_schema, pointer);
  const nlohmann::json* actual = find_pointer(value, pointer);
  auto keyword = [&](const char* key) -> const nlohmann::json* {
    if (!schema) return nullptr;
    auto it = schema->find(key);
    return it == schema->end() ? nullptr : &*it;
  };
  if (message == "Value type not permitted by 'type' constraint." && actual) {
    if (const auto* type = keyword("type")) {
      std::vector<std::string> types;
      if (type->is_string()) types.push_back(type->get<std::string>());
      if (type->is_array()) {
        for (const auto& t : *type) {
          if (t.is_string()) types.push_back(t.get<std::string>());
        }
      }
      const bool fits = std::any_of(types.begin(), types.end(), [&](const auto& t) { return has_type(*actual, t); });
      if (!types.empty() && !fits) {
        std::string expected;
        for (size_t i = 0; i < types.size(); ++i) {
          expected += (i == 0 ? "" : (i + 1 == types.size() ? " or " : ", ")) + describe_type(types[i]);
        }
        return "must be " + expected + " (it is " + describe_value_type(*actual) + ")";
      }
    }
    return "has the wrong type (it is " + describe_value_type(*actual) + ")";
  }
  if (message == "Failed to match expected value set by 'const' constraint.") {
    if (const auto* c = keyword("const")) return "must be " + c->dump();
  }
  if (message == "Failed to match against any enum values.") {
    if (const auto* e = keyword("enum"); e && e->is_array()) {
      std::string list;
      for (const auto& v : *e) list += (list.empty() ? "" : ", ") + v.dump();
      return "must be one of " + list;
    }
  }
  if (message == "Failed to match regex specified by 'pattern' constraint.") {
    if (const auto* p = keyword("pattern"); p && p->is_string()) {
      return "does not match the pattern " + p->get<std::string>();
    }
  }
  if (starts_with(message, "String should be no fewer than")) {
    if (const auto* n = keyword("minLength")) {
      return n->get<int64_t>() == 1 ? "must not be empty" : "must be at least " + number_text(*n) + " characters long";
    }
  }
  if (starts_with(message, "String should be no more than")) {
    if (const auto* n = keyword("maxLength")) return "must be at most " + number_text(*n) + " characters long";
  }
  if (starts_with(message, "Array should contain no fewer than")) {
    if (const auto* n = keyword("minItems")) {
      return n->get<int64_t>() == 1 ? "must not be empty" : "must have at least " + number_text(*n) + " items";
    }
  }
  if (starts_with(message, "Array should contain no more than")) {
    if (const auto* n = keyword("maxItems")) return "must have at most " + number_text(*n) + " items";
  }
  if (starts_with(message, "Expected number greater than or equal to")) {
    if (const auto* n = keyword("minimum")) return "must be at least " + number_text(*n);
  }
  if (starts_with(message, "Expected number less than or equal to")) {
    if (const auto* n = keyword("maximum")) return "must be at most " + number_text(*n);
  }
  std::string text = message;
  if (!text.empty() && text.back() == '.') text.pop_back();
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

struct RawViolation {
  std::string pointer;  // of the value the message is about
  std::string message;  // valijson's
};

std::vector<RawViolation> run_validator(const valijson::Schema& schema, const nlohmann::json& value) {
  // A Validator caches the regexes it compiles; one per call keeps
  // validate() free of shared mutable state.
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(value);
  std::vector<RawViolation> out;
  if (!validator.validate(schema, target, &results)) {
    valijson::ValidationResults::Error error;
    while (results.popError(error)) out.push_back({pointer_of(error.context), error.description});
  }
  return out;
}

}  // namespace

JsonSchema::JsonSchema(const nlohmann::json& schema) {
  auto compiled = std::make_shared<Compiled>();
  compiled->document = schema;
  try {
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(compiled->document);
    parser.populateSchema(adapter, compiled->schema);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::invalid_argument, std::string("not a usable JSON Schema: ") + e.what());
  }
  compiled_ = std::move(compiled);
}

const nlohmann::json& JsonSchema::document() const { return compiled_->document; }

std::vector<SchemaViolation> JsonSchema::validate(const nlohmann::json& value) const {
  std::vector<RawViolation> raw = run_validator(compiled_->schema, value);

  // valijson names only the first unknown property of an object; drop the
  // ones found and look again until every one is named.
  nlohmann::json pruned;
  std::set<std::pair<std::string, std::string>> unknown_seen;
  for (std::vector<RawViolation> pass = raw; unknown_seen.size() < 1000;) {
    std::vector<std::pair<std::string, std::string>> found;
    for (const auto& v : pass) {
      if (!starts_with(v.message, kUnknownPrefix)) continue;
      auto key = std::make_pair(v.pointer, quoted_tail(v.message, kUnknownPrefix));
      if (unknown_seen.insert(key).second) found.push_back(key);
    }
    if (found.empty()) break;
    if (pruned.is_null()) pruned = value;
    for (const auto& [object_pointer, name] : found) {
      try {
        auto& object = pruned.at(nlohmann::json::json_pointer(object_pointer));
        if (object.is_object()) object.erase(name);
      } catch (const nlohmann::json::exception&) {
      }
    }
    pass = run_validator(compiled_->schema, pruned);
    for (const auto& v : pass) {
      if (starts_with(v.message, kUnknownPrefix) &&
          !unknown_seen.count({v.pointer, quoted_tail(v.message, kUnknownPrefix)})) {
        raw.push_back(v);
      }
    }
  }

  const bool has_substance =
      std::any_of(raw.begin(), raw.end(), [](const RawViolation& v) { return !is_wrapper(v.message); });
  std::vector<SchemaViolation> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& v : raw) {
    if (has_substance && is_wrapper(v.message)) continue;
    SchemaViolation violation;
    if (starts_with(v.message, kMissingPrefix)) {
      const std::string name = quoted_tail(v.message, kMissingPrefix);
      violation = {v.pointer + "/" + json_pointer_token(name), "required property '" + name + "' is missing"};
    } else if (starts_with(v.message, kUnknownPrefix)) {
      const std::string name = quoted_tail(v.message, kUnknownPrefix);
      violation = {v.pointer + "/" + json_pointer_token(name), "unknown property '" + name + "'"};
    } else {
      violation = {v.pointer, friendly_message(v.message, compiled_->document, value, v.pointer)};
    }
    if (seen.insert({violation.path, violation.message}).second) out.push_back(std::move(violation));
  }
  return out;
}

nlohmann::json close_schema_objects(nlohmann::json schema) {
  if (!schema.is_object()) return schema;
  if (schema.contains("properties") && !schema.contains("additionalProperties")) {
    schema["additionalProperties"] = false;
  }
  if (auto it = schema.find("properties"); it != schema.end() && it->is_object()) {
    for (auto& [key, sub] : it->items()) sub = close_schema_objects(sub);
  }
  if (auto it = schema.find("items"); it != schema.end()) *it = close_schema_objects(*it);
  return schema;
}

void fill_schema_defaults(nlohmann::json& value, const nlohmann::json& schema) {
  if (!schema.is_object()) return;
  if (value.is_array()) {
    if (auto items = schema.find("items"); items != schema.end() && items->is_object()) {
      for (auto& item : value) fill_schema_defaults(item, *items);
    }
    return;
  }
  if (!value.is_object()) return;
  const auto props = schema.find("properties");
  const bool has_props = props != schema.end() && props->is_object();
  if (has_props) {
    for (const auto& [key, sub] : props->items()) {
      if (!sub.is_object()) continue;
      if (!value.contains(key)) {
        if (auto d = sub.find("default"); d != sub.end()) value[key] = *d;
      }
      if (value.contains(key)) fill_schema_defaults(value[key], sub);
    }
  }
  // Values of a map-like object ({"api": {"type": ...}}) get their defaults too.
  if (auto extra = schema.find("additionalProperties"); extra != schema.end() && extra->is_object()) {
    for (auto& [key, item] : value.items()) {
      if (!has_props || !props->contains(key)) fill_schema_defaults(item, *extra);
    }
  }
}

std::string json_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace sb
