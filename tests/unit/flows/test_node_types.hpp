#pragma once
// A small node library for tests that must not depend on the real one in
// flows/nodes/: files as NodeCatalog::from_files takes them.
//
//   say    ports next; config {text (required), delay_ms = 0}
//   say@2  ports next, failed; config {text (required)}
//   wait   waits; ports reply, timeout; config {timeout = 60}
//   pick   ports default + match:<case id>; config {cases: [{id, equals = ""}]}
//   fetch  ports ok; refs api (http, required), cache (kv, optional)
#include "flows/node_catalog.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sb::test {

using NodeFiles = std::vector<std::pair<std::string, std::string>>;

// nodes/<stem>.lua + nodes/<stem>.schema.json holding `entry`.
inline NodeFiles node_type_files(const std::string& stem, const nlohmann::json& entry) {
  return {{"nodes/" + stem + ".lua", "return function(ctx, config) return 'next' end"},
          {"nodes/" + stem + ".schema.json", entry.dump()}};
}

inline nlohmann::json node_entry(const std::string& type, int version, nlohmann::json ports,
                                 nlohmann::json config_properties, nlohmann::json required = nlohmann::json::array()) {
  return {{"type", type},
          {"typeVersion", version},
          {"title", type},
          {"description", "a test node"},
          {"waits", false},
          {"ports", std::move(ports)},
          {"case_ports", nullptr},
          {"refs", nlohmann::json::object()},
          {"config",
           {{"type", "object"}, {"properties", std::move(config_properties)}, {"required", std::move(required)}}}};
}

inline NodeFiles test_node_files() {
  NodeFiles files;
  auto add = [&](const std::string& stem, const nlohmann::json& entry) {
    for (auto& f : node_type_files(stem, entry)) files.push_back(std::move(f));
  };
  add("say", node_entry("say", 1, {"next"},
                        {{"text", {{"type", "string"}, {"minLength", 1}}},
                         {"delay_ms", {{"type", "integer"}, {"default", 0}}}},
                        {"text"}));
  add("say@2", node_entry("say", 2, {"next", "failed"}, {{"text", {{"type", "string"}}}}, {"text"}));

  auto wait = node_entry("wait", 1, {"reply", "timeout"}, {{"timeout", {{"type", "integer"}, {"default", 60}}}});
  wait["waits"] = true;
  add("wait", wait);

  auto pick = node_entry(
      "pick", 1, {"default"},
      {{"cases",
        {{"type", "array"},
         {"items",
          {{"type", "object"},
           {"required", {"id"}},
           {"properties", {{"id", {{"type", "string"}}}, {"equals", {{"type", "string"}, {"default", ""}}}}}}}}}},
      {"cases"});
  pick["case_ports"] = {{"config", "cases"}, {"key", "id"}, {"prefix", "match:"}};
  add("pick", pick);

  auto fetch = node_entry("fetch", 1, {"ok"}, nlohmann::json::object());
  fetch["refs"] = {{"api", {{"type", "http"}, {"required", true}}}, {"cache", {{"type", "kv"}}}};
  add("fetch", fetch);
  return files;
}

inline std::shared_ptr<const flows::NodeCatalog> test_catalog() {
  static const auto catalog = flows::NodeCatalog::from_files(test_node_files());
  return catalog;
}

}  // namespace sb::test
