// The released plugin ABI, written down in sdk/abi/abi-1.json (1.0),
// sdk/abi/abi-1.1.json (1.1) and sdk/abi/abi-1.2.json (1.2), against
// plugin.h as this compiler lays it out. A released layout is frozen: these
// tests fail when a member moves, changes size or vanishes, when a constant
// changes value, and when plugin.h grows a member or constant that the spec
// does not record.
#include <switchboard/plugin.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

struct Member {
  std::string name;
  std::size_t offset;
  std::size_t size;
  std::size_t align;
};

struct Layout {
  std::size_t size;
  std::size_t align;
  std::vector<Member> members;
};

#define SB_MEMBER(S, m) Member{#m, offsetof(S, m), sizeof(S::m), alignof(decltype(S::m))}
#define SB_LAYOUT(S, ...) {#S, Layout{sizeof(S), alignof(S), {__VA_ARGS__}}}

// Every struct of plugin.h, every member in declaration order.
const std::map<std::string, Layout>& header_layouts() {
  static const std::map<std::string, Layout> layouts = {
      SB_LAYOUT(sb_str, SB_MEMBER(sb_str, data), SB_MEMBER(sb_str, len)),
      SB_LAYOUT(sb_sink, SB_MEMBER(sb_sink, ctx), SB_MEMBER(sb_sink, write)),
      SB_LAYOUT(sb_http_request, SB_MEMBER(sb_http_request, size), SB_MEMBER(sb_http_request, method),
                SB_MEMBER(sb_http_request, path), SB_MEMBER(sb_http_request, query_json),
                SB_MEMBER(sb_http_request, headers_json), SB_MEMBER(sb_http_request, body),
                SB_MEMBER(sb_http_request, request_id)),
      SB_LAYOUT(sb_host_api, SB_MEMBER(sb_host_api, size), SB_MEMBER(sb_host_api, version),
                SB_MEMBER(sb_host_api, log), SB_MEMBER(sb_host_api, set_error), SB_MEMBER(sb_host_api, emit),
                SB_MEMBER(sb_host_api, kv_get), SB_MEMBER(sb_host_api, kv_put), SB_MEMBER(sb_host_api, kv_delete),
                SB_MEMBER(sb_host_api, secret_get), SB_MEMBER(sb_host_api, timer_start),
                SB_MEMBER(sb_host_api, timer_cancel), SB_MEMBER(sb_host_api, http_request),
                SB_MEMBER(sb_host_api, route_register), SB_MEMBER(sb_host_api, respond),
                SB_MEMBER(sb_host_api, instance_id), SB_MEMBER(sb_host_api, blob_put),
                SB_MEMBER(sb_host_api, blob_get), SB_MEMBER(sb_host_api, http_stream)),
      SB_LAYOUT(sb_channel_api, SB_MEMBER(sb_channel_api, size), SB_MEMBER(sb_channel_api, version),
                SB_MEMBER(sb_channel_api, create), SB_MEMBER(sb_channel_api, destroy),
                SB_MEMBER(sb_channel_api, connect), SB_MEMBER(sb_channel_api, disconnect),
                SB_MEMBER(sb_channel_api, send), SB_MEMBER(sb_channel_api, status),
                SB_MEMBER(sb_channel_api, capabilities), SB_MEMBER(sb_channel_api, call)),
      SB_LAYOUT(sb_ai_api, SB_MEMBER(sb_ai_api, size), SB_MEMBER(sb_ai_api, version), SB_MEMBER(sb_ai_api, create),
                SB_MEMBER(sb_ai_api, destroy), SB_MEMBER(sb_ai_api, embed), SB_MEMBER(sb_ai_api, chat),
                SB_MEMBER(sb_ai_api, classify), SB_MEMBER(sb_ai_api, chat_stream)),
      SB_LAYOUT(sb_crm_api, SB_MEMBER(sb_crm_api, size), SB_MEMBER(sb_crm_api, version),
                SB_MEMBER(sb_crm_api, create), SB_MEMBER(sb_crm_api, destroy),
                SB_MEMBER(sb_crm_api, upsert_contact), SB_MEMBER(sb_crm_api, find_contact)),
      SB_LAYOUT(sb_storage_api, SB_MEMBER(sb_storage_api, size), SB_MEMBER(sb_storage_api, version),
                SB_MEMBER(sb_storage_api, create), SB_MEMBER(sb_storage_api, destroy),
                SB_MEMBER(sb_storage_api, exec), SB_MEMBER(sb_storage_api, prepare),
                SB_MEMBER(sb_storage_api, finalize), SB_MEMBER(sb_storage_api, reset),
                SB_MEMBER(sb_storage_api, bind_null), SB_MEMBER(sb_storage_api, bind_int64),
                SB_MEMBER(sb_storage_api, bind_double), SB_MEMBER(sb_storage_api, bind_text),
                SB_MEMBER(sb_storage_api, bind_blob), SB_MEMBER(sb_storage_api, step),
                SB_MEMBER(sb_storage_api, column_count), SB_MEMBER(sb_storage_api, column_name),
                SB_MEMBER(sb_storage_api, column_type), SB_MEMBER(sb_storage_api, column_int64),
                SB_MEMBER(sb_storage_api, column_double), SB_MEMBER(sb_storage_api, column_text),
                SB_MEMBER(sb_storage_api, column_blob), SB_MEMBER(sb_storage_api, changes),
                SB_MEMBER(sb_storage_api, last_insert_id), SB_MEMBER(sb_storage_api, dialect)),
      SB_LAYOUT(sb_plugin_descriptor, SB_MEMBER(sb_plugin_descriptor, size),
                SB_MEMBER(sb_plugin_descriptor, abi_version), SB_MEMBER(sb_plugin_descriptor, id),
                SB_MEMBER(sb_plugin_descriptor, version), SB_MEMBER(sb_plugin_descriptor, kind),
                SB_MEMBER(sb_plugin_descriptor, table), SB_MEMBER(sb_plugin_descriptor, shutdown)),
  };
  return layouts;
}

#define SB_CONSTANT(name) {#name, json(name)}

// Every constant of plugin.h, by group as in the spec.
const std::map<std::string, std::map<std::string, json>>& header_constants() {
  static const std::map<std::string, std::map<std::string, json>> constants = {
      {"status",
       {SB_CONSTANT(SB_OK), SB_CONSTANT(SB_ERR_INVALID_ARGUMENT), SB_CONSTANT(SB_ERR_NOT_FOUND),
        SB_CONSTANT(SB_ERR_UNSUPPORTED), SB_CONSTANT(SB_ERR_UNAVAILABLE), SB_CONSTANT(SB_ERR_PERMANENT),
        SB_CONSTANT(SB_ERR_CONFLICT), SB_CONSTANT(SB_ERR_BUSY), SB_CONSTANT(SB_ERR_TIMEOUT),
        SB_CONSTANT(SB_ERR_INTERNAL)}},
      {"log_level",
       {SB_CONSTANT(SB_LOG_TRACE), SB_CONSTANT(SB_LOG_DEBUG), SB_CONSTANT(SB_LOG_INFO), SB_CONSTANT(SB_LOG_WARN),
        SB_CONSTANT(SB_LOG_ERROR)}},
      {"kind",
       {SB_CONSTANT(SB_KIND_CHANNEL), SB_CONSTANT(SB_KIND_AI), SB_CONSTANT(SB_KIND_CRM),
        SB_CONSTANT(SB_KIND_STORAGE)}},
      {"sql_type",
       {SB_CONSTANT(SB_SQL_NULL), SB_CONSTANT(SB_SQL_INTEGER), SB_CONSTANT(SB_SQL_REAL), SB_CONSTANT(SB_SQL_TEXT),
        SB_CONSTANT(SB_SQL_BLOB)}},
      {"event",
       {SB_CONSTANT(SB_EVENT_MESSAGE_INBOUND), SB_CONSTANT(SB_EVENT_MESSAGE_STATUS),
        SB_CONSTANT(SB_EVENT_SESSION_STATUS)}},
      {"symbol", {SB_CONSTANT(SB_PLUGIN_ABI_VERSION_SYMBOL), SB_CONSTANT(SB_PLUGIN_INIT_SYMBOL)}},
      {"op",
       {SB_CONSTANT(SB_OP_MARK_READ), SB_CONSTANT(SB_OP_MEDIA_UPLOAD), SB_CONSTANT(SB_OP_GROUP_LIST),
        SB_CONSTANT(SB_OP_GROUP_CREATE), SB_CONSTANT(SB_OP_GROUP_RENAME), SB_CONSTANT(SB_OP_GROUP_PARTICIPANTS),
        SB_CONSTANT(SB_OP_GROUP_INFO), SB_CONSTANT(SB_OP_TEMPLATES_LIST)}},
  };
  return constants;
}

// One record file per minor, oldest first; each holds its release(s).
const char* const kSpecFiles[] = {SB_SOURCE_DIR "/sdk/abi/abi-1.json", SB_SOURCE_DIR "/sdk/abi/abi-1.1.json",
                                  SB_SOURCE_DIR "/sdk/abi/abi-1.2.json"};

json read_spec_file(const char* path) {
  std::ifstream in(path);
  INFO(path);
  REQUIRE(in.good());
  return json::parse(in);
}

// The files merged: the first file's header fields, every file's releases
// in order.
const json& spec() {
  static const json doc = [] {
    json merged;
    for (const char* path : kSpecFiles) {
      json file = read_spec_file(path);
      if (merged.is_null()) {
        merged = file;
        continue;
      }
      REQUIRE(file.at("abi_major") == merged.at("abi_major"));
      REQUIRE(file.at("data_model") == merged.at("data_model"));
      for (const json& release : file.at("releases")) merged["releases"].push_back(release);
    }
    return merged;
  }();
  return doc;
}

std::string current_version() {
  return std::to_string(SB_ABI_VERSION_MAJOR) + "." + std::to_string(SB_ABI_VERSION_MINOR);
}

const json& newest_release() { return spec().at("releases").back(); }

}  // namespace

TEST_CASE("the ABI spec records major 1 and its newest release is the header's version", "[sdk][abi]") {
  REQUIRE(spec().at("abi_major") == SB_ABI_VERSION_MAJOR);
  REQUIRE(sizeof(void*) == 8);  // the spec's offsets are for LP64
  REQUIRE(spec().at("data_model") == "LP64");
  REQUIRE_FALSE(spec().at("releases").empty());
  CHECK(newest_release().at("version") == current_version());
}

TEST_CASE("the version macros pack major and minor as the spec says", "[sdk][abi]") {
  CHECK(SB_ABI_VERSION == ((uint32_t{SB_ABI_VERSION_MAJOR} << 16) | SB_ABI_VERSION_MINOR));
  CHECK(SB_ABI_MAJOR(SB_ABI_MAKE(3, 7)) == 3);
  CHECK(SB_ABI_MINOR(SB_ABI_MAKE(3, 7)) == 7);
}

TEST_CASE("every released struct layout is still a prefix of the header's", "[sdk][abi]") {
  for (const json& release : spec().at("releases")) {
    for (const json& s : release.at("structs")) {
      const std::string name = s.at("name");
      INFO("ABI " << release.at("version").get<std::string>() << ", struct " << name);
      auto it = header_layouts().find(name);
      REQUIRE(it != header_layouts().end());
      const Layout& header = it->second;
      CHECK(s.at("size").get<std::size_t>() <= header.size);
      const json& members = s.at("members");
      REQUIRE(members.size() <= header.members.size());
      for (std::size_t i = 0; i < members.size(); ++i) {
        INFO("member #" << i << " " << members[i].at("name").get<std::string>());
        CHECK(members[i].at("name") == header.members[i].name);
        CHECK(members[i].at("offset") == header.members[i].offset);
        CHECK(members[i].at("size") == header.members[i].size);
      }
    }
  }
}

TEST_CASE("the newest release records every struct and member of the header", "[sdk][abi]") {
  std::map<std::string, const json*> recorded;
  for (const json& s : newest_release().at("structs")) recorded[s.at("name")] = &s;
  for (const auto& [name, header] : header_layouts()) {
    INFO("struct " << name << ": record it in the newest sdk/abi/abi-1.<minor>.json");
    REQUIRE(recorded.count(name) == 1);
    const json& s = *recorded[name];
    // A slot appended to plugin.h but not to the spec shows here as a size
    // (and member count) mismatch.
    CHECK(s.at("size") == header.size);
    CHECK(s.at("members").size() == header.members.size());
  }
  CHECK(recorded.size() == header_layouts().size());
}

TEST_CASE("the test's member tables leave no unlisted member in any struct", "[sdk][abi]") {
  // Guards the tables above: a member added to plugin.h but not listed here
  // would leave a gap at least as wide as its alignment.
  for (const auto& [name, header] : header_layouts()) {
    INFO("struct " << name);
    std::size_t end = 0;
    for (const Member& m : header.members) {
      INFO("member " << m.name);
      CHECK(m.offset >= end);
      CHECK(m.offset - end < m.align);
      end = m.offset + m.size;
    }
    CHECK(header.size >= end);
    CHECK(header.size - end < header.align);
  }
}

TEST_CASE("every released constant keeps its value", "[sdk][abi]") {
  for (const json& release : spec().at("releases")) {
    for (const auto& [group, values] : release.at("constants").items()) {
      INFO("ABI " << release.at("version").get<std::string>() << ", constants " << group);
      auto g = header_constants().find(group);
      REQUIRE(g != header_constants().end());
      for (const auto& [name, value] : values.items()) {
        INFO(name);
        auto c = g->second.find(name);
        REQUIRE(c != g->second.end());
        CHECK(c->second == value);
      }
    }
  }
}

TEST_CASE("the newest release records every constant of the header", "[sdk][abi]") {
  const json& constants = newest_release().at("constants");
  for (const auto& [group, values] : header_constants()) {
    INFO("constants " << group << ": record them in the newest sdk/abi/abi-1.<minor>.json");
    REQUIRE(constants.contains(group));
    CHECK(constants.at(group).size() == values.size());
  }
  CHECK(constants.size() == header_constants().size());
}

TEST_CASE("the 1.0 record stays 1.0 and each later record is its predecessor with members appended",
          "[sdk][abi]") {
  const json first = read_spec_file(kSpecFiles[0]);
  REQUIRE(first.at("releases").size() == 1);
  CHECK(first.at("releases")[0].at("version") == "1.0");
  const json& releases = spec().at("releases");
  for (std::size_t r = 1; r < releases.size(); ++r) {
    const json& prev = releases[r - 1];
    const json& next = releases[r];
    INFO("ABI " << prev.at("version").get<std::string>() << " -> " << next.at("version").get<std::string>());
    CHECK(next.at("version") == "1." + std::to_string(r));
    std::map<std::string, const json*> later;
    for (const json& s : next.at("structs")) later[s.at("name")] = &s;
    for (const json& s : prev.at("structs")) {
      INFO("struct " << s.at("name").get<std::string>());
      REQUIRE(later.count(s.at("name")) == 1);
      const json& members = s.at("members");
      const json& grown = later[s.at("name")]->at("members");
      REQUIRE(grown.size() >= members.size());
      for (std::size_t i = 0; i < members.size(); ++i) CHECK(grown[i] == members[i]);
    }
    for (const auto& [group, values] : prev.at("constants").items()) {
      for (const auto& [name, value] : values.items()) CHECK(next.at("constants").at(group).at(name) == value);
    }
  }
}

TEST_CASE("a 1.0 channel table ends before the 1.1 call slot", "[sdk][abi]") {
  sb_channel_api table{};
  table.size = static_cast<uint32_t>(offsetof(sb_channel_api, capabilities) + sizeof(table.capabilities));
  CHECK(SB_HAS_SLOT(&table, sb_channel_api, capabilities));
  CHECK_FALSE(SB_HAS_SLOT(&table, sb_channel_api, call));
  sb_host_api host{};
  host.size = static_cast<uint32_t>(offsetof(sb_host_api, instance_id) + sizeof(host.instance_id));
  CHECK_FALSE(SB_HAS_SLOT(&host, sb_host_api, blob_put));
  host.size = sizeof(sb_host_api);
  CHECK(SB_HAS_SLOT(&host, sb_host_api, blob_get));
}

TEST_CASE("SB_HAS_SLOT sees a slot only when the table's size covers it", "[sdk][abi]") {
  sb_channel_api table{};
  table.size = static_cast<uint32_t>(offsetof(sb_channel_api, capabilities));
  CHECK(SB_HAS_SLOT(&table, sb_channel_api, status));
  CHECK_FALSE(SB_HAS_SLOT(&table, sb_channel_api, capabilities));
  table.size = sizeof(sb_channel_api);
  CHECK(SB_HAS_SLOT(&table, sb_channel_api, capabilities));
  const sb_channel_api* none = nullptr;
  CHECK_FALSE(SB_HAS_SLOT(none, sb_channel_api, create));
}
