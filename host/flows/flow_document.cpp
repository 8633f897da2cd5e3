#include "flows/flow_document.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/json_schema.hpp"
#include "flows/embedded_files.hpp"
#include "flows/flow_graph.hpp"
#include "flows/lua_json.hpp"
#include "flows/lua_sandbox.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace sb::flows {

int FlowDefinition::node_index(const std::string& node_id) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].id == node_id) return static_cast<int>(i);
  }
  return -1;
}

namespace {

constexpr std::string_view kFlowSchemaPath = "schema/flow-1.schema.json";
// Reading a Lua flow runs its top-level code: the run-time budgets apply.
constexpr uint64_t kLoadInstructions = 10'000'000;
constexpr std::chrono::milliseconds kLoadWall{1000};
constexpr const char* kIdRule = "lower-case letters, digits, '_' and '-', starting with a letter or digit, at most 64";

const JsonSchema& flow_schema() {
  static const JsonSchema schema = [] {
    for (const auto& file : embedded_flow_files()) {
      if (file.path == kFlowSchemaPath) return JsonSchema(nlohmann::json::parse(file.content));
    }
    throw Error(ErrorCode::internal, "the build embeds no flows/" + std::string(kFlowSchemaPath));
  }();
  return schema;
}

bool is_valid_flow_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(id[0])) return false;
  return std::all_of(id.begin() + 1, id.end(), [&](char c) { return lower_or_digit(c) || c == '_' || c == '-'; });
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Problems in the order a reader meets them: keys as the document format
// lists them (others after, alphabetically), array items by index, deeper
// paths after their parent.
bool in_document_order(const Problem& a, const Problem& b) {
  static const std::vector<std::string> kKeyOrder = {
      "schema", "id",    "rev",       "type", "typeVersion", "name", "description", "trigger", "start", "nodes",
      "edges",  "resources", "from", "to",   "node",        "port", "config",      "refs",    "ui",    "disabled"};
  auto tokens = [](const std::string& pointer) {
    std::vector<std::string> out;
    std::stringstream ss(pointer);
    std::string token;
    std::getline(ss, token, '/');  // the empty text before the leading '/'
    while (std::getline(ss, token, '/')) out.push_back(token);
    return out;
  };
  auto is_index = [](const std::string& t) {
    return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const auto ta = tokens(a.path), tb = tokens(b.path);
  for (size_t i = 0; i < std::min(ta.size(), tb.size()); ++i) {
    if (ta[i] == tb[i]) continue;
    const auto ra = std::find(kKeyOrder.begin(), kKeyOrder.end(), ta[i]);
    const auto rb = std::find(kKeyOrder.begin(), kKeyOrder.end(), tb[i]);
    if (ra != rb) return ra < rb;
    if (is_index(ta[i]) && is_index(tb[i])) {
      return std::make_pair(ta[i].size(), ta[i]) < std::make_pair(tb[i].size(), tb[i]);
    }
    return ta[i] < tb[i];
  }
  return ta.size() < tb.size();
}

struct ResourceEntry {
  std::string type;  // "" when the document's type is unusable (already reported)
  nlohmann::json config;
};

// A node with a usable, unique id, as far as the checks got.
struct DraftNode {
  int document_index = 0;
  std::string id, name;
  const NodeType* type = nullptr;
  nlohmann::json config;  // defaults filled in
  std::map<std::string, std::string> refs;
  bool disabled = false;
  std::vector<std::string> ports;
  bool ports_known = false;  // false when the type is unknown or its case ports come from a bad config
  std::map<std::string, int, std::less<>> next;
};

// The checks of one document, in the order that lets later ones rely on
// earlier ones: schema, resources, nodes, edges, start, graph, trigger.
class DocumentChecker {
 public:
  DocumentChecker(const nlohmann::json& doc, const NodeCatalog& catalog, std::vector<Problem>& problems)
      : doc_(doc), catalog_(catalog), problems_(problems) {
    for (auto& v : flow_schema().validate(doc_)) {
      schema_paths_.insert(v.path);
      problems_.push_back({std::move(v.path), std::move(v.message)});
    }
  }

  void run() {
    if (!doc_.is_object()) return;
    check_resources();
    if (const auto* nodes = array_member(doc_, "nodes")) {
      for (size_t i = 0; i < nodes->size(); ++i) check_node(static_cast<int>(i), (*nodes)[i]);
    }
    if (const auto* edges = array_member(doc_, "edges")) {
      for (size_t i = 0; i < edges->size(); ++i) check_edge(static_cast<int>(i), (*edges)[i]);
    }
    check_start();
    check_graph();
    if (auto it = doc_.find("trigger"); it != doc_.end() && it->is_object()) {
      trigger_ = *it;
      check_trigger(trigger_, "/trigger", problems_);
    }
  }

  FlowDefinition build(std::shared_ptr<const NodeCatalog> catalog) && {
    FlowDefinition flow;
    flow.kind = FlowDefinition::Kind::graph;
    flow.id = doc_.at("id").get<std::string>();
    flow.rev = doc_.at("rev").get<int64_t>();
    flow.name = doc_.at("name").get<std::string>();
    flow.trigger = std::move(trigger_);
    for (auto& d : nodes_) {
      flow.nodes.push_back(FlowNode{std::move(d.id), std::move(d.name), d.type, std::move(d.config),
                                    std::move(d.refs), d.disabled, std::move(d.next)});
    }
    flow.start = start_;
    for (auto& [id, r] : resources_) flow.resources[id] = {{"type", r.type}, {"config", std::move(r.config)}};
    flow.catalog = std::move(catalog);
    return flow;
  }

 private:
  // True when the schema found nothing wrong at `path` or below it.
  bool clean(const std::string& path) const {
    if (schema_paths_.count(path)) return false;
    const std::string below = path + "/";
    auto it = schema_paths_.lower_bound(below);
    return it == schema_paths_.end() || it->rfind(below, 0) != 0;
  }

  static const nlohmann::json* array_member(const nlohmann::json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_array() ? &*it : nullptr;
  }

  // object[key] when it is a string the schema did not object to.
  std::optional<std::string> string_at(const nlohmann::json& object, const char* key, const std::string& path) const {
    if (!object.is_object()) return std::nullopt;
    auto it = object.find(key);
    if (it == object.end() || !it->is_string() || !clean(path)) return std::nullopt;
    return it->get<std::string>();
  }

  int node_by_id(const std::string& id) const {
    auto it = node_index_.find(id);
    return it == node_index_.end() ? -1 : it->second;
  }

  void problem(std::string path, std::string message) { problems_.push_back({std::move(path), std::move(message)}); }

  void check_resources() {
    const auto* list = array_member(doc_, "resources");
    if (!list) return;
    std::map<std::string, size_t> first;
    for (size_t i = 0; i < list->size(); ++i) {
      const auto& r = (*list)[i];
      const std::string at = "/resources/" + std::to_string(i);
      const auto id = string_at(r, "id", at + "/id");
      if (!id) continue;
      if (auto [it, fresh] = first.emplace(*id, i); !fresh) {
        problem(at + "/id", "duplicate resource id '" + *id + "' (also /resources/" + std::to_string(it->second) + ")");
        continue;
      }
      auto config = r.find("config");
      resources_[*id] = {string_at(r, "type", at + "/type").value_or(""),
                         config != r.end() && config->is_object() ? *config : nlohmann::json::object()};
    }
  }

  void check_node(int index, const nlohmann::json& node) {
    if (!node.is_object()) return;
    const std::string at = "/nodes/" + std::to_string(index);
    DraftNode d;
    d.document_index = index;
    if (auto name = node.find("name"); name != node.end() && name->is_string()) d.name = name->get<std::string>();
    if (auto disabled = node.find("disabled"); disabled != node.end() && disabled->is_boolean()) {
      d.disabled = disabled->get<bool>();
    }

    const auto type_name = string_at(node, "type", at + "/type");
    const auto version = node.find("typeVersion");
    if (type_name && version != node.end() && version->is_number_integer() && clean(at + "/typeVersion")) {
      d.type = catalog_.find(*type_name, version->get<int>());
      if (!d.type) {
        const auto known = catalog_.versions(*type_name);
        if (known.empty()) {
          problem(at + "/type", "unknown node type '" + *type_name + "'");
        } else {
          std::vector<std::string> list;
          for (int v : known) list.push_back(std::to_string(v));
          problem(at + "/typeVersion", "node type '" + *type_name + "' has no version " +
                                           std::to_string(version->get<int64_t>()) + " (known: " + join(list) + ")");
        }
      }
    }
    if (d.type) {
      check_config(d, node, at);
      check_refs(d, node, at);
    }

    const auto id = string_at(node, "id", at + "/id");
    if (!id) return;
    if (const int other = node_by_id(*id); other >= 0) {
      problem(at + "/id", "duplicate node id '" + *id + "' (also /nodes/" +
                              std::to_string(nodes_[static_cast<size_t>(other)].document_index) + ")");
      return;
    }
    d.id = *id;
    node_index_[d.id] = static_cast<int>(nodes_.size());
    nodes_.push_back(std::move(d));
  }

  void check_config(DraftNode& d, const nlohmann::json& node, const std::string& at) {
    auto config = node.find("config");
    if (config == node.end() || !config->is_object()) return;
    d.config = *config;
    fill_schema_defaults(d.config, d.type->config_schema);
    const size_t before = problems_.size();
    catalog_.validate_config(*d.type, d.config, at + "/config", problems_);
    const bool config_ok = problems_.size() == before;
    if (config_ok && d.type->case_ports) {
      // Each case is a port: two cases with one id would be one port.
      const auto& cp = *d.type->case_ports;
      std::map<std::string, size_t> first;
      if (const auto* cases = array_member(d.config, cp.config_field.c_str())) {
        for (size_t i = 0; i < cases->size(); ++i) {
          const auto& key = (*cases)[i].is_object() ? (*cases)[i].value(cp.key, nlohmann::json()) : nlohmann::json();
          if (!key.is_string()) continue;
          if (auto [it, fresh] = first.emplace(key.get<std::string>(), i); !fresh) {
            problem(at + "/config/" + json_pointer_token(cp.config_field) + "/" + std::to_string(i) + "/" +
                        json_pointer_token(cp.key),
                    "duplicate case " + cp.key + " '" + it->first + "' (also case " + std::to_string(it->second) +
                        "): each case is its own port");
          }
        }
      }
    }
    d.ports = catalog_.ports_of(*d.type, d.config);
    d.ports_known = config_ok || !d.type->case_ports;
  }

  void check_refs(DraftNode& d, const nlohmann::json& node, const std::string& at) {
    const auto& slots = d.type->refs;
    if (auto refs = node.find("refs"); refs != node.end() && refs->is_object()) {
      for (const auto& [slot, value] : refs->items()) {
        const std::string path = at + "/refs/" + json_pointer_token(slot);
        if (!value.is_string() || !clean(path)) continue;
        const std::string resource_id = value.get<std::string>();
        d.refs[slot] = resource_id;
        auto declared = slots.find(slot);
        if (declared == slots.end()) {
          std::vector<std::string> names;
          for (const auto& [name, spec] : slots) names.push_back(name);
          problem(path, "node type '" + d.type->type + "' has no ref slot '" + slot + "'" +
                            (names.empty() ? " (it takes no refs)" : " (its slots: " + join(names) + ")"));
          continue;
        }
        auto resource = resources_.find(resource_id);
        if (resource == resources_.end()) {
          problem(path, "no resource '" + resource_id + "' in this flow's resources");
        } else if (!resource->second.type.empty() && resource->second.type != declared->second.type) {
          problem(path, "resource '" + resource_id + "' is of type '" + resource->second.type + "' but slot '" + slot +
                            "' takes a '" + declared->second.type + "' resource");
        }
      }
    }
    for (const auto& [slot, spec] : slots) {
      if (spec.required && !d.refs.count(slot) && clean(at + "/refs")) {
        problem(at + "/refs/" + json_pointer_token(slot),
                "required ref '" + slot + "' (a '" + spec.type + "' resource) is missing");
      }
    }
  }

  void check_edge(int index, const nlohmann::json& edge) {
    if (!edge.is_object()) return;
    const std::string at = "/edges/" + std::to_string(index);
    if (const auto id = string_at(edge, "id", at + "/id")) {
      if (auto [it, fresh] = edge_ids_.emplace(*id, index); !fresh) {
        problem(at + "/id", "duplicate edge id '" + *id + "' (also /edges/" + std::to_string(it->second) + ")");
      }
    }
    const nlohmann::json none;
    const auto& from = edge.contains("from") ? edge["from"] : none;
    const auto& to = edge.contains("to") ? edge["to"] : none;
    const auto from_node = string_at(from, "node", at + "/from/node");
    const auto port = string_at(from, "port", at + "/from/port");
    const auto to_node = string_at(to, "node", at + "/to/node");

    int source = -1, target = -1;
    if (from_node) {
      source = node_by_id(*from_node);
      if (source < 0) problem(at + "/from/node", "no node '" + *from_node + "' (an edge joins two nodes of the flow)");
    }
    if (to_node) {
      target = node_by_id(*to_node);
      if (target < 0) problem(at + "/to/node", "no node '" + *to_node + "' (an edge joins two nodes of the flow)");
    }
    if (source >= 0 && target >= 0) graph_successors_[source].push_back(target);
    if (source < 0 || !port) return;

    DraftNode& from_draft = nodes_[static_cast<size_t>(source)];
    if (from_draft.ports_known &&
        std::find(from_draft.ports.begin(), from_draft.ports.end(), *port) == from_draft.ports.end()) {
      problem(at + "/from/port", "node '" + from_draft.id + "' (" + from_draft.type->type + ") has no port '" + *port +
                                     "' (its ports: " + join(from_draft.ports) + ")");
      return;
    }
    if (auto [it, fresh] = edge_from_.emplace(std::make_pair(source, *port), index); !fresh) {
      problem(at + "/from", "a second edge from node '" + from_draft.id + "' port '" + *port + "' (the first is /edges/" +
                                std::to_string(it->second) + "): a port leads to one node");
      return;
    }
    if (target >= 0) from_draft.next[*port] = target;
  }

  void check_start() {
    const auto start = string_at(doc_, "start", "/start");
    if (!start) return;
    start_ = node_by_id(*start);
    if (start_ < 0) problem("/start", "no node '" + *start + "' (start names the node a run begins with)");
  }

  void check_graph() {
    std::vector<GraphNode> graph;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const auto& d = nodes_[i];
      GraphNode g;
      g.id = d.id;
      g.document_index = d.document_index;
      // A disabled node is skipped, so it does not wait either.
      g.waits = d.type && d.type->waits && !d.disabled;
      g.waits_known = d.type != nullptr;
      if (auto it = graph_successors_.find(static_cast<int>(i)); it != graph_successors_.end()) g.successors = it->second;
      graph.push_back(std::move(g));
    }
    check_reachable(graph, start_, problems_);
    check_cycles(graph, problems_);
  }

  const nlohmann::json& doc_;
  const NodeCatalog& catalog_;
  std::vector<Problem>& problems_;
  std::set<std::string> schema_paths_;
  std::map<std::string, ResourceEntry> resources_;
  std::vector<DraftNode> nodes_;
  std::map<std::string, int> node_index_;
  std::map<std::string, int> edge_ids_;
  std::map<std::pair<int, std::string>, int> edge_from_;
  std::map<int, std::vector<int>> graph_successors_;
  int start_ = -1;
  nlohmann::json trigger_;
};

std::string without_json_exception_prefix(const std::string& what) {
  // "[json.exception.parse_error.101] parse error at line 1, ..."
  if (!what.empty() && what[0] == '[') {
    if (auto end = what.find("] "); end != std::string::npos) return what.substr(end + 2);
  }
  return what;
}

}  // namespace

ParseResult parse_flow_json(std::string_view text, std::shared_ptr<const NodeCatalog> catalog,
                            const std::string& source_path) {
  if (!catalog) catalog = NodeCatalog::embedded();
  ParseResult result;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    result.problems.push_back({"", "not valid JSON: " + without_json_exception_prefix(e.what())});
    return result;
  }
  fill_schema_defaults(doc, flow_schema().document());

  DocumentChecker checker(doc, *catalog, result.problems);
  checker.run();
  if (!result.problems.empty()) {
    std::stable_sort(result.problems.begin(), result.problems.end(), in_document_order);
    return result;
  }
  auto flow = std::make_shared<FlowDefinition>(std::move(checker).build(catalog));
  flow->hash = sha256_hex(text);
  flow->source = std::string(text);
  flow->source_path = source_path;
  result.flow = std::move(flow);
  return result;
}

ParseResult parse_flow_lua(std::string_view text, const std::string& default_id, const std::string& source_path) {
  ParseResult result;
  auto& problems = result.problems;
  // Lua's messages start with the chunk name: the file name reads best.
  const std::string chunk_name =
      "=" + (source_path.empty() ? "flow:" + default_id : std::filesystem::path(source_path).filename().string());

  LuaSandbox sandbox;
  lua_State* L = sandbox.state();
  try {
    sandbox.load_user(text, chunk_name);
  } catch (const Error& e) {
    problems.push_back({"", e.what()});
    return result;
  }
  sandbox.begin_budget(kLoadInstructions, kLoadWall);
  const CallResult loaded = sandbox.call(0, 1);
  sandbox.end_budget();
  if (!loaded.ok()) {
    if (loaded.status == CallStatus::signal) lua_pop(L, 1);
    problems.push_back({"", "running the file failed: " +
                                (loaded.message.empty() ? std::string("it stopped at a wait") : loaded.message)});
    return result;
  }
  if (!lua_istable(L, -1)) {
    problems.push_back({"", std::string("a Lua flow must return a table {trigger = {...}, main = function(ctx) ... "
                                        "end} (it returned ") +
                                luaL_typename(L, -1) + ")"});
    lua_settop(L, 0);
    return result;
  }
  // Raw reads: a metatable on the returned table must not run code unbudgeted.
  auto push_field = [&](const char* key) {
    lua_pushstring(L, key);
    lua_rawget(L, -2);
  };

  nlohmann::json trigger;
  push_field("trigger");
  if (lua_isnil(L, -1)) {
    problems.push_back({"/trigger", "required field 'trigger' is missing"});
  } else {
    try {
      trigger = to_json(L, -1, "trigger");
      check_trigger(trigger, "/trigger", problems);
    } catch (const Error& e) {
      problems.push_back({"/trigger", e.what()});
    }
  }
  lua_pop(L, 1);

  push_field("main");
  if (lua_isnil(L, -1)) {
    problems.push_back({"/main", "required field 'main' (the flow's function(ctx)) is missing"});
  } else if (!lua_isfunction(L, -1)) {
    problems.push_back({"/main", std::string("must be a function (it is a ") + luaL_typename(L, -1) + ")"});
  }
  lua_pop(L, 1);

  std::string id = default_id;
  push_field("id");
  if (lua_type(L, -1) == LUA_TSTRING) {
    id = lua_tostring(L, -1);
    if (!is_valid_flow_id(id)) problems.push_back({"/id", "'" + id + "' is not a valid flow id (" + kIdRule + ")"});
  } else if (!lua_isnil(L, -1)) {
    problems.push_back({"/id", std::string("must be a string (it is a ") + luaL_typename(L, -1) + ")"});
  } else if (!is_valid_flow_id(id)) {
    problems.push_back({"/id", "the file name gives the id '" + id + "', which is not a valid flow id (" + kIdRule +
                                   "): set id in the returned table"});
  }
  lua_pop(L, 1);

  std::string name = id;
  push_field("name");
  if (lua_type(L, -1) == LUA_TSTRING) {
    name = lua_tostring(L, -1);
  } else if (!lua_isnil(L, -1)) {
    problems.push_back({"/name", std::string("must be a string (it is a ") + luaL_typename(L, -1) + ")"});
  }
  lua_settop(L, 0);

  if (!problems.empty()) {
    std::stable_sort(problems.begin(), problems.end(), in_document_order);
    return result;
  }
  auto flow = std::make_shared<FlowDefinition>();
  flow->kind = FlowDefinition::Kind::lua;
  flow->id = id;
  flow->rev = 1;
  flow->hash = sha256_hex(text);
  flow->name = name;
  flow->trigger = std::move(trigger);
  flow->source = std::string(text);
  flow->source_path = source_path;
  result.flow = std::move(flow);
  return result;
}

ParseResult parse_flow_file(const std::filesystem::path& file, std::shared_ptr<const NodeCatalog> catalog) {
  ParseResult result;
  const std::string extension = file.extension().string();
  if (extension != ".json" && extension != ".lua") {
    result.problems.push_back({"", "'" + file.filename().string() +
                                       "' is not a flow file (a graph is a .json file, a Lua flow a .lua file)"});
    return result;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    result.problems.push_back({"", "cannot read " + file.string() + ": it is a directory"});
    return result;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    result.problems.push_back({"", "cannot read " + file.string() + ": " + std::strerror(errno)});
    return result;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  if (extension == ".json") return parse_flow_json(text, std::move(catalog), file.string());

  std::string id = file.stem().string();
  if (id.size() > 5 && id.substr(id.size() - 5) == ".flow") id.resize(id.size() - 5);
  return parse_flow_lua(text, id, file.string());
}

std::string format_problems(const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems) out += (p.path.empty() ? "" : p.path + ": ") + p.message + "\n";
  return out;
}

}  // namespace sb::flows
