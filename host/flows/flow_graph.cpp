#include "flows/flow_graph.hpp"

#include <algorithm>
#include <deque>
#include <utility>

namespace sb::flows {

std::vector<std::vector<int>> strongly_connected_components(const std::vector<GraphNode>& nodes) {
  const int n = static_cast<int>(nodes.size());
  std::vector<int> index(n, -1), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<int> stack;
  std::vector<std::pair<int, size_t>> calls;  // (node, next successor to visit): the recursion, unrolled
  std::vector<std::vector<int>> components;
  int counter = 0;

  auto enter = [&](int v) {
    index[v] = low[v] = counter++;
    stack.push_back(v);
    on_stack[v] = true;
    calls.emplace_back(v, 0);
  };
  for (int root = 0; root < n; ++root) {
    if (index[root] != -1) continue;
    enter(root);
    while (!calls.empty()) {
      const int u = calls.back().first;
      const size_t position = calls.back().second;
      if (position < nodes[u].successors.size()) {
        calls.back().second++;
        const int w = nodes[u].successors[position];
        if (index[w] == -1) {
          enter(w);
        } else if (on_stack[w]) {
          low[u] = std::min(low[u], index[w]);
        }
        continue;
      }
      if (low[u] == index[u]) {
        std::vector<int> component;
        int w;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = false;
          component.push_back(w);
        } while (w != u);
        components.push_back(std::move(component));
      }
      calls.pop_back();
      if (!calls.empty()) low[calls.back().first] = std::min(low[calls.back().first], low[u]);
    }
  }
  return components;
}

void check_reachable(const std::vector<GraphNode>& nodes, int start, std::vector<Problem>& problems) {
  if (start < 0 || start >= static_cast<int>(nodes.size())) return;
  std::vector<bool> seen(nodes.size(), false);
  std::deque<int> queue{start};
  seen[start] = true;
  while (!queue.empty()) {
    const int u = queue.front();
    queue.pop_front();
    for (int w : nodes[u].successors) {
      if (!seen[w]) {
        seen[w] = true;
        queue.push_back(w);
      }
    }
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (seen[i]) continue;
    problems.push_back({"/nodes/" + std::to_string(nodes[i].document_index),
                        "node '" + nodes[i].id + "' cannot be reached from the start node '" + nodes[start].id + "'"});
  }
}

namespace {

// The shortest cycle from `first` back to itself inside `members`, as node
// indexes (first .. first).
std::vector<int> shortest_cycle(const std::vector<GraphNode>& nodes, int first, const std::vector<bool>& members) {
  std::vector<int> parent(nodes.size(), -2);
  std::deque<int> queue;
  for (int w : nodes[first].successors) {
    if (w == first) return {first, first};
    if (members[w] && parent[w] == -2) {
      parent[w] = first;
      queue.push_back(w);
    }
  }
  while (!queue.empty()) {
    const int u = queue.front();
    queue.pop_front();
    for (int w : nodes[u].successors) {
      if (w == first) {
        std::vector<int> path{first};
        for (int v = u; v != first; v = parent[v]) path.push_back(v);
        path.push_back(first);
        std::reverse(path.begin(), path.end());
        return path;
      }
      if (members[w] && parent[w] == -2) {
        parent[w] = u;
        queue.push_back(w);
      }
    }
  }
  return {first, first};  // unreachable for a strongly connected component with a cycle
}

}  // namespace

void check_cycles(const std::vector<GraphNode>& nodes, std::vector<Problem>& problems) {
  // A cycle without a waiting node is a cycle of the graph left when the
  // waiting nodes (and those of unknown types, which cannot be judged) are
  // taken out, so the components of that graph are exactly the offenders.
  std::vector<GraphNode> busy = nodes;
  auto stops = [&](int v) { return nodes[v].waits || !nodes[v].waits_known; };
  for (size_t v = 0; v < busy.size(); ++v) {
    auto& next = busy[v].successors;
    if (stops(static_cast<int>(v))) {
      next.clear();
    } else {
      next.erase(std::remove_if(next.begin(), next.end(), stops), next.end());
    }
  }
  for (const auto& component : strongly_connected_components(busy)) {
    const int any = component.front();
    const auto& successors = busy[any].successors;
    const bool has_cycle =
        component.size() > 1 || std::find(successors.begin(), successors.end(), any) != successors.end();
    if (!has_cycle) continue;

    const int first = *std::min_element(component.begin(), component.end(), [&](int a, int b) {
      return nodes[a].document_index < nodes[b].document_index;
    });
    std::vector<bool> members(nodes.size(), false);
    for (int v : component) members[v] = true;
    const auto cycle = shortest_cycle(busy, first, members);
    std::string path_text;
    for (int v : cycle) path_text += (path_text.empty() ? "" : " -> ") + nodes[v].id;
    std::string message = "the loop " + path_text + " has no waiting node (ask, delay, ...) and would never stop";
    if (component.size() + 1 > cycle.size()) {
      std::vector<int> others;
      for (int v : component) {
        if (std::find(cycle.begin(), cycle.end(), v) == cycle.end()) others.push_back(v);
      }
      std::sort(others.begin(), others.end(),
                [&](int a, int b) { return nodes[a].document_index < nodes[b].document_index; });
      std::string names;
      for (int v : others) names += (names.empty() ? "" : ", ") + nodes[v].id;
      message += "; " + names + (others.size() == 1 ? " loops" : " loop") + " with it too";
    }
    problems.push_back({"/nodes/" + std::to_string(nodes[first].document_index), std::move(message)});
  }
}

}  // namespace sb::flows
