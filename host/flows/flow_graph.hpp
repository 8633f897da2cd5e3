#pragma once
// The checks of a flow graph that need the whole graph at once (see
// docs/flows.md, "Validation"): every node reachable from start, and no
// cycle that could run forever because nothing in it waits. flow_document.cpp
// builds the graph from the edges whose two ends exist.
#include "flows/node_catalog.hpp"

#include <string>
#include <vector>

namespace sb::flows {

struct GraphNode {
  std::string id;                // for messages
  int document_index = 0;        // its index in the document's "nodes", for paths ("/nodes/<i>")
  bool waits = false;            // its type waits and it is not disabled
  bool waits_known = true;       // false when its type is unknown: cycles through it are not judged
  std::vector<int> successors;   // indexes into the graph's node vector
};

// One problem at "/nodes/<i>" per node no path from `start` reaches; nothing
// when start < 0 (a missing start is reported on its own).
void check_reachable(const std::vector<GraphNode>& nodes, int start, std::vector<Problem>& problems);

// One problem per group of nodes that loop without a waiting node among
// them (a strongly connected component, with a cycle or a self-loop, of the
// graph without its waiting nodes), at the path of its first node in
// document order, naming the nodes of one such cycle and the others of the
// group.
void check_cycles(const std::vector<GraphNode>& nodes, std::vector<Problem>& problems);

// Tarjan's strongly connected components, each listing node indexes;
// iterative, so a long chain cannot exhaust the stack.
std::vector<std::vector<int>> strongly_connected_components(const std::vector<GraphNode>& nodes);

}  // namespace sb::flows
