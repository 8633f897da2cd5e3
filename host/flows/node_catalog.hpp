#pragma once
// The node library: every node type the runtime knows, read from the
// embedded flows/nodes/<type>[@<n>].lua + .schema.json pairs (see
// docs/flows.md, "Node types"), plus the compiled validator of each type's
// config schema.
//
// Threads: immutable after construction; share freely.
#include "core/error.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::flows {

struct NodeRefSlot {
  std::string type;  // the resource type it takes ("http")
  bool required = false;
};

struct CasePorts {
  std::string config_field;  // "cases": an array in the node's config
  std::string key;           // "id": the field of each case naming its port
  std::string prefix;        // "match:"
};

struct NodeType {
  std::string type;
  int version = 1;
  std::string title, description;
  bool waits = false;
  std::vector<std::string> ports;  // fixed ports, without the implicit "error"
  std::optional<CasePorts> case_ports;
  std::map<std::string, NodeRefSlot> refs;
  nlohmann::json config_schema;  // JSON Schema of `config`
  std::string lua_source;         // the node's Lua chunk (returns the function)
  std::string chunk_name;         // "=node:send_text" / "=node:ask@2"
};

// One problem found while checking something, with where it is.
struct Problem {
  std::string path;     // JSON pointer into the document ("/nodes/2/config/text")
  std::string message;  // "required property 'text' is missing"
};

class NodeCatalog {
 public:
  // The catalog of the embedded node library. Throws sb::Error(internal)
  // when an embedded entry is malformed (a build defect).
  static std::shared_ptr<const NodeCatalog> embedded();
  // A catalog from explicit (path, content) files, as embedded ones are
  // named ("nodes/x.lua", "nodes/x.schema.json"); for tests.
  static std::shared_ptr<const NodeCatalog> from_files(
      const std::vector<std::pair<std::string, std::string>>& files);

  const NodeType* find(std::string_view type, int version) const;
  // Known versions of `type`, ascending; empty when the type is unknown.
  std::vector<int> versions(std::string_view type) const;
  const std::vector<NodeType>& types() const { return types_; }

  // Checks `config` against the type's config schema; appends problems with
  // paths under `path` (e.g. "/nodes/2/config").
  void validate_config(const NodeType& type, const nlohmann::json& config, const std::string& path,
                       std::vector<Problem>& problems) const;

  // Every port `node_config` gives a node of this type: the fixed ports, the
  // case ports, and "error".
  std::vector<std::string> ports_of(const NodeType& type, const nlohmann::json& node_config) const;

 private:
  struct Validators;
  std::vector<NodeType> types_;
  std::shared_ptr<Validators> validators_;
};

}  // namespace sb::flows
