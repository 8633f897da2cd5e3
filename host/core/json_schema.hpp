#pragma once
// JSON Schema (draft 7, through valijson) for the host's declarative inputs:
// plugin configs, flow documents, node configs. A schema is compiled once and
// checks any number of values; each violation comes back with a JSON pointer
// and a message a user understands.
//
// Threads: a compiled JsonSchema is immutable; validate() may run on many
// threads at once.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sb {

struct SchemaViolation {
  std::string path;     // JSON pointer relative to the checked value ("" = the value itself)
  std::string message;  // "required property 'text' is missing"
};

class JsonSchema {
 public:
  // Compiles `schema`. Throws sb::Error(invalid_argument) when it is not a
  // usable JSON Schema (the message says why).
  explicit JsonSchema(const nlohmann::json& schema);

  // Every violation of `value`, deepest first within a path, without
  // valijson's "failed to validate item #n" wrappers. A missing required
  // property and an unknown property are reported at the path they have or
  // would have ("/text"), and every unknown property of an object is
  // reported, not only the first.
  std::vector<SchemaViolation> validate(const nlohmann::json& value) const;

  const nlohmann::json& document() const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

// The schema with every object that lists "properties" closed
// ("additionalProperties": false) unless it says otherwise, recursively
// through "properties" and "items": in a config, a misspelt key is an error
// rather than a silently ignored setting.
nlohmann::json close_schema_objects(nlohmann::json schema);

// Fills the "default" of every property `value` lacks, recursing into the
// objects present, into the values an "additionalProperties" schema governs
// and into each item of arrays whose schema has "items".
void fill_schema_defaults(nlohmann::json& value, const nlohmann::json& schema);

// One reference token of a JSON pointer, escaped ("a/b" -> "a~1b").
std::string json_pointer_token(std::string_view token);

}  // namespace sb
