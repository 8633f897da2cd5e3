#include "flows/node_catalog.hpp"

#include "core/json_schema.hpp"
#include "flows/embedded_files.hpp"

#include <algorithm>
#include <charconv>

namespace sb::flows {

// Lookup by (type, version) and each type's compiled config schema, in the
// order of types_.
struct NodeCatalog::Validators {
  std::map<std::string, std::map<int, size_t>, std::less<>> index;
  std::vector<JsonSchema> config_schemas;
};

namespace {

constexpr std::string_view kNodesDir = "nodes/";
constexpr std::string_view kLuaSuffix = ".lua";
constexpr std::string_view kEntrySuffix = ".schema.json";
constexpr std::string_view kNodeTypeSchemaPath = "schema/node-type.schema.json";

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

const JsonSchema& node_type_schema() {
  static const JsonSchema schema = [] {
    for (const auto& file : embedded_flow_files()) {
      if (file.path == kNodeTypeSchemaPath) return JsonSchema(nlohmann::json::parse(file.content));
    }
    throw Error(ErrorCode::internal, "the build embeds no flows/" + std::string(kNodeTypeSchemaPath));
  }();
  return schema;
}

// The two files of one (type, version): "ask@2" -> nodes/ask@2.lua + nodes/ask@2.schema.json.
struct NodeFiles {
  std::string type;
  int version = 1;
  const std::string* lua = nullptr;
  const std::string* entry = nullptr;
};

// "ask" -> (ask, 1); "ask@2" -> (ask, 2); nullopt for anything else.
std::optional<std::pair<std::string, int>> split_stem(std::string_view stem) {
  const auto at = stem.find('@');
  if (at == std::string_view::npos) return std::make_pair(std::string(stem), 1);
  const std::string_view digits = stem.substr(at + 1);
  int version = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (ec != std::errc() || end != digits.data() + digits.size() || version < 1 || at == 0) return std::nullopt;
  return std::make_pair(std::string(stem.substr(0, at)), version);
}

struct ReadType {
  NodeType type;
  JsonSchema config;  // compiled from the type's config schema, closed
};

std::optional<ReadType> read_node_type(const std::string& stem, const NodeFiles& files,
                                       std::vector<std::string>& problems) {
  const std::string where = std::string(kNodesDir) + stem + std::string(kEntrySuffix);
  nlohmann::json entry;
  try {
    entry = nlohmann::json::parse(*files.entry);
  } catch (const nlohmann::json::parse_error& e) {
    problems.push_back(where + ": not valid JSON: " + e.what());
    return std::nullopt;
  }
  fill_schema_defaults(entry, node_type_schema().document());
  const auto violations = node_type_schema().validate(entry);
  for (const auto& v : violations) problems.push_back(where + ": " + (v.path.empty() ? "/" : v.path) + ": " + v.message);
  if (!violations.empty()) return std::nullopt;

  const size_t before = problems.size();
  NodeType t;
  t.type = entry.at("type").get<std::string>();
  t.version = entry.at("typeVersion").get<int>();
  if (t.type != files.type) {
    problems.push_back(where + ": /type: is \"" + t.type + "\" but the file is named for \"" + files.type + "\"");
  }
  if (t.version != files.version) {
    problems.push_back(where + ": /typeVersion: is " + std::to_string(t.version) + " but the file name says " +
                       std::to_string(files.version) +
                       (files.version == 1 ? " (a later version is <type>@<n>.schema.json)" : ""));
  }
  t.title = entry.at("title").get<std::string>();
  t.description = entry.at("description").get<std::string>();
  t.waits = entry.at("waits").get<bool>();
  t.ports = entry.at("ports").get<std::vector<std::string>>();
  if (std::find(t.ports.begin(), t.ports.end(), "error") != t.ports.end()) {
    problems.push_back(where + ": /ports: must not list \"error\" (every node has that port)");
  }
  t.config_schema = entry.at("config");
  if (const auto& cp = entry.at("case_ports"); cp.is_object()) {
    t.case_ports = CasePorts{cp.at("config").get<std::string>(), cp.at("key").get<std::string>(),
                             cp.at("prefix").get<std::string>()};
    const auto* field = t.config_schema.contains("properties") ? &t.config_schema["properties"] : nullptr;
    if (!field || !field->is_object() || !field->contains(t.case_ports->config_field)) {
      problems.push_back(where + ": /case_ports/config: the config schema has no property \"" +
                         t.case_ports->config_field + "\"");
    }
  }
  for (const auto& [slot, spec] : entry.at("refs").items()) {
    t.refs[slot] = NodeRefSlot{spec.at("type").get<std::string>(), spec.at("required").get<bool>()};
  }
  t.lua_source = *files.lua;
  t.chunk_name = "=node:" + stem;
  std::optional<JsonSchema> config;
  try {
    config.emplace(close_schema_objects(t.config_schema));
  } catch (const Error& e) {
    problems.push_back(where + ": /config: " + e.what());
  }
  if (problems.size() != before) return std::nullopt;
  return ReadType{std::move(t), std::move(*config)};
}

}  // namespace

std::shared_ptr<const NodeCatalog> NodeCatalog::from_files(
    const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::string> problems;
  std::map<std::string, NodeFiles> by_stem;
  for (const auto& [path, content] : files) {
    if (path.rfind(kNodesDir, 0) != 0) continue;  // the document schema, the prelude: not node types
    const std::string name = path.substr(kNodesDir.size());
    std::string stem;
    bool is_lua = false;
    if (ends_with(name, kEntrySuffix)) {
      stem = name.substr(0, name.size() - kEntrySuffix.size());
    } else if (ends_with(name, kLuaSuffix)) {
      stem = name.substr(0, name.size() - kLuaSuffix.size());
      is_lua = true;
    }
    const auto split = stem.empty() || name.find('/') != std::string::npos ? std::nullopt : split_stem(stem);
    if (!split) {
      problems.push_back(path + ": not a node file (expected nodes/<type>.lua, nodes/<type>.schema.json, or "
                         "<type>@<n>.* for version n)");
      continue;
    }
    NodeFiles& f = by_stem[stem];
    f.type = split->first;
    f.version = split->second;
    (is_lua ? f.lua : f.entry) = &content;
  }

  std::vector<ReadType> read;
  for (const auto& [stem, f] : by_stem) {
    const std::string base = std::string(kNodesDir) + stem;
    if (!f.entry) {
      problems.push_back(base + ".lua has no " + base + ".schema.json");
      continue;
    }
    if (!f.lua) {
      problems.push_back(base + ".schema.json has no " + base + ".lua");
      continue;
    }
    auto entry = read_node_type(stem, f, problems);
    if (!entry) continue;
    const bool known = std::any_of(read.begin(), read.end(), [&](const ReadType& r) {
      return r.type.type == entry->type.type && r.type.version == entry->type.version;
    });
    if (known) {
      problems.push_back(base + ": a second file for " + entry->type.type + " version " +
                         std::to_string(entry->type.version));
      continue;
    }
    read.push_back(std::move(*entry));
  }

  std::sort(read.begin(), read.end(), [](const ReadType& a, const ReadType& b) {
    return std::tie(a.type.type, a.type.version) < std::tie(b.type.type, b.type.version);
  });
  auto catalog = std::make_shared<NodeCatalog>();
  auto validators = std::make_shared<Validators>();
  for (auto& r : read) {
    validators->index[r.type.type][r.type.version] = catalog->types_.size();
    validators->config_schemas.push_back(std::move(r.config));
    catalog->types_.push_back(std::move(r.type));
  }

  if (!problems.empty()) {
    std::string message = "the node library has problems: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    throw Error(ErrorCode::invalid_argument, message, nlohmann::json{{"problems", problems}});
  }
  catalog->validators_ = std::move(validators);
  return catalog;
}

std::shared_ptr<const NodeCatalog> NodeCatalog::embedded() {
  static const std::shared_ptr<const NodeCatalog> catalog = [] {
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& file : embedded_flow_files()) files.emplace_back(file.path, file.content);
    try {
      return from_files(files);
    } catch (const Error& e) {
      throw Error(ErrorCode::internal, std::string("the embedded node library is broken (a build defect): ") + e.what(),
                  e.details());
    }
  }();
  return catalog;
}

const NodeType* NodeCatalog::find(std::string_view type, int version) const {
  if (!validators_) return nullptr;
  auto by_type = validators_->index.find(type);
  if (by_type == validators_->index.end()) return nullptr;
  auto it = by_type->second.find(version);
  return it == by_type->second.end() ? nullptr : &types_[it->second];
}

std::vector<int> NodeCatalog::versions(std::string_view type) const {
  std::vector<int> out;
  if (!validators_) return out;
  if (auto by_type = validators_->index.find(type); by_type != validators_->index.end()) {
    for (const auto& [version, index] : by_type->second) out.push_back(version);
  }
  return out;
}

void NodeCatalog::validate_config(const NodeType& type, const nlohmann::json& config, const std::string& path,
                                  std::vector<Problem>& problems) const {
  const NodeType* own = find(type.type, type.version);
  if (!own) {
    problems.push_back({path, "node type " + type.type + " version " + std::to_string(type.version) +
                                  " is not in this catalog"});
    return;
  }
  const JsonSchema& schema = validators_->config_schemas[static_cast<size_t>(own - types_.data())];
  for (auto& v : schema.validate(config)) problems.push_back({path + v.path, std::move(v.message)});
}

std::vector<std::string> NodeCatalog::ports_of(const NodeType& type, const nlohmann::json& node_config) const {
  std::vector<std::string> ports = type.ports;
  auto add = [&](std::string port) {
    if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(std::move(port));
  };
  if (type.case_ports && node_config.is_object()) {
    auto cases = node_config.find(type.case_ports->config_field);
    if (cases != node_config.end() && cases->is_array()) {
      for (const auto& c : *cases) {
        if (!c.is_object()) continue;
        auto key = c.find(type.case_ports->key);
        if (key != c.end() && key->is_string()) add(type.case_ports->prefix + key->get<std::string>());
      }
    }
  }
  add("error");
  return ports;
}

}  // namespace sb::flows
