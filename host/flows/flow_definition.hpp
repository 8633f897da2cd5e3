#pragma once
// A flow as the runtime runs it: a validated graph document or a Lua flow,
// compiled into indexes. Built by flow_document.hpp's parse functions only.
//
// Threads: immutable once built; shared (shared_ptr<const>) by the library,
// every Lua state's cache and every execution running it.
#include "flows/node_catalog.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sb::flows {

struct FlowNode {
  std::string id;
  std::string name;
  const NodeType* type = nullptr;  // owned by the catalog the flow was parsed with
  nlohmann::json config;          // validated; defaults of the config schema filled in
  std::map<std::string, std::string> refs;  // slot -> resource id
  bool disabled = false;
  // Where each port leads: port name -> index in FlowDefinition::nodes.
  // A port missing here ends the execution.
  std::map<std::string, int, std::less<>> next;
};

struct FlowDefinition {
  enum class Kind { graph, lua };
  Kind kind = Kind::graph;
  std::string id;
  int64_t rev = 0;      // the document's rev (informational)
  std::string hash;     // hex SHA-256 of the source text: the revision's identity
  std::string name;
  nlohmann::json trigger;  // validated, defaults filled ({"type": "message"} ...)
  std::string source;      // the document or Lua text as loaded
  std::string source_path; // the file it came from, if any

  // Graphs.
  std::vector<FlowNode> nodes;
  int start = -1;  // index in nodes
  std::map<std::string, nlohmann::json> resources;  // id -> {"type", "config"}
  std::shared_ptr<const NodeCatalog> catalog;       // keeps node types alive

  // Lua flows: `source` is the chunk; it returns {trigger, main, ...}.

  int node_index(const std::string& node_id) const;  // -1 when absent
};

using FlowPtr = std::shared_ptr<const FlowDefinition>;

}  // namespace sb::flows
