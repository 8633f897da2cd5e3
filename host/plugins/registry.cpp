#include "plugins/registry.hpp"

#include "core/error.hpp"
#include "core/log.hpp"

#include <boost/dll/shared_library.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>

namespace sb::plugins {
namespace {

sb_str to_str(const std::string& s) { return sb_str{s.data(), s.size()}; }

void append(void* ctx, const char* data, size_t len) { static_cast<std::string*>(ctx)->append(data, len); }

// The end of a struct's member: what a table must reach to hold that slot.
#define SB_SLOT_END(type, member) (offsetof(type, member) + sizeof(((type*)nullptr)->member))

// The size of each kind's table as released in ABI 1.0 (the end of its last
// 1.0 slot, not today's sizeof, so that a 1.0 plugin still loads once later
// minors append slots). Slots added later are read only after SB_HAS_SLOT.
size_t required_table_size(PluginKind kind) {
  switch (kind) {
    case PluginKind::channel: return SB_SLOT_END(sb_channel_api, capabilities);
    case PluginKind::ai: return SB_SLOT_END(sb_ai_api, classify);
    case PluginKind::crm: return SB_SLOT_END(sb_crm_api, find_contact);
    case PluginKind::storage: return SB_SLOT_END(sb_storage_api, dialect);
  }
  return 0;
}
constexpr size_t kDescriptorSize_1_0 = SB_SLOT_END(sb_plugin_descriptor, shutdown);

// Names the required callbacks a table leaves NULL.
std::vector<std::string> missing_callbacks(PluginKind kind, const void* table) {
  std::vector<std::string> missing;
  auto need = [&](const void* fn, const char* name) {
    if (!fn) missing.emplace_back(name);
  };
  switch (kind) {
    case PluginKind::channel: {
      auto* t = static_cast<const sb_channel_api*>(table);
      need(reinterpret_cast<const void*>(t->create), "create");
      need(reinterpret_cast<const void*>(t->destroy), "destroy");
      need(reinterpret_cast<const void*>(t->send), "send");
      need(reinterpret_cast<const void*>(t->status), "status");
      break;
    }
    case PluginKind::ai: {
      auto* t = static_cast<const sb_ai_api*>(table);
      need(reinterpret_cast<const void*>(t->create), "create");
      need(reinterpret_cast<const void*>(t->destroy), "destroy");
      break;
    }
    case PluginKind::crm: {
      auto* t = static_cast<const sb_crm_api*>(table);
      need(reinterpret_cast<const void*>(t->create), "create");
      need(reinterpret_cast<const void*>(t->destroy), "destroy");
      break;
    }
    case PluginKind::storage: {
      auto* t = static_cast<const sb_storage_api*>(table);
      const void* slots[] = {
          reinterpret_cast<const void*>(t->create),        reinterpret_cast<const void*>(t->destroy),
          reinterpret_cast<const void*>(t->exec),          reinterpret_cast<const void*>(t->prepare),
          reinterpret_cast<const void*>(t->finalize),      reinterpret_cast<const void*>(t->reset),
          reinterpret_cast<const void*>(t->bind_null),     reinterpret_cast<const void*>(t->bind_int64),
          reinterpret_cast<const void*>(t->bind_double),   reinterpret_cast<const void*>(t->bind_text),
          reinterpret_cast<const void*>(t->bind_blob),     reinterpret_cast<const void*>(t->step),
          reinterpret_cast<const void*>(t->column_count),  reinterpret_cast<const void*>(t->column_name),
          reinterpret_cast<const void*>(t->column_type),   reinterpret_cast<const void*>(t->column_int64),
          reinterpret_cast<const void*>(t->column_double), reinterpret_cast<const void*>(t->column_text),
          reinterpret_cast<const void*>(t->column_blob),   reinterpret_cast<const void*>(t->changes),
          reinterpret_cast<const void*>(t->last_insert_id), reinterpret_cast<const void*>(t->dialect)};
      static const char* names[] = {"create",       "destroy",     "exec",          "prepare",     "finalize",
                                    "reset",        "bind_null",   "bind_int64",    "bind_double", "bind_text",
                                    "bind_blob",    "step",        "column_count",  "column_name", "column_type",
                                    "column_int64", "column_double", "column_text", "column_blob", "changes",
                                    "last_insert_id", "dialect"};
      for (size_t i = 0; i < std::size(slots); ++i) need(slots[i], names[i]);
      break;
    }
  }
  return missing;
}

}  // namespace

// ---- PluginRegistry::Loaded ----

struct PluginRegistry::Loaded {
  PluginInfo info;
  std::optional<Manifest> manifest;
  std::shared_ptr<boost::dll::shared_library> library;
  const sb_plugin_descriptor* descriptor = nullptr;

  ~Loaded() {
    if (descriptor && descriptor->shutdown) descriptor->shutdown();
  }
};

PluginRegistry::PluginRegistry(HostServices& services) : services_(services) {}
PluginRegistry::~PluginRegistry() = default;

void PluginRegistry::discover(const std::vector<std::filesystem::path>& dirs) {
  // First every manifest, before any code is loaded.
  std::vector<std::filesystem::path> files;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      spdlog::debug("plugin directory {} does not exist; skipped", dir.string());
      continue;
    }
    if (std::filesystem::exists(dir / "plugin.json")) files.push_back(dir / "plugin.json");
    std::vector<std::filesystem::path> found;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.is_directory() && std::filesystem::exists(entry.path() / "plugin.json")) {
        found.push_back(entry.path() / "plugin.json");
      }
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }

  std::vector<Loaded*> to_load;
  for (const auto& file : files) {
    auto entry = std::make_unique<Loaded>();
    entry->info.manifest_file = file;
    entry->info.id = file.parent_path().filename().string();
    entry->info.kind = "?";
    try {
      Manifest m = read_manifest(file);
      entry->info.id = m.id;
      entry->info.kind = std::string(to_string(m.kind));
      entry->info.version = m.version;
      entry->info.abi = format_abi(m.abi);
      const bool duplicate = std::any_of(plugins_.begin(), plugins_.end(), [&](const auto& p) {
        return p->manifest && p->manifest->id == m.id;
      });
      if (duplicate) {
        throw Error(ErrorCode::conflict, file.string() + ": another plugin with id \"" + m.id +
                                             "\" was found earlier in the plugin path; this one is ignored");
      }
      if (SB_ABI_MAJOR(m.abi) != SB_ABI_VERSION_MAJOR || SB_ABI_MINOR(m.abi) > SB_ABI_VERSION_MINOR) {
        throw Error(ErrorCode::invalid_argument,
                    file.string() + ": plugin " + m.id + " needs host ABI " + format_abi(m.abi) +
                        " but this host provides ABI " + format_abi(SB_ABI_VERSION) +
                        " (same major and a minor no higher than the host's are required)");
      }
      entry->manifest = std::move(m);
      to_load.push_back(entry.get());
    } catch (const Error& e) {
      entry->info.error = e.what();
      spdlog::error("plugin {} not loaded: {}", entry->info.id, e.what());
    }
    plugins_.push_back(std::move(entry));
  }

  for (Loaded* entry : to_load) {
    try {
      load(*entry);
      entry->info.loaded = true;
      spdlog::info("plugin {} {} ({}) loaded from {}", entry->info.id, entry->info.version, entry->info.kind,
                   entry->manifest->dir.string());
    } catch (const Error& e) {
      entry->info.error = e.what();
      entry->descriptor = nullptr;
      entry->library.reset();
      entry->manifest.reset();
      spdlog::error("plugin {} not loaded: {}", entry->info.id, e.what());
    }
  }
}

void PluginRegistry::load(Loaded& entry) {
  const Manifest& m = *entry.manifest;
  const auto path = m.dir / m.library;
  const std::string who = "plugin " + m.id + " (" + path.string() + ")";
  if (!std::filesystem::exists(path)) {
    throw Error(ErrorCode::not_found, who + ": the library file named in plugin.json does not exist");
  }
  auto library = std::make_shared<boost::dll::shared_library>();
  std::error_code ec;
  library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) throw Error(ErrorCode::invalid_argument, who + ": cannot load the library: " + ec.message());
  for (const char* symbol : {SB_PLUGIN_ABI_VERSION_SYMBOL, SB_PLUGIN_INIT_SYMBOL}) {
    if (!library->has(symbol)) {
      throw Error(ErrorCode::invalid_argument, who + ": missing exported symbol " + symbol);
    }
  }
  const uint32_t abi = library->get<uint32_t()>(SB_PLUGIN_ABI_VERSION_SYMBOL)();
  if (SB_ABI_MAJOR(abi) != SB_ABI_VERSION_MAJOR || SB_ABI_MINOR(abi) > SB_ABI_VERSION_MINOR) {
    throw Error(ErrorCode::invalid_argument, who + ": built for ABI " + format_abi(abi) + " but this host provides ABI " +
                                                 format_abi(SB_ABI_VERSION) +
                                                 " (same major and a minor no higher than the host's are required)");
  }
  auto init = library->get<sb_status(const sb_host_api*, const sb_plugin_descriptor**)>(SB_PLUGIN_INIT_SYMBOL);
  const sb_plugin_descriptor* descriptor = nullptr;
  HostServices::begin_call();
  const sb_status status = init(services_.api(), &descriptor);
  if (status != SB_OK) {
    std::string message = HostServices::take_error();
    throw Error(ErrorCode::plugin_error, who + ": sb_plugin_init failed with " + std::string(status_name(status)) +
                                             (message.empty() ? "" : ": " + message));
  }
  if (!descriptor || descriptor->size < kDescriptorSize_1_0) {
    throw Error(ErrorCode::plugin_error, who + ": sb_plugin_init returned no descriptor or one too small");
  }
  const std::string desc_id(descriptor->id.data ? descriptor->id.data : "", descriptor->id.len);
  if (desc_id != m.id) {
    throw Error(ErrorCode::plugin_error,
                who + ": the library calls itself \"" + desc_id + "\" but plugin.json says \"" + m.id + "\"");
  }
  if (descriptor->kind != to_sb_kind(m.kind)) {
    throw Error(ErrorCode::plugin_error, who + ": the library's kind differs from plugin.json's \"" +
                                             std::string(to_string(m.kind)) + "\"");
  }
  if (!descriptor->table) throw Error(ErrorCode::plugin_error, who + ": the descriptor has no function table");
  const uint32_t table_size = *static_cast<const uint32_t*>(descriptor->table);
  const size_t required = required_table_size(m.kind);
  if (table_size < required) {
    throw Error(ErrorCode::plugin_error, who + ": its " + std::string(to_string(m.kind)) + " table is " +
                                             std::to_string(table_size) + " bytes but ABI " +
                                             format_abi(SB_ABI_VERSION) + " requires at least " +
                                             std::to_string(required));
  }
  const auto missing = missing_callbacks(m.kind, descriptor->table);
  if (!missing.empty()) {
    std::string names;
    for (const auto& n : missing) names += (names.empty() ? "" : ", ") + n;
    throw Error(ErrorCode::plugin_error, who + ": required callbacks are NULL: " + names);
  }
  entry.library = std::move(library);
  entry.descriptor = descriptor;
  entry.info.abi = format_abi(abi);
}

std::vector<PluginInfo> PluginRegistry::list() const {
  std::vector<PluginInfo> out;
  for (const auto& p : plugins_) out.push_back(p->info);
  return out;
}

const Manifest* PluginRegistry::manifest(const std::string& plugin_id) const {
  for (const auto& p : plugins_) {
    if (p->info.loaded && p->manifest && p->manifest->id == plugin_id) return &*p->manifest;
  }
  return nullptr;
}

const PluginRegistry::Loaded& PluginRegistry::find_loaded(const std::string& plugin_id) const {
  for (const auto& p : plugins_) {
    if (p->info.id != plugin_id) continue;
    if (!p->info.loaded) {
      throw Error(ErrorCode::not_found, "plugin " + plugin_id + " is not loaded: " + p->info.error);
    }
    return *p;
  }
  throw Error(ErrorCode::not_found, "no plugin with id \"" + plugin_id + "\" was found in the plugin path");
}

const PluginRegistry::Loaded& PluginRegistry::require(const std::string& plugin_id, PluginKind kind) const {
  const Loaded& p = find_loaded(plugin_id);
  if (p.manifest->kind != kind) {
    throw Error(ErrorCode::invalid_argument, "plugin " + plugin_id + " is a " +
                                                 std::string(to_string(p.manifest->kind)) + " plugin, not a " +
                                                 std::string(to_string(kind)) + " plugin");
  }
  return p;
}

namespace {

template <class Table>
void create_instance(HostServices& services, const Manifest& manifest, const Table* table, sb_host_ctx*& ctx,
                     void*& handle, const nlohmann::json& config, const std::string& instance_id) {
  const std::string text = config.dump();
  ctx = services.make_context(manifest.id, instance_id, config, manifest.config_schema);
  HostServices::begin_call();
  const sb_status status = table->create(ctx, to_str(text), &handle);
  std::string message = HostServices::take_error();
  if (status != SB_OK || !handle) {
    services.close_context(ctx);
    HostServices::free_context(ctx);
    ctx = nullptr;
    handle = nullptr;
    if (message.empty()) {
      message = status == SB_OK ? "create returned no instance" : "create failed without a message (plugin bug)";
    }
    throw PluginError(status == SB_OK ? SB_ERR_INTERNAL : status, manifest.id,
                      "plugin " + manifest.id + " could not create instance \"" + instance_id + "\": " + message);
  }
}

}  // namespace

template <class Instance, class Table>
std::unique_ptr<Instance> PluginRegistry::create_typed(PluginKind kind, const std::string& plugin_id,
                                                       const std::string& instance_id, const nlohmann::json& config) {
  const Loaded& p = require(plugin_id, kind);
  const nlohmann::json validated = validate_plugin_config(*p.manifest, config);
  auto table = static_cast<const Table*>(p.descriptor->table);
  std::unique_ptr<Instance> inst(
      new Instance(services_, p.library, plugin_id, instance_id, validated, p.manifest->config_schema));
  inst->api_ = table;
  inst->destroy_ = table->destroy;
  create_instance(services_, *p.manifest, table, inst->ctx_, inst->handle_, validated, instance_id);
  spdlog::debug("created {} instance {} with config {}", plugin_id, instance_id,
                redact_config(validated, p.manifest->config_schema).dump());
  return inst;
}

std::unique_ptr<ChannelInstance> PluginRegistry::create_channel(const std::string& plugin_id,
                                                                const std::string& instance_id,
                                                                const nlohmann::json& config) {
  return create_typed<ChannelInstance, sb_channel_api>(PluginKind::channel, plugin_id, instance_id, config);
}

std::unique_ptr<AiInstance> PluginRegistry::create_ai(const std::string& plugin_id, const std::string& instance_id,
                                                      const nlohmann::json& config) {
  return create_typed<AiInstance, sb_ai_api>(PluginKind::ai, plugin_id, instance_id, config);
}

std::unique_ptr<StorageConnection> PluginRegistry::create_storage(const std::string& plugin_id,
                                                                  const std::string& instance_id,
                                                                  const nlohmann::json& config) {
  return create_typed<StorageConnection, sb_storage_api>(PluginKind::storage, plugin_id, instance_id, config);
}

namespace {

// Every kind's table starts with size, version, create and destroy.
struct CommonTableHead {
  uint32_t size;
  uint32_t version;
  sb_status (*create)(sb_host_ctx* ctx, sb_str config_json, void** out);
  void (*destroy)(void* instance);
};
static_assert(offsetof(CommonTableHead, create) == offsetof(sb_channel_api, create));
static_assert(offsetof(CommonTableHead, destroy) == offsetof(sb_storage_api, destroy));
static_assert(offsetof(CommonTableHead, create) == offsetof(sb_ai_api, create));
static_assert(offsetof(CommonTableHead, destroy) == offsetof(sb_crm_api, destroy));

// An instance of a kind the host has no dedicated wrapper for yet.
class GenericInstance : public PluginInstance {
 public:
  GenericInstance(HostServices& services, std::shared_ptr<void> library, std::string plugin_id,
                  std::string instance_id, nlohmann::json config, nlohmann::json schema)
      : PluginInstance(services, std::move(library), std::move(plugin_id), std::move(instance_id), std::move(config),
                       std::move(schema)) {}
  void adopt(sb_host_ctx* ctx, void* handle, void (*destroy)(void*)) {
    ctx_ = ctx;
    handle_ = handle;
    destroy_ = destroy;
  }
};

}  // namespace

nlohmann::json PluginRegistry::probe(const std::string& plugin_id, const nlohmann::json& config) {
  const Loaded& p = find_loaded(plugin_id);
  const Manifest& m = *p.manifest;
  nlohmann::json report = {{"plugin", plugin_id}, {"kind", to_string(m.kind)}};
  if (m.kind == PluginKind::channel) {
    auto channel = create_channel(plugin_id, "probe", config);
    report["status"] = channel->status();
    report["capabilities"] = channel->capabilities();
  } else if (m.kind == PluginKind::ai) {
    auto ai = create_ai(plugin_id, "probe", config);
  } else if (m.kind == PluginKind::storage) {
    auto conn = create_storage(plugin_id, "probe", config);
    const sb_str dialect = conn->api()->dialect(conn->handle());
    report["dialect"] = std::string(dialect.data, dialect.len);
  } else {
    // Kinds without a wrapper yet: create and destroy through the common head.
    const nlohmann::json validated = validate_plugin_config(m, config);
    auto table = static_cast<const CommonTableHead*>(p.descriptor->table);
    auto inst = std::make_unique<GenericInstance>(services_, p.library, plugin_id, "probe", validated, m.config_schema);
    sb_host_ctx* ctx = nullptr;
    void* handle = nullptr;
    create_instance(services_, m, table, ctx, handle, validated, "probe");
    inst->adopt(ctx, handle, table->destroy);
  }
  report["created"] = true;
  return report;
}

// ---- PluginInstance ----

PluginInstance::PluginInstance(HostServices& services, std::shared_ptr<void> library, std::string plugin_id,
                               std::string instance_id, nlohmann::json config, nlohmann::json)
    : services_(services),
      library_(std::move(library)),
      plugin_id_(std::move(plugin_id)),
      instance_id_(std::move(instance_id)),
      config_(std::move(config)) {}

PluginInstance::~PluginInstance() {
  if (!ctx_) return;
  services_.close_context(ctx_);
  if (handle_ && destroy_) destroy_(handle_);
  HostServices::free_context(ctx_);
}

void PluginInstance::check(sb_status status, std::string_view what) const {
  if (status == SB_OK) return;
  std::string message = HostServices::take_error();
  if (message.empty()) {
    spdlog::error("plugin {} failed {} with {} and no message (plugin bug)", plugin_id_, what, status_name(status));
    message = "failed without a message (plugin bug)";
  }
  throw PluginError(status, plugin_id_, "plugin " + plugin_id_ + ": " + std::string(what) + ": " + message);
}

nlohmann::json PluginInstance::parse_result(const std::string& text, std::string_view what) const {
  try {
    auto json = nlohmann::json::parse(text);
    if (json.is_object()) return json;
  } catch (const nlohmann::json::parse_error&) {
  }
  spdlog::error("plugin {} returned malformed JSON from {}", plugin_id_, what);
  throw PluginError(SB_ERR_INTERNAL, plugin_id_,
                    "plugin " + plugin_id_ + " returned malformed JSON from " + std::string(what) +
                        " (a JSON object was expected)");
}

// ---- ChannelInstance ----

void ChannelInstance::connect() {
  if (!api_->connect) return;
  HostServices::begin_call();
  check(api_->connect(handle_), "connect");
}

void ChannelInstance::disconnect() {
  if (!api_->disconnect) return;
  HostServices::begin_call();
  check(api_->disconnect(handle_), "disconnect");
}

nlohmann::json ChannelInstance::send(const nlohmann::json& message) {
  const std::string text = message.dump();
  std::string out;
  sb_sink sink{&out, &append};
  HostServices::begin_call();
  check(api_->send(handle_, to_str(text), &sink), "send");
  return parse_result(out, "send");
}

nlohmann::json ChannelInstance::status() {
  std::string out;
  sb_sink sink{&out, &append};
  HostServices::begin_call();
  check(api_->status(handle_, &sink), "status");
  return parse_result(out, "status");
}

nlohmann::json ChannelInstance::capabilities() {
  if (!api_->capabilities) return {{"message_types", {"text"}}};
  std::string out;
  sb_sink sink{&out, &append};
  HostServices::begin_call();
  check(api_->capabilities(handle_, &sink), "capabilities");
  return parse_result(out, "capabilities");
}

nlohmann::json ChannelInstance::call(const std::string& op, const nlohmann::json& request) {
  auto unsupported = [&] {
    return PluginError(SB_ERR_UNSUPPORTED, plugin_id(),
                       "\"" + op + "\" is not supported by this channel (" + plugin_id() + ")");
  };
  if (!SB_HAS_SLOT(api_, sb_channel_api, call) || !api_->call) throw unsupported();
  const std::string text = request.is_null() ? std::string("{}") : request.dump();
  std::string out;
  sb_sink sink{&out, &append};
  HostServices::begin_call();
  const sb_status status = api_->call(handle_, to_str(op), to_str(text), &sink);
  if (status == SB_ERR_UNSUPPORTED) {
    HostServices::take_error();
    throw unsupported();
  }
  check(status, op);
  if (out.empty()) return nlohmann::json::object();
  return parse_result(out, op);
}

// ---- AiInstance ----

nlohmann::json AiInstance::invoke(sb_status (*fn)(void*, sb_str, sb_sink*), const nlohmann::json& request,
                                  std::string_view what) {
  if (!fn) throw PluginError(SB_ERR_UNSUPPORTED, plugin_id(), "plugin " + plugin_id() + " does not offer " + std::string(what));
  const std::string text = request.dump();
  std::string out;
  sb_sink sink{&out, &append};
  HostServices::begin_call();
  check(fn(handle_, to_str(text), &sink), what);
  return parse_result(out, what);
}

nlohmann::json AiInstance::embed(const nlohmann::json& request) { return invoke(api_->embed, request, "embed"); }
nlohmann::json AiInstance::chat(const nlohmann::json& request) { return invoke(api_->chat, request, "chat"); }
nlohmann::json AiInstance::classify(const nlohmann::json& request) {
  return invoke(api_->classify, request, "classify");
}

nlohmann::json AiInstance::chat_stream(const nlohmann::json& request,
                                       const std::function<void(std::string_view)>& on_delta) {
  nlohmann::json result;
  bool streamed = false;
  if (SB_HAS_SLOT(api_, sb_ai_api, chat_stream) && api_->chat_stream) {
    struct Relay {
      const std::function<void(std::string_view)>* fn;
      bool* streamed;
      static void write(void* ctx, const char* data, size_t len) {
        auto* self = static_cast<Relay*>(ctx);
        *self->streamed = true;
        // A host callback's exception must not cross the plugin's frames.
        try {
          (*self->fn)(std::string_view(data, len));
        } catch (const std::exception& e) {
          spdlog::warn("chat_stream: a delta could not be passed on: {}", e.what());
        }
      }
    } relay{&on_delta, &streamed};
    const std::string text = request.dump();
    std::string out;
    sb_sink delta{&relay, &Relay::write};
    sb_sink sink{&out, &append};
    HostServices::begin_call();
    check(api_->chat_stream(handle_, to_str(text), &delta, &sink), "chat_stream");
    result = parse_result(out, "chat_stream");
  } else {
    result = chat(request);
  }
  if (!streamed) {
    const auto it = result.find("text");
    if (it != result.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) on_delta(it->get<std::string>());
  }
  return result;
}

}  // namespace sb::plugins
