// Switchboard plugin SDK — header-only C++ layer over plugin.h.
//
// A plugin author writes one class and one macro:
//
//   class Echo : public switchboard::Channel {
//    public:
//     Echo(switchboard::Host host, std::string_view config_json) : Channel(host) {}
//     std::string send(std::string_view message_json) override { ... }
//   };
//   SWITCHBOARD_CHANNEL_PLUGIN(Echo, "channel-echo", "1.0.0")
//
// Every exception thrown by the class is caught at the C boundary and turned
// into host->set_error plus a status code: throw switchboard::Error(SB_ERR_...,
// "message") to choose the code; any other exception becomes SB_ERR_INTERNAL.
// Nothing here depends on anything but the C++ standard library.
#ifndef SWITCHBOARD_PLUGIN_HPP
#define SWITCHBOARD_PLUGIN_HPP

#include <switchboard/plugin.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard {

// An error with a status code, thrown by plugin code and turned into the
// status it carries at the C boundary.
class Error : public std::runtime_error {
public:
    Error(sb_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    sb_status status() const noexcept { return status_; }

private:
    sb_status status_;
};

// The host refused an emitted event. body() is the host's error document,
// {"error": {"code": "...", "message": "..."}}, ready to pass on.
class HostError : public Error {
public:
    HostError(sb_status status, const std::string& message, std::string body)
        : Error(status, message), body_(std::move(body)) {}
    const std::string& body() const noexcept { return body_; }

private:
    std::string body_;
};

namespace detail {

inline const sb_host_api*& host_api_slot() {
    static const sb_host_api* api = nullptr;
    return api;
}

inline std::string_view view(sb_str s) { return s.data ? std::string_view(s.data, s.len) : std::string_view(); }
inline sb_str str(std::string_view s) { return sb_str{s.data(), s.size()}; }

inline void append_to_string(void* ctx, const char* data, size_t len) {
    static_cast<std::string*>(ctx)->append(data, len);
}

inline void write(sb_sink* sink, std::string_view s) {
    if (sink && sink->write && !s.empty()) sink->write(sink->ctx, s.data(), s.size());
}

// Runs `fn`, turning every exception into set_error + a status code.
template <class Fn>
sb_status guard(sb_host_ctx* ctx, Fn&& fn) noexcept {
    const sb_host_api* api = host_api_slot();
    auto report = [&](std::string_view message) {
        if (api && api->set_error && ctx) api->set_error(ctx, str(message));
    };
    try {
        fn();
        return SB_OK;
    } catch (const Error& e) {
        report(e.what());
        return e.status() == SB_OK ? SB_ERR_INTERNAL : e.status();
    } catch (const std::bad_alloc&) {
        report("out of memory");
        return SB_ERR_INTERNAL;
    } catch (const std::exception& e) {
        report(e.what());
        return SB_ERR_INTERNAL;
    } catch (...) {
        report("unknown exception in plugin");
        return SB_ERR_INTERNAL;
    }
}

}  // namespace detail

// A routed HTTP request, borrowed for the handler call.
struct Request {
    std::string_view method, path, query_json, headers_json, body, request_id;
};

// The response under construction; respond() at most once.
class Response {
public:
    explicit Response(sb_http_response* r) : r_(r) {}
    void respond(int status, std::string_view content_type, std::string_view body) {
        detail::host_api_slot()->respond(r_, status, detail::str(content_type), detail::str(body));
    }
    void json(int status, std::string_view body) { respond(status, "application/json", body); }

private:
    sb_http_response* r_;
};

using RouteHandler = std::function<void(const Request&, Response&)>;

// The host's services for one instance: a cheap value wrapping the context.
class Host {
public:
    explicit Host(sb_host_ctx* ctx) : ctx_(ctx) {}
    sb_host_ctx* ctx() const { return ctx_; }
    const sb_host_api& api() const { return *detail::host_api_slot(); }

    void log(int level, std::string_view message) const { api().log(ctx_, level, detail::str(message)); }
    void debug(std::string_view m) const { log(SB_LOG_DEBUG, m); }
    void info(std::string_view m) const { log(SB_LOG_INFO, m); }
    void warn(std::string_view m) const { log(SB_LOG_WARN, m); }
    void error(std::string_view m) const { log(SB_LOG_ERROR, m); }

    // Hands an event to the host; returns the host's JSON result. Throws
    // Error with the host's status when the host refused the event.
    std::string emit(std::string_view type, std::string_view json) const {
        std::string out;
        sb_sink sink{&out, &detail::append_to_string};
        sb_status st = api().emit(ctx_, detail::str(type), detail::str(json), &sink);
        if (st != SB_OK) throw HostError(st, "the host refused the " + std::string(type) + " event", out);
        return out;
    }

    std::optional<std::string> kv_get(std::string_view key) const {
        std::string out;
        sb_sink sink{&out, &detail::append_to_string};
        sb_status st = api().kv_get(ctx_, detail::str(key), &sink);
        if (st == SB_ERR_NOT_FOUND) return std::nullopt;
        if (st != SB_OK) throw Error(st, "reading plugin state failed");
        return out;
    }
    void kv_put(std::string_view key, std::string_view value) const {
        sb_status st = api().kv_put(ctx_, detail::str(key), detail::str(value));
        if (st != SB_OK) throw Error(st, "writing plugin state failed");
    }
    void kv_delete(std::string_view key) const { api().kv_delete(ctx_, detail::str(key)); }

    std::optional<std::string> secret(std::string_view name) const {
        std::string out;
        sb_sink sink{&out, &detail::append_to_string};
        sb_status st = api().secret_get(ctx_, detail::str(name), &sink);
        if (st == SB_ERR_NOT_FOUND) return std::nullopt;
        if (st != SB_OK) throw Error(st, "reading a secret failed");
        return out;
    }

    // {"method","url","headers","body","timeout_ms"} -> {"status","headers","body"}
    std::string http(std::string_view request_json) const {
        std::string out;
        sb_sink sink{&out, &detail::append_to_string};
        sb_status st = api().http_request(ctx_, detail::str(request_json), &sink);
        if (st != SB_OK) throw Error(st, "outbound HTTP request failed");
        return out;
    }

    // ABI 1.2: outbound HTTP whose response body is read as it arrives.
    // `on_head` gets {"status","headers"} once, before any of the body;
    // `on_body` gets each piece of the body. Both run on this thread.
    // Throws Error with the host's status when no response came or the
    // stream broke off.
    void http_stream(std::string_view request_json, const std::function<void(std::string_view)>& on_head,
                     const std::function<void(std::string_view)>& on_body) const {
        if (!SB_HAS_SLOT(&api(), sb_host_api, http_stream) || !api().http_stream) {
            throw Error(SB_ERR_UNSUPPORTED, "this host cannot stream HTTP responses (ABI 1.2 needed)");
        }
        // An exception of a callback must not unwind through the host: it is
        // kept, the rest of the stream is ignored, and it is rethrown here.
        struct Relay {
            const std::function<void(std::string_view)>* fn;
            std::exception_ptr* failed;
            static void write(void* ctx, const char* data, size_t len) {
                auto* self = static_cast<Relay*>(ctx);
                if (*self->failed) return;
                try {
                    (*self->fn)(std::string_view(data, len));
                } catch (...) {
                    *self->failed = std::current_exception();
                }
            }
        };
        std::exception_ptr failed;
        Relay head_relay{&on_head, &failed};
        Relay body_relay{&on_body, &failed};
        sb_sink head{&head_relay, &Relay::write};
        sb_sink body{&body_relay, &Relay::write};
        sb_status st = api().http_stream(ctx_, detail::str(request_json), &head, &body);
        if (failed) std::rethrow_exception(failed);
        if (st != SB_OK) throw Error(st, "outbound HTTP stream failed");
    }

    std::string_view instance_id() const { return detail::view(api().instance_id(ctx_)); }

    // ABI 1.1: the host's blob store (per workspace). Throws Error with the
    // host's status (SB_ERR_UNSUPPORTED on a host without a blob store).
    // Stores `data` and returns its reference "blob:<sha256>".
    std::string blob_put(std::string_view content_type, std::string_view data) const {
        if (!SB_HAS_SLOT(&api(), sb_host_api, blob_put) || !api().blob_put) {
            throw Error(SB_ERR_UNSUPPORTED, "this host has no blob store (ABI 1.1 needed)");
        }
        std::string ref;
        sb_sink sink{&ref, &detail::append_to_string};
        sb_status st = api().blob_put(ctx_, detail::str(content_type), data.data(), data.size(), &sink);
        if (st != SB_OK) throw Error(st, "storing a blob failed");
        return ref;
    }
    struct Blob {
        std::string meta_json;  // {"ref","content_type","size","sha256"}
        std::string data;
    };
    // The blob `ref` of this instance's workspace, or nullopt when there is none.
    std::optional<Blob> blob_get(std::string_view ref) const {
        if (!SB_HAS_SLOT(&api(), sb_host_api, blob_get) || !api().blob_get) {
            throw Error(SB_ERR_UNSUPPORTED, "this host has no blob store (ABI 1.1 needed)");
        }
        Blob blob;
        sb_sink meta{&blob.meta_json, &detail::append_to_string};
        sb_sink data{&blob.data, &detail::append_to_string};
        sb_status st = api().blob_get(ctx_, detail::str(ref), &meta, &data);
        if (st == SB_ERR_NOT_FOUND) return std::nullopt;
        if (st != SB_OK) throw Error(st, "reading blob " + std::string(ref) + " failed");
        return blob;
    }

private:
    sb_host_ctx* ctx_;
};

// Base of every instance: keeps the host handle, the route handlers and the
// timers, whose lifetimes the C boundary needs the instance to own.
class Instance {
public:
    explicit Instance(Host host) : host_(host) {}
    virtual ~Instance() = default;
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    const Host& host() const { return host_; }

    // Registers `handler` for METHOD /hooks/<plugin>/<instance>/<path>.
    void route(std::string_view method, std::string_view path, RouteHandler handler) {
        auto owned = std::make_unique<RouteHandler>(std::move(handler));
        sb_status st = host_.api().route_register(host_.ctx(), detail::str(method), detail::str(path),
                                                  &Instance::route_trampoline, owned.get());
        if (st != SB_OK) throw Error(st, "registering route " + std::string(path) + " failed");
        std::lock_guard<std::mutex> lock(mu_);
        routes_.push_back(std::move(owned));
    }

    // Runs `fn` once after `delay` on a host thread. Returns the timer id.
    uint64_t start_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
        auto* t = new TimerThunk{this, std::move(fn), 0};
        uint64_t id = 0;
        std::lock_guard<std::mutex> lock(mu_);
        sb_status st = host_.api().timer_start(host_.ctx(), static_cast<uint64_t>(delay.count()),
                                               &Instance::timer_trampoline, t, &id);
        if (st != SB_OK) {
            delete t;
            throw Error(st, "starting a timer failed");
        }
        t->id = id;
        timers_[id].reset(t);
        return id;
    }
    void cancel_timer(uint64_t id) {
        if (host_.api().timer_cancel(host_.ctx(), id) == SB_OK) {
            std::lock_guard<std::mutex> lock(mu_);
            timers_.erase(id);
        }
    }

private:
    struct TimerThunk {
        Instance* self;
        std::function<void()> fn;
        uint64_t id;
    };

    static sb_status route_trampoline(void* user, sb_host_ctx* ctx, const sb_http_request* req,
                                      sb_http_response* resp) {
        return detail::guard(ctx, [&] {
            Request r{detail::view(req->method),     detail::view(req->path),
                      detail::view(req->query_json), detail::view(req->headers_json),
                      detail::view(req->body),       detail::view(req->request_id)};
            Response w(resp);
            (*static_cast<RouteHandler*>(user))(r, w);
        });
    }

    static void timer_trampoline(void* user) {
        auto* t = static_cast<TimerThunk*>(user);
        Instance* self = t->self;
        detail::guard(self->host_.ctx(), [&] { t->fn(); });
        std::unique_ptr<TimerThunk> done;
        std::lock_guard<std::mutex> lock(self->mu_);
        auto it = self->timers_.find(t->id);
        if (it != self->timers_.end()) {
            done = std::move(it->second);
            self->timers_.erase(it);
        }
    }

    Host host_;
    std::mutex mu_;
    std::vector<std::unique_ptr<RouteHandler>> routes_;
    std::map<uint64_t, std::unique_ptr<TimerThunk>> timers_;
};

// ---- Kind bases: override what the plugin supports. ----------------------

class Channel : public Instance {
public:
    using Instance::Instance;
    virtual void connect() {}
    virtual void disconnect() {}
    // Returns {"external_id": "..."}.
    virtual std::string send(std::string_view message_json) = 0;
    virtual std::string status() { return R"({"status":"CONNECTED"})"; }
    virtual std::string capabilities() { return R"({"message_types":["text"]})"; }
    // ABI 1.1: an optional operation (SB_OP_*, see plugin.h); returns a JSON
    // object. The default answers SB_ERR_UNSUPPORTED for every op.
    virtual std::string call(std::string_view op, std::string_view /*request_json*/) {
        throw Error(SB_ERR_UNSUPPORTED, "operation " + std::string(op) + " is not supported by this channel");
    }
};

class Ai : public Instance {
public:
    using Instance::Instance;
    virtual std::string embed(std::string_view) { throw Error(SB_ERR_UNSUPPORTED, "embed is not supported"); }
    virtual std::string chat(std::string_view) { throw Error(SB_ERR_UNSUPPORTED, "chat is not supported"); }
    virtual std::string classify(std::string_view) {
        throw Error(SB_ERR_UNSUPPORTED, "classify is not supported");
    }
    // ABI 1.2: chat, handing each piece of the answer to `delta` as it is
    // produced, then returning chat's result. The default answers with
    // chat() and hands over no pieces: the host then takes the whole text
    // as one piece.
    virtual std::string chat_stream(std::string_view request_json,
                                    const std::function<void(std::string_view)>& /*delta*/) {
        return chat(request_json);
    }
};

class Crm : public Instance {
public:
    using Instance::Instance;
    virtual std::string upsert_contact(std::string_view) = 0;
    virtual std::string find_contact(std::string_view) = 0;
};

class Statement {
public:
    virtual ~Statement() = default;
    virtual void reset() = 0;
    virtual void bind_null(int index) = 0;
    virtual void bind_int64(int index, int64_t value) = 0;
    virtual void bind_double(int index, double value) = 0;
    virtual void bind_text(int index, std::string_view value) = 0;
    virtual void bind_blob(int index, const void* data, size_t len) = 0;
    // True when a row is available.
    virtual bool step() = 0;
    virtual int column_count() = 0;
    virtual std::string_view column_name(int col) = 0;
    virtual int column_type(int col) = 0;
    virtual int64_t column_int64(int col) = 0;
    virtual double column_double(int col) = 0;
    virtual std::string_view column_text(int col) = 0;
    virtual std::string_view column_blob(int col) = 0;
};

class Storage : public Instance {
public:
    using Instance::Instance;
    virtual void exec(std::string_view sql) = 0;
    virtual std::unique_ptr<Statement> prepare(std::string_view sql) = 0;
    virtual int64_t changes() = 0;
    virtual int64_t last_insert_id() = 0;
    virtual std::string_view dialect() = 0;
};

namespace detail {

template <class T>
sb_status create_instance(sb_host_ctx* ctx, sb_str config, void** out) {
    return guard(ctx, [&] { *out = static_cast<Instance*>(new T(Host(ctx), view(config))); });
}
inline void destroy_instance(void* instance) noexcept { delete static_cast<Instance*>(instance); }

template <class K>
K* as(void* instance) {
    return static_cast<K*>(static_cast<Instance*>(instance));
}

template <class K, class Fn>
sb_status call(void* instance, Fn&& fn) {
    K* self = as<K>(instance);
    return guard(self->host().ctx(), [&] { fn(*self); });
}

template <class T>
const sb_channel_api* channel_table() {
    static const sb_channel_api table = {
        sizeof(sb_channel_api),
        SB_ABI_VERSION,
        &create_instance<T>,
        &destroy_instance,
        [](void* i) { return call<Channel>(i, [](Channel& c) { c.connect(); }); },
        [](void* i) { return call<Channel>(i, [](Channel& c) { c.disconnect(); }); },
        [](void* i, sb_str msg, sb_sink* out) {
            return call<Channel>(i, [&](Channel& c) { write(out, c.send(view(msg))); });
        },
        [](void* i, sb_sink* out) { return call<Channel>(i, [&](Channel& c) { write(out, c.status()); }); },
        [](void* i, sb_sink* out) {
            return call<Channel>(i, [&](Channel& c) { write(out, c.capabilities()); });
        },
        [](void* i, sb_str op, sb_str req, sb_sink* out) {
            return call<Channel>(i, [&](Channel& c) { write(out, c.call(view(op), view(req))); });
        },
    };
    return &table;
}

template <class T>
const sb_ai_api* ai_table() {
    static const sb_ai_api table = {
        sizeof(sb_ai_api),
        SB_ABI_VERSION,
        &create_instance<T>,
        &destroy_instance,
        [](void* i, sb_str req, sb_sink* out) {
            return call<Ai>(i, [&](Ai& a) { write(out, a.embed(view(req))); });
        },
        [](void* i, sb_str req, sb_sink* out) {
            return call<Ai>(i, [&](Ai& a) { write(out, a.chat(view(req))); });
        },
        [](void* i, sb_str req, sb_sink* out) {
            return call<Ai>(i, [&](Ai& a) { write(out, a.classify(view(req))); });
        },
        [](void* i, sb_str req, sb_sink* delta, sb_sink* out) {
            return call<Ai>(i, [&](Ai& a) {
                write(out, a.chat_stream(view(req), [delta](std::string_view piece) { write(delta, piece); }));
            });
        },
    };
    return &table;
}

template <class T>
const sb_crm_api* crm_table() {
    static const sb_crm_api table = {
        sizeof(sb_crm_api),
        SB_ABI_VERSION,
        &create_instance<T>,
        &destroy_instance,
        [](void* i, sb_str req, sb_sink* out) {
            return call<Crm>(i, [&](Crm& c) { write(out, c.upsert_contact(view(req))); });
        },
        [](void* i, sb_str req, sb_sink* out) {
            return call<Crm>(i, [&](Crm& c) { write(out, c.find_contact(view(req))); });
        },
    };
    return &table;
}

// For the storage accessors that return a value rather than a status: an
// exception must not cross the C boundary, so it yields `fallback` instead.
template <class R, class Fn>
R or_default(R fallback, Fn&& fn) noexcept {
    try {
        return fn();
    } catch (...) {
        return fallback;
    }
}

// A statement handle remembers its connection's host context for set_error.
struct StatementHandle {
    std::unique_ptr<Statement> stmt;
    sb_host_ctx* ctx;
};
inline StatementHandle* handle(void* s) { return static_cast<StatementHandle*>(s); }

template <class Fn>
sb_status on_statement(void* s, Fn&& fn) {
    StatementHandle* h = handle(s);
    return guard(h->ctx, [&] { fn(*h->stmt); });
}

template <class T>
const sb_storage_api* storage_table() {
    static const sb_storage_api table = {
        sizeof(sb_storage_api),
        SB_ABI_VERSION,
        &create_instance<T>,
        &destroy_instance,
        [](void* c, sb_str sql) { return call<Storage>(c, [&](Storage& s) { s.exec(view(sql)); }); },
        [](void* c, sb_str sql, void** out) {
            return call<Storage>(c, [&](Storage& s) {
                auto h = std::make_unique<StatementHandle>(StatementHandle{s.prepare(view(sql)), s.host().ctx()});
                *out = h.release();
            });
        },
        [](void* s) { delete handle(s); },
        [](void* s) { return on_statement(s, [](Statement& st) { st.reset(); }); },
        [](void* s, int32_t i) { return on_statement(s, [&](Statement& st) { st.bind_null(i); }); },
        [](void* s, int32_t i, int64_t v) { return on_statement(s, [&](Statement& st) { st.bind_int64(i, v); }); },
        [](void* s, int32_t i, double v) { return on_statement(s, [&](Statement& st) { st.bind_double(i, v); }); },
        [](void* s, int32_t i, sb_str v) {
            return on_statement(s, [&](Statement& st) { st.bind_text(i, view(v)); });
        },
        [](void* s, int32_t i, const void* d, size_t n) {
            return on_statement(s, [&](Statement& st) { st.bind_blob(i, d, n); });
        },
        [](void* s, int32_t* has_row) {
            return on_statement(s, [&](Statement& st) { *has_row = st.step() ? 1 : 0; });
        },
        [](void* s) -> int32_t { return or_default<int32_t>(0, [&] { return handle(s)->stmt->column_count(); }); },
        [](void* s, int32_t c) { return or_default(sb_str{}, [&] { return str(handle(s)->stmt->column_name(c)); }); },
        [](void* s, int32_t c) -> int32_t {
            return or_default<int32_t>(SB_SQL_NULL, [&] { return handle(s)->stmt->column_type(c); });
        },
        [](void* s, int32_t c) { return or_default<int64_t>(0, [&] { return handle(s)->stmt->column_int64(c); }); },
        [](void* s, int32_t c) { return or_default(0.0, [&] { return handle(s)->stmt->column_double(c); }); },
        [](void* s, int32_t c) { return or_default(sb_str{}, [&] { return str(handle(s)->stmt->column_text(c)); }); },
        [](void* s, int32_t c) { return or_default(sb_str{}, [&] { return str(handle(s)->stmt->column_blob(c)); }); },
        [](void* c) { return or_default<int64_t>(0, [&] { return as<Storage>(c)->changes(); }); },
        [](void* c) { return or_default<int64_t>(0, [&] { return as<Storage>(c)->last_insert_id(); }); },
        [](void* c) { return or_default(sb_str{}, [&] { return str(as<Storage>(c)->dialect()); }); },
    };
    return &table;
}

}  // namespace detail
}  // namespace switchboard

// Defines the two exported entry points for a plugin whose instances are of
// class CLASS (constructed as CLASS(switchboard::Host, std::string_view config)).
#define SWITCHBOARD_DEFINE_PLUGIN_(CLASS, ID, VERSION, KIND, TABLE)                                   \
    extern "C" SB_EXPORT uint32_t sb_plugin_abi_version(void) { return SB_ABI_VERSION; }                \
    extern "C" SB_EXPORT sb_status sb_plugin_init(const sb_host_api* host, const sb_plugin_descriptor** out) { \
        if (!host || !out) return SB_ERR_INVALID_ARGUMENT;                                              \
        /* This plugin calls every slot of the host table it was built with. */                         \
        if (host->size < sizeof(sb_host_api)) return SB_ERR_UNSUPPORTED;                                \
        if (SB_ABI_MAJOR(host->version) != SB_ABI_VERSION_MAJOR) return SB_ERR_UNSUPPORTED;             \
        ::switchboard::detail::host_api_slot() = host;                                                  \
        static const sb_plugin_descriptor descriptor = {                                                \
            sizeof(sb_plugin_descriptor), SB_ABI_VERSION, {ID, sizeof(ID) - 1},                         \
            {VERSION, sizeof(VERSION) - 1}, KIND, ::switchboard::detail::TABLE<CLASS>(), nullptr};       \
        *out = &descriptor;                                                                             \
        return SB_OK;                                                                                   \
    }

#define SWITCHBOARD_CHANNEL_PLUGIN(CLASS, ID, VERSION) \
    SWITCHBOARD_DEFINE_PLUGIN_(CLASS, ID, VERSION, SB_KIND_CHANNEL, channel_table)
#define SWITCHBOARD_AI_PLUGIN(CLASS, ID, VERSION) \
    SWITCHBOARD_DEFINE_PLUGIN_(CLASS, ID, VERSION, SB_KIND_AI, ai_table)
#define SWITCHBOARD_CRM_PLUGIN(CLASS, ID, VERSION) \
    SWITCHBOARD_DEFINE_PLUGIN_(CLASS, ID, VERSION, SB_KIND_CRM, crm_table)
#define SWITCHBOARD_STORAGE_PLUGIN(CLASS, ID, VERSION) \
    SWITCHBOARD_DEFINE_PLUGIN_(CLASS, ID, VERSION, SB_KIND_STORAGE, storage_table)

#endif  // SWITCHBOARD_PLUGIN_HPP
