#include "plugins/host_services.hpp"

#include "core/error.hpp"
#include "plugins/http_client.hpp"
#include "plugins/plugin_error.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

// The host's context for one plugin instance. Owned by HostServices.
struct sb_host_ctx {
  sb::plugins::HostServices* services = nullptr;
  std::string plugin_id;
  std::string instance_id;
  nlohmann::json config;
  nlohmann::json schema;
  std::mutex timers_mu;
  std::set<uint64_t> timers;  // pending timer ids
  bool closed = false;        // guarded by timers_mu: no new timers after close
  std::atomic<int> requests_in_flight{0};
};

// A routed request's response, filled by sb_host_api.respond.
struct sb_http_response {
  sb::plugins::HookResponse* response;
  bool responded = false;
};

namespace sb::plugins {
namespace {

thread_local std::string t_error;

std::string_view view(sb_str s) { return s.data ? std::string_view(s.data, s.len) : std::string_view(); }

void write_sink(sb_sink* sink, std::string_view text) {
  if (sink && sink->write && !text.empty()) sink->write(sink->ctx, text.data(), text.size());
}

sb_status status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::payload_too_large:
    case ErrorCode::unsupported_media_type: return SB_ERR_INVALID_ARGUMENT;
    case ErrorCode::not_found: return SB_ERR_NOT_FOUND;
    case ErrorCode::conflict: return SB_ERR_CONFLICT;
    case ErrorCode::rate_limited: return SB_ERR_BUSY;
    case ErrorCode::unavailable: return SB_ERR_UNAVAILABLE;
    case ErrorCode::timeout: return SB_ERR_TIMEOUT;
    default: return SB_ERR_INTERNAL;
  }
}

// ---- the C entry points of sb_host_api ----

void host_log(sb_host_ctx* ctx, int32_t level, sb_str message) {
  if (!ctx) return;
  spdlog::level::level_enum lvl = spdlog::level::info;
  switch (level) {
    case SB_LOG_TRACE: lvl = spdlog::level::trace; break;
    case SB_LOG_DEBUG: lvl = spdlog::level::debug; break;
    case SB_LOG_INFO: lvl = spdlog::level::info; break;
    case SB_LOG_WARN: lvl = spdlog::level::warn; break;
    default: lvl = spdlog::level::err; break;
  }
  spdlog::log(lvl, "[{}/{}] {}", ctx->plugin_id, ctx->instance_id, view(message));
}

void host_set_error(sb_host_ctx*, sb_str message) { t_error.assign(view(message)); }

sb_status host_emit(sb_host_ctx* ctx, sb_str type, sb_str event_json, sb_sink* result) {
  auto fail = [&](const Error& e) {
    spdlog::warn("[{}/{}] {} event refused: {}", ctx->plugin_id, ctx->instance_id, view(type), e.what());
    write_sink(result, e.to_json().dump());
    return status_for(e.code());
  };
  try {
    PluginEventSink* sink = ctx->services->event_sink();
    if (!sink) throw Error(ErrorCode::unavailable, "the host is not accepting events yet");
    nlohmann::json event;
    try {
      event = nlohmann::json::parse(view(event_json));
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(ErrorCode::invalid_argument,
                  "plugin " + ctx->plugin_id + " emitted malformed JSON for " + std::string(view(type)) + ": " + e.what());
    }
    const nlohmann::json out = sink->on_plugin_event(ctx->plugin_id, ctx->instance_id, view(type), event);
    write_sink(result, out.dump());
    return SB_OK;
  } catch (const Error& e) {
    return fail(e);
  } catch (const std::exception& e) {
    return fail(Error(ErrorCode::internal, std::string("internal error: ") + e.what()));
  }
}

sb_status host_kv_get(sb_host_ctx* ctx, sb_str key, sb_sink* out) {
  try {
    PluginStateStore* store = ctx->services->state_store();
    if (!store) return SB_ERR_UNAVAILABLE;
    auto value = store->get(ctx->plugin_id, ctx->instance_id, std::string(view(key)));
    if (!value) return SB_ERR_NOT_FOUND;
    write_sink(out, *value);
    return SB_OK;
  } catch (const std::exception& e) {
    spdlog::error("[{}/{}] kv_get failed: {}", ctx->plugin_id, ctx->instance_id, e.what());
    return SB_ERR_UNAVAILABLE;
  }
}

sb_status host_kv_put(sb_host_ctx* ctx, sb_str key, sb_str value) {
  try {
    PluginStateStore* store = ctx->services->state_store();
    if (!store) return SB_ERR_UNAVAILABLE;
    store->put(ctx->plugin_id, ctx->instance_id, std::string(view(key)), std::string(view(value)));
    return SB_OK;
  } catch (const std::exception& e) {
    spdlog::error("[{}/{}] kv_put failed: {}", ctx->plugin_id, ctx->instance_id, e.what());
    return SB_ERR_UNAVAILABLE;
  }
}

sb_status host_kv_delete(sb_host_ctx* ctx, sb_str key) {
  try {
    PluginStateStore* store = ctx->services->state_store();
    if (!store) return SB_ERR_UNAVAILABLE;
    store->erase(ctx->plugin_id, ctx->instance_id, std::string(view(key)));
    return SB_OK;
  } catch (const std::exception& e) {
    spdlog::error("[{}/{}] kv_delete failed: {}", ctx->plugin_id, ctx->instance_id, e.what());
    return SB_ERR_UNAVAILABLE;
  }
}

// Secrets are the instance config's properties marked "secret": true.
sb_status host_secret_get(sb_host_ctx* ctx, sb_str name, sb_sink* out) {
  const std::string key(view(name));
  const auto props = ctx->schema.find("properties");
  if (props == ctx->schema.end() || !props->contains(key) || !(*props)[key].value("secret", false)) {
    return SB_ERR_NOT_FOUND;
  }
  auto it = ctx->config.find(key);
  if (it == ctx->config.end() || !it->is_string()) return SB_ERR_NOT_FOUND;
  write_sink(out, it->get<std::string>());
  return SB_OK;
}

sb_status host_timer_start(sb_host_ctx* ctx, uint64_t delay_ms, sb_timer_fn fn, void* user, uint64_t* timer_id) {
  if (!fn) return SB_ERR_INVALID_ARGUMENT;
  std::lock_guard lock(ctx->timers_mu);
  if (ctx->closed) return SB_ERR_UNAVAILABLE;
  // The id is known only after schedule(); the callback looks it up through
  // a shared cell. It stays in the pending set until the callback returned,
  // so that close_context() waits for a running callback before the
  // instance is destroyed.
  auto cell = std::make_shared<std::atomic<uint64_t>>(0);
  const uint64_t id = ctx->services->scheduler().schedule(std::chrono::milliseconds(delay_ms), [ctx, fn, user, cell] {
    fn(user);
    std::lock_guard l(ctx->timers_mu);
    ctx->timers.erase(cell->load());
  });
  if (id == 0) return SB_ERR_UNAVAILABLE;
  cell->store(id);
  ctx->timers.insert(id);
  if (timer_id) *timer_id = id;
  return SB_OK;
}

sb_status host_timer_cancel(sb_host_ctx* ctx, uint64_t timer_id) {
  if (ctx->services->scheduler().cancel(timer_id)) {
    std::lock_guard lock(ctx->timers_mu);
    ctx->timers.erase(timer_id);
    return SB_OK;
  }
  return SB_ERR_NOT_FOUND;
}

sb_status host_http_request(sb_host_ctx* ctx, sb_str request_json, sb_sink* response_json) {
  try {
    const auto request = nlohmann::json::parse(view(request_json));
    const nlohmann::json response = perform_http_request(request);
    // A body that is not UTF-8 (binary) should have asked for "response_body":"base64".
    write_sink(response_json, response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return SB_OK;
  } catch (const nlohmann::json::exception& e) {
    t_error = std::string("malformed HTTP request description: ") + e.what();
    return SB_ERR_INVALID_ARGUMENT;
  } catch (const Error& e) {
    spdlog::debug("[{}/{}] outbound HTTP failed: {}", ctx->plugin_id, ctx->instance_id, e.what());
    t_error = e.what();
    return status_for(e.code());
  } catch (const std::exception& e) {
    t_error = std::string("outbound HTTP failed: ") + e.what();
    return SB_ERR_INTERNAL;
  } catch (...) {
    t_error = "outbound HTTP failed with an unknown exception";
    return SB_ERR_INTERNAL;
  }
}

sb_status host_http_stream(sb_host_ctx* ctx, sb_str request_json, sb_sink* head, sb_sink* body) {
  try {
    const auto request = nlohmann::json::parse(view(request_json));
    perform_http_stream(
        request,
        [head](const nlohmann::json& h) {
          write_sink(head, h.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        },
        [body](std::string_view piece) { write_sink(body, piece); });
    return SB_OK;
  } catch (const nlohmann::json::exception& e) {
    t_error = std::string("malformed HTTP request description: ") + e.what();
    return SB_ERR_INVALID_ARGUMENT;
  } catch (const Error& e) {
    spdlog::debug("[{}/{}] outbound HTTP stream failed: {}", ctx->plugin_id, ctx->instance_id, e.what());
    t_error = e.what();
    return status_for(e.code());
  } catch (const std::exception& e) {
    // No exception may leave through the C boundary.
    t_error = std::string("outbound HTTP stream failed: ") + e.what();
    return SB_ERR_INTERNAL;
  } catch (...) {
    t_error = "outbound HTTP stream failed with an unknown exception";
    return SB_ERR_INTERNAL;
  }
}

sb_status host_route_register(sb_host_ctx* ctx, sb_str method, sb_str path, sb_route_fn fn, void* user) {
  if (!fn || ctx->instance_id.empty()) return SB_ERR_INVALID_ARGUMENT;
  std::string p(view(path));
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  if (p.empty()) return SB_ERR_INVALID_ARGUMENT;
  std::string m(view(method));
  for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ctx->services->add_route(ctx, m, p, fn, user);
  return SB_OK;
}

void host_respond(sb_http_response* resp, int32_t status, sb_str content_type, sb_str body) {
  if (!resp || resp->responded) return;
  resp->responded = true;
  resp->response->status = status;
  resp->response->content_type = std::string(view(content_type));
  resp->response->body = std::string(view(body));
}

sb_str host_instance_id(sb_host_ctx* ctx) { return sb_str{ctx->instance_id.data(), ctx->instance_id.size()}; }

// ---- ABI 1.1 ----

sb_status host_blob_put(sb_host_ctx* ctx, sb_str content_type, const void* data, size_t len, sb_sink* out_ref) {
  try {
    PluginBlobStore* blobs = ctx->services->blob_store();
    if (!blobs) {
      t_error = "this host has no blob store configured";
      return SB_ERR_UNAVAILABLE;
    }
    if (!data && len > 0) {
      t_error = "blob_put: data is NULL";
      return SB_ERR_INVALID_ARGUMENT;
    }
    const std::string ref = blobs->put(ctx->plugin_id, ctx->instance_id, view(content_type),
                                       std::string_view(static_cast<const char*>(data), len));
    write_sink(out_ref, ref);
    return SB_OK;
  } catch (const Error& e) {
    spdlog::error("[{}/{}] blob_put failed: {}", ctx->plugin_id, ctx->instance_id, e.what());
    t_error = e.what();
    return status_for(e.code());
  } catch (const std::exception& e) {
    spdlog::error("[{}/{}] blob_put failed: {}", ctx->plugin_id, ctx->instance_id, e.what());
    t_error = e.what();
    return SB_ERR_INTERNAL;
  }
}

sb_status host_blob_get(sb_host_ctx* ctx, sb_str ref, sb_sink* meta_json_out, sb_sink* data_out) {
  try {
    PluginBlobStore* blobs = ctx->services->blob_store();
    if (!blobs) {
      t_error = "this host has no blob store configured";
      return SB_ERR_UNAVAILABLE;
    }
    auto blob = blobs->get(ctx->plugin_id, ctx->instance_id, view(ref));
    if (!blob) {
      t_error = "no blob " + std::string(view(ref)) + " in this workspace";
      return SB_ERR_NOT_FOUND;
    }
    write_sink(meta_json_out, blob->meta.dump());
    write_sink(data_out, blob->data);
    return SB_OK;
  } catch (const Error& e) {
    t_error = e.what();
    return status_for(e.code());
  } catch (const std::exception& e) {
    spdlog::error("[{}/{}] blob_get failed: {}", ctx->plugin_id, ctx->instance_id, e.what());
    t_error = e.what();
    return SB_ERR_INTERNAL;
  }
}

}  // namespace

HostServices::HostServices(Scheduler& scheduler) : scheduler_(scheduler) {
  api_.size = sizeof(sb_host_api);
  api_.version = SB_ABI_VERSION;
  api_.log = &host_log;
  api_.set_error = &host_set_error;
  api_.emit = &host_emit;
  api_.kv_get = &host_kv_get;
  api_.kv_put = &host_kv_put;
  api_.kv_delete = &host_kv_delete;
  api_.secret_get = &host_secret_get;
  api_.timer_start = &host_timer_start;
  api_.timer_cancel = &host_timer_cancel;
  api_.http_request = &host_http_request;
  api_.route_register = &host_route_register;
  api_.respond = &host_respond;
  api_.instance_id = &host_instance_id;
  api_.blob_put = &host_blob_put;
  api_.blob_get = &host_blob_get;
  api_.http_stream = &host_http_stream;
}

HostServices::~HostServices() = default;

void HostServices::begin_call() { t_error.clear(); }

std::string HostServices::take_error() {
  std::string e;
  e.swap(t_error);
  return e;
}

sb_host_ctx* HostServices::make_context(const std::string& plugin_id, const std::string& instance_id,
                                        nlohmann::json config, nlohmann::json schema) {
  auto* ctx = new sb_host_ctx;
  ctx->services = this;
  ctx->plugin_id = plugin_id;
  ctx->instance_id = instance_id;
  ctx->config = std::move(config);
  ctx->schema = std::move(schema);
  return ctx;
}

std::string HostServices::route_key(const std::string& plugin, const std::string& instance) {
  return plugin + "/" + instance;
}

void HostServices::add_route(sb_host_ctx* ctx, std::string method, std::string path, sb_route_fn fn, void* user) {
  std::unique_lock lock(routes_mu_);
  routes_[route_key(ctx->plugin_id, ctx->instance_id)][method + " " + path] = Route{fn, user, ctx};
}

void HostServices::close_context(sb_host_ctx* ctx) {
  if (!ctx) return;
  {
    std::unique_lock lock(routes_mu_);
    routes_.erase(route_key(ctx->plugin_id, ctx->instance_id));
  }
  // Requests that found a route before it was removed finish first.
  while (ctx->requests_in_flight.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::set<uint64_t> pending;
  {
    std::lock_guard lock(ctx->timers_mu);
    ctx->closed = true;
    pending.swap(ctx->timers);
  }
  for (uint64_t id : pending) scheduler_.cancel(id);  // waits for a running callback
}

void HostServices::free_context(sb_host_ctx* ctx) { delete ctx; }

HookResponse HostServices::dispatch_hook(const std::string& plugin_id, const std::string& instance_id,
                                         const HookRequest& request) {
  Route route{};
  {
    std::shared_lock lock(routes_mu_);
    auto inst = routes_.find(route_key(plugin_id, instance_id));
    if (inst == routes_.end()) {
      throw Error(ErrorCode::not_found, "no " + plugin_id + " instance \"" + instance_id + "\" is running here");
    }
    auto it = inst->second.find(request.method + " " + request.path);
    if (it == inst->second.end()) {
      for (const auto& [key, r] : inst->second) {
        if (key.substr(key.find(' ') + 1) == request.path) {
          throw Error(ErrorCode::method_not_allowed,
                      request.method + " is not allowed on /hooks/" + plugin_id + "/" + instance_id + "/" + request.path);
        }
      }
      throw Error(ErrorCode::not_found,
                  "no hook /hooks/" + plugin_id + "/" + instance_id + "/" + request.path);
    }
    route = it->second;
    route.ctx->requests_in_flight.fetch_add(1);
  }
  struct InFlight {
    sb_host_ctx* ctx;
    ~InFlight() { ctx->requests_in_flight.fetch_sub(1); }
  } in_flight{route.ctx};

  const std::string query = request.query.dump();
  const std::string headers = request.headers.dump();
  sb_http_request req{};
  req.size = sizeof(sb_http_request);
  req.method = sb_str{request.method.data(), request.method.size()};
  req.path = sb_str{request.path.data(), request.path.size()};
  req.query_json = sb_str{query.data(), query.size()};
  req.headers_json = sb_str{headers.data(), headers.size()};
  req.body = sb_str{request.body.data(), request.body.size()};
  req.request_id = sb_str{request.request_id.data(), request.request_id.size()};

  HookResponse response;
  sb_http_response resp{&response, false};
  begin_call();
  const sb_status status = route.fn(route.user, route.ctx, &req, &resp);
  std::string error = take_error();
  if (resp.responded) return response;
  if (status == SB_OK) {
    spdlog::error("[{}/{}] hook {} {} returned without responding (plugin bug)", plugin_id, instance_id,
                  request.method, request.path);
    throw Error(ErrorCode::plugin_error, "plugin " + plugin_id + " did not answer the request");
  }
  if (error.empty()) {
    spdlog::error("[{}/{}] hook {} {} failed with {} and no message (plugin bug)", plugin_id, instance_id,
                  request.method, request.path, status_name(status));
    error = "plugin " + plugin_id + " failed without a message (" + std::string(status_name(status)) + ")";
  }
  throw PluginError(status, plugin_id, error);
}

}  // namespace sb::plugins
