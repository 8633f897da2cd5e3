/*
 * Switchboard plugin ABI — the whole contract between the host and a plugin.
 *
 * Pure C (C11 and C++20). A plugin is a shared library that exports two
 * extern "C" symbols:
 *
 *   uint32_t sb_plugin_abi_version(void);
 *       The ABI version the plugin was built against (SB_ABI_VERSION).
 *       The host refuses a plugin whose major differs from its own or whose
 *       minor is higher than its own, before calling anything else.
 *
 *   sb_status sb_plugin_init(const sb_host_api *host,
 *                            const sb_plugin_descriptor **out);
 *       Called once after the version check. `host` is the host services
 *       table; it stays valid until the library is unloaded, so the plugin
 *       may keep the pointer. The plugin stores a pointer to its static
 *       descriptor in *out; the descriptor and everything it points to must
 *       stay valid until the library is unloaded (the host never frees it).
 *
 * Rules that hold for every function below:
 *
 *  - Strings are UTF-8 passed as sb_str (pointer + length, not terminated).
 *    An sb_str passed as an argument is BORROWED for the duration of the
 *    call: the callee copies what it wants to keep.
 *  - Results (JSON documents, text) are written into an sb_sink that the
 *    CALLER owns. The callee calls sink->write zero or more times; the
 *    caller copies the bytes during each write. The callee never keeps a
 *    sink after returning.
 *  - Every call returns an sb_status. On anything but SB_OK the callee
 *    should first call host->set_error(ctx, message) with a sentence a
 *    user can understand; a failure with no message is logged as a plugin
 *    bug.
 *  - A plugin instance is an opaque pointer created by the kind's
 *    `create` and freed only by the same kind's `destroy`.
 *  - No C++ type, exception or allocator crosses this boundary.
 *
 * Versioning: every table starts with its own `size` (sizeof the struct as
 * the author compiled it) and `version` (SB_ABI_VERSION). Slots are only ever
 * appended; a retired slot stays in place and is set to NULL. The host reads
 * a slot only when it lies within `size`, and refuses a table too small to
 * hold every callback the host requires. sdk/abi/abi-1.json records the
 * 1.0 layout and sdk/abi/abi-1.1.json the 1.1 one; tests fail when either
 * drifts.
 *
 * ABI 1.1 appended: sb_host_api.blob_put / blob_get (the host's blob store)
 * and sb_channel_api.call (optional channel operations). A 1.0 plugin still
 * loads on a 1.1 host (its channel table simply ends before `call`); a
 * plugin that may meet a 1.0 host checks SB_HAS_SLOT(host, sb_host_api,
 * blob_put) before calling a 1.1 slot.
 *
 * ABI 1.2 appended: sb_host_api.http_stream (a response body read as it
 * arrives, for servers that stream) and sb_ai_api.chat_stream (an answer
 * handed over piece by piece). 1.0 and 1.1 plugins load unchanged; the host
 * falls back to `chat` for an AI table without chat_stream.
 */
#ifndef SWITCHBOARD_PLUGIN_H
#define SWITCHBOARD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ABI version ------------------------------------------------------ */

#define SB_ABI_VERSION_MAJOR 1
#define SB_ABI_VERSION_MINOR 2
#define SB_ABI_MAKE(major, minor) ((uint32_t)(((uint32_t)(major) << 16) | ((uint32_t)(minor)&0xFFFFu)))
#define SB_ABI_VERSION SB_ABI_MAKE(SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR)
#define SB_ABI_MAJOR(v) ((uint32_t)(v) >> 16)
#define SB_ABI_MINOR(v) ((uint32_t)(v)&0xFFFFu)

#if defined(_WIN32)
#define SB_EXPORT __declspec(dllexport)
#else
#define SB_EXPORT __attribute__((visibility("default")))
#endif

/* ---- Basic types ------------------------------------------------------ */

/* A UTF-8 string view: `data` need not be NUL-terminated. {NULL, 0} is the
 * empty string. Always borrowed: valid only for the call it is passed to,
 * unless a function says otherwise. */
typedef struct sb_str {
    const char *data;
    size_t len;
} sb_str;

/* Status codes. Values are frozen; new codes are only appended. */
typedef int32_t sb_status;
#define SB_OK 0
#define SB_ERR_INVALID_ARGUMENT 1 /* the input is wrong; retrying will not help   */
#define SB_ERR_NOT_FOUND 2        /* the thing asked for does not exist           */
#define SB_ERR_UNSUPPORTED 3      /* this plugin or channel cannot do that        */
#define SB_ERR_UNAVAILABLE 4      /* transient: the remote side is down; retry    */
#define SB_ERR_PERMANENT 5        /* the remote side refused for good             */
#define SB_ERR_CONFLICT 6         /* a uniqueness or state conflict               */
#define SB_ERR_BUSY 7             /* locked or rate limited; retry later          */
#define SB_ERR_TIMEOUT 8          /* the operation took too long                  */
#define SB_ERR_INTERNAL 9         /* a bug or unexpected state inside the plugin  */

/* Log levels for sb_host_api.log. */
#define SB_LOG_TRACE 0
#define SB_LOG_DEBUG 1
#define SB_LOG_INFO 2
#define SB_LOG_WARN 3
#define SB_LOG_ERROR 4

/* Plugin kinds (sb_plugin_descriptor.kind). */
#define SB_KIND_CHANNEL 1
#define SB_KIND_AI 2
#define SB_KIND_CRM 3
#define SB_KIND_STORAGE 4

/* A caller-owned output buffer. `write` copies `len` bytes from `data`
 * (borrowed for the call) and appends them to what the caller collects. */
typedef struct sb_sink {
    void *ctx;
    void (*write)(void *ctx, const char *data, size_t len);
} sb_sink;

/* The host's context for one plugin instance (or, before `create`, for the
 * plugin itself). Opaque; owned by the host, valid until the instance's
 * `destroy` returns. */
typedef struct sb_host_ctx sb_host_ctx;

/* ---- Host HTTP routes for plugins ------------------------------------- */

/* An HTTP request routed to a plugin. Every field is borrowed for the
 * duration of the route callback. */
typedef struct sb_http_request {
    uint32_t size;       /* sizeof(sb_http_request) as the host compiled it */
    sb_str method;       /* "GET", "POST", ...                               */
    sb_str path;         /* the part after /hooks/<plugin>/<instance>/       */
    sb_str query_json;   /* query parameters as a JSON object of strings     */
    sb_str headers_json; /* headers as a JSON object, names lower-cased      */
    sb_str body;         /* raw body bytes                                   */
    sb_str request_id;   /* the host's request id, for log lines             */
} sb_http_request;

/* The response under construction; opaque, owned by the host, valid only
 * during the route callback. Filled through sb_host_api.respond. */
typedef struct sb_http_response sb_http_response;

/* A plugin route handler. `user` is the pointer given at registration.
 * Called on one of the host's HTTP worker threads, possibly concurrently. If
 * it returns non-OK without calling respond, the host answers with the
 * error shape, mapping the status to an HTTP code and using the message set
 * through set_error. */
typedef sb_status (*sb_route_fn)(void *user, sb_host_ctx *ctx, const sb_http_request *req,
                                 sb_http_response *resp);

/* A timer callback, run on a host scheduler thread. `user` is the pointer
 * given to timer_start; the plugin owns what it points to. */
typedef void (*sb_timer_fn)(void *user);

/* ---- Host services ---------------------------------------------------- */

/* Event types for sb_host_api.emit (event_type argument). The JSON shapes
 * are documented in docs/plugins.md. */
#define SB_EVENT_MESSAGE_INBOUND "message.inbound" /* a contact sent a message   */
#define SB_EVENT_MESSAGE_STATUS "message.status"   /* sent/delivered/read/failed */
#define SB_EVENT_SESSION_STATUS "session.status"   /* CONNECTING, QR_READY, ...  */

/* Operations of sb_channel_api.call (ABI 1.1). */
#define SB_OP_MARK_READ "mark_read"
#define SB_OP_MEDIA_UPLOAD "media.upload"
#define SB_OP_GROUP_LIST "group.list"
#define SB_OP_GROUP_CREATE "group.create"
#define SB_OP_GROUP_RENAME "group.rename"
#define SB_OP_GROUP_PARTICIPANTS "group.participants"
#define SB_OP_GROUP_INFO "group.info"
#define SB_OP_TEMPLATES_LIST "templates.list"

typedef struct sb_host_api {
    uint32_t size;    /* sizeof(sb_host_api) as the host compiled it */
    uint32_t version; /* the host's SB_ABI_VERSION                  */

    /* Writes one log line attributed to the plugin and instance of `ctx`.
     * `message` is borrowed. Never pass secrets. Thread-safe. */
    void (*log)(sb_host_ctx *ctx, int32_t level, sb_str message);

    /* Records the error message of the call in progress on this thread;
     * the host reads it when the call returns non-OK. `message` is
     * borrowed (copied by the host). The last call wins. */
    void (*set_error)(sb_host_ctx *ctx, sb_str message);

    /* Hands an event to the host (see SB_EVENT_*). `event_json` is
     * borrowed. Returns after the host has made the event durable, so a
     * channel may acknowledge its source only on SB_OK. If `result` is not
     * NULL the host writes a JSON object describing the outcome into it
     * (for a message: {"message_id": "...", "duplicate": false}); on
     * failure it writes {"error": {"code": "...", "message": "..."}} there
     * instead, which a channel may pass on to its caller as it is.
     * Thread-safe; do not call while holding a lock a host callback into
     * the plugin might need. */
    sb_status (*emit)(sb_host_ctx *ctx, sb_str event_type, sb_str event_json, sb_sink *result);

    /* Durable per-instance key-value state (e.g. a web session's auth
     * keys). Keys and values are borrowed; kv_get writes the value into
     * `out` (caller-owned) or returns SB_ERR_NOT_FOUND. */
    sb_status (*kv_get)(sb_host_ctx *ctx, sb_str key, sb_sink *out);
    sb_status (*kv_put)(sb_host_ctx *ctx, sb_str key, sb_str value);
    sb_status (*kv_delete)(sb_host_ctx *ctx, sb_str key);

    /* Reads a secret by name from the instance's configuration or the
     * host's secret store into `out`; SB_ERR_NOT_FOUND if absent. Never
     * log what it returns. */
    sb_status (*secret_get)(sb_host_ctx *ctx, sb_str name, sb_sink *out);

    /* Runs `fn(user)` once on a host scheduler thread after `delay_ms`.
     * Writes an id into *timer_id (may be NULL). The plugin owns `user`
     * and must keep it valid until the timer fires or is cancelled; the
     * host cancels an instance's timers before calling its `destroy`. */
    sb_status (*timer_start)(sb_host_ctx *ctx, uint64_t delay_ms, sb_timer_fn fn, void *user,
                             uint64_t *timer_id);
    /* Cancels a pending timer; SB_ERR_NOT_FOUND if it already ran. A
     * callback that is already running is waited for. */
    sb_status (*timer_cancel)(sb_host_ctx *ctx, uint64_t timer_id);

    /* Outbound HTTP through the host's client (timeouts, proxies, logging
     * without secrets). `request_json` (borrowed) is
     *   {"method","url","headers":{},"body":"...","timeout_ms":10000}
     * and the response written into `response_json` (caller-owned) is
     *   {"status":200,"headers":{},"body":"..."}.
     * Binary bodies (1.1 hosts): "body_base64" instead of "body" in the
     * request, and "response_body":"base64" to get "body_base64" instead of
     * "body" in the response (a JSON string must be UTF-8).
     * Returns SB_ERR_UNAVAILABLE / SB_ERR_TIMEOUT when no response came. */
    sb_status (*http_request)(sb_host_ctx *ctx, sb_str request_json, sb_sink *response_json);

    /* Registers `fn` for `method` + `path` under
     * /hooks/<plugin-id>/<instance-id>/<path>. `path` is relative ("inbound",
     * "webhook"); both strings are borrowed. `user` stays owned by the
     * plugin and must outlive the instance. Routes are removed by the host
     * before the instance's `destroy` is called. */
    sb_status (*route_register)(sb_host_ctx *ctx, sb_str method, sb_str path, sb_route_fn fn,
                                void *user);

    /* Answers a routed request: status code, content type and body are
     * borrowed and copied. Call at most once per request. */
    void (*respond)(sb_http_response *resp, int32_t http_status, sb_str content_type, sb_str body);

    /* The id of the instance `ctx` belongs to (a profile id for a
     * channel). Borrowed: valid as long as `ctx`. */
    sb_str (*instance_id)(sb_host_ctx *ctx);

    /* ---- appended in ABI 1.1 ---- */

    /* Stores `len` bytes at `data` (borrowed) in the host's blob store,
     * in the workspace of the instance `ctx` belongs to, and writes the
     * blob's reference, "blob:<sha256 hex>", into `out_ref` (caller-owned).
     * Returns after the blob is durable. The same bytes give the same
     * reference. `content_type` (borrowed) is a MIME type such as
     * "image/jpeg" ("application/octet-stream" when empty). Thread-safe. */
    sb_status (*blob_put)(sb_host_ctx *ctx, sb_str content_type, const void *data, size_t len, sb_sink *out_ref);

    /* Reads the blob `ref` (borrowed, "blob:<sha256 hex>") of the
     * instance's workspace: writes {"ref","content_type","size","sha256"}
     * into `meta_json_out` and the bytes into `data_out` (each may be NULL;
     * both caller-owned). SB_ERR_NOT_FOUND when the workspace holds no such
     * blob (another workspace's blobs are never visible);
     * SB_ERR_INVALID_ARGUMENT for a malformed ref. Thread-safe. */
    sb_status (*blob_get)(sb_host_ctx *ctx, sb_str ref, sb_sink *meta_json_out, sb_sink *data_out);

    /* ---- appended in ABI 1.2 ---- */

    /* Outbound HTTP like http_request, for a response that is read as it
     * arrives (an OpenAI-compatible server's event stream). `request_json`
     * (borrowed) is as for http_request ("response_body" is ignored). The
     * host writes the response head {"status":200,"headers":{}} into `head`
     * (caller-owned) once, before any of the body, then each piece of the
     * body into `body` (caller-owned) as it arrives; both sinks are called
     * on the calling thread, and the call returns when the body has ended.
     * "timeout_ms" bounds each wait for more data; "total_timeout_ms"
     * (optional) the whole stream, which is cut off with SB_ERR_TIMEOUT when
     * it runs longer. Returns SB_ERR_UNAVAILABLE / SB_ERR_TIMEOUT when no
     * response came or the stream broke off (pieces already written stay
     * written). */
    sb_status (*http_stream)(sb_host_ctx *ctx, sb_str request_json, sb_sink *head, sb_sink *body);
} sb_host_api;

/* ---- Kind: channel ---------------------------------------------------- */

/* A channel engine: one instance per profile (one WhatsApp number).
 * All instance functions may be called from several host threads at once;
 * the plugin synchronises its own state. */
typedef struct sb_channel_api {
    uint32_t size;
    uint32_t version;

    /* Creates an instance for the profile `ctx` belongs to. `config_json` is
     * the profile's validated config (defaults filled), borrowed. Stores the
     * plugin-owned instance in *out; freed only by destroy. */
    sb_status (*create)(sb_host_ctx *ctx, sb_str config_json, void **out);
    /* Frees the instance. Called once, after the host removed its routes
     * and timers; no other call on it runs or follows. */
    void (*destroy)(void *instance);

    /* Starts connecting (a web session begins pairing; a cloud account
     * checks its credentials). Progress is reported through
     * emit(SB_EVENT_SESSION_STATUS). */
    sb_status (*connect)(void *instance);
    /* Disconnects; the instance stays usable for a later connect. */
    sb_status (*disconnect)(void *instance);

    /* Sends one message. `message_json` (borrowed) is the host's message
     * shape (docs/plugins.md), with "idempotency_key": a channel that sees
     * the same key twice must not send twice and answers as the first time.
     * On SB_OK writes {"external_id": "..."} into `result` (caller-owned).
     * SB_ERR_UNAVAILABLE / SB_ERR_BUSY / SB_ERR_TIMEOUT are retried by the
     * outbox; other errors mark the message failed with the error message. */
    sb_status (*send)(void *instance, sb_str message_json, sb_sink *result);

    /* Writes the instance's status as JSON into `out` (caller-owned):
     * {"status": "CONNECTED", "qr": "...", "detail": "..."}. */
    sb_status (*status)(void *instance, sb_sink *out);

    /* Writes the channel's capabilities as JSON into `out` (caller-owned):
     * {"message_types": ["text", ...], "groups": false, ...}. */
    sb_status (*capabilities)(void *instance, sb_sink *out);

    /* ---- appended in ABI 1.1 (the host checks SB_HAS_SLOT; may be NULL) ---- */

    /* An optional operation `op` (borrowed) with `request_json` (borrowed,
     * a JSON object); on SB_OK writes a JSON object into `out`
     * (caller-owned). A channel answers SB_ERR_UNSUPPORTED for an op it
     * lacks; the host reports that, or a NULL slot, as "not supported by
     * this channel". The ops and their requests / results:
     *   "mark_read"          {"external_id"}                      -> {}
     *   "media.upload"       {"blob"}  (a blob ref)               -> {"media_id"}
     *   "group.list"         {}                                   -> {"groups":[{"group_id","subject"}]}
     *   "group.create"       {"subject","participants":[...]}     -> {"group_id"}
     *   "group.rename"       {"group_id","subject"}               -> {}
     *   "group.participants" {"group_id","action":"add|remove|promote|demote",
     *                         "participants":[...]}               -> {"participants":[{"id","ok"}]}
     *   "group.info"         {"group_id"}                         -> {"group_id","subject","participants":[...]}
 *   "templates.list"     {}                                   -> {"templates":[{"name","language","status"}]}
 *                        (the number's message templates, every page; status as
 *                        the provider says it, "APPROVED" for sendable ones)
     * Participants are E.164 phone numbers or the channel's user ids.
     * Errors follow `send`: UNAVAILABLE / BUSY / TIMEOUT are transient. */
    sb_status (*call)(void *instance, sb_str op, sb_str request_json, sb_sink *out);
} sb_channel_api;

/* ---- Kind: AI provider ------------------------------------------------ */

/* An AI provider: embeddings, answers and classification. The host creates
 * one instance per user of a configuration (a knowledge base, a flow's
 * classifier); instance functions may be called from several host threads
 * at once. Every request may carry "timeout_ms": the time the host will
 * wait for the whole call, retries included; past it answer SB_ERR_TIMEOUT.
 * Status codes: SB_ERR_UNAVAILABLE (the provider cannot be reached or
 * answers 5xx), SB_ERR_BUSY (rate limited), SB_ERR_TIMEOUT are transient;
 * SB_ERR_PERMANENT (the provider refused: bad key, unknown model, a reply
 * that is not what was asked for) and SB_ERR_INVALID_ARGUMENT are not. */
typedef struct sb_ai_api {
    uint32_t size;
    uint32_t version;

    /* Creates a provider instance; same ownership as sb_channel_api.create. */
    sb_status (*create)(sb_host_ctx *ctx, sb_str config_json, void **out);
    /* Frees the instance. */
    void (*destroy)(void *instance);

    /* Embeds a batch. `request_json` (borrowed):
     *   {"texts": ["...", ...], "purpose": "document"|"query",
     *    "encoding": "float"|"base64", "timeout_ms": N}
     * Writes into `out` (caller-owned), one vector per text in order:
     *   {"model": "...", "dimension": N, "vectors": [[0.1, ...], ...]}
     * or, when the request asked for "encoding": "base64" (a plugin may
     * always answer "vectors"), "vectors_base64": ["...", ...], each the
     * little-endian float32 values of one vector, base64. "model" names the
     * embedding model and its settings; the host rebuilds its indexes when
     * it changes. The host normalizes the vectors itself. */
    sb_status (*embed)(void *instance, sb_str request_json, sb_sink *out);
    /* Answers a conversation. `request_json` (borrowed):
     *   {"messages": [{"role": "system"|"user"|"assistant", "content"}],
     *    "context": [{"id", "title", "text", "source"}],
     *    "max_tokens": N, "temperature": T, "timeout_ms": N}
     * "context" holds the passages the host retrieved for the last user
     * message (also quoted in the system message, numbered [1], [2], ...):
     * a provider that answers extractively answers from them alone. Writes
     * into `out` (caller-owned):
     *   {"text": "...", "citations": ["<context id>", ...], "model": "...",
     *    "finish_reason": "...", "usage": {...}}
     * An empty "text" means the provider found no answer. */
    sb_status (*chat)(void *instance, sb_str request_json, sb_sink *out);
    /* Classifies a text. `request_json` (borrowed):
     *   {"text": "...", "labels": [{"label", "description", "examples": [...]}],
     *    "timeout_ms": N}
     * (a label may also be a plain string). Writes into `out`:
     *   {"label": "...", "score": 0.0..1.0, "scores": {"<label>": 0.0..1.0}} */
    sb_status (*classify)(void *instance, sb_str request_json, sb_sink *out);

    /* ---- appended in ABI 1.2 (the host checks SB_HAS_SLOT; may be NULL) ---- */

    /* Like chat, handing the answer over as it is produced: writes each
     * piece of the text into `delta` (caller-owned, UTF-8, called on the
     * calling thread), then the same result as chat into `out`, whose "text"
     * is the whole answer. A NULL slot makes the host call chat instead;
     * a plugin that writes no piece has its whole text taken as one. */
    sb_status (*chat_stream)(void *instance, sb_str request_json, sb_sink *delta, sb_sink *out);
} sb_ai_api;

/* ---- Kind: CRM connector ---------------------------------------------- */

typedef struct sb_crm_api {
    uint32_t size;
    uint32_t version;

    /* Creates a connector instance; same ownership as sb_channel_api.create. */
    sb_status (*create)(sb_host_ctx *ctx, sb_str config_json, void **out);
    /* Frees the instance. */
    void (*destroy)(void *instance);

    /* Creates or updates a contact: `contact_json` (borrowed) in the host's
     * contact shape; writes {"external_id": "..."} into `out`. */
    sb_status (*upsert_contact)(void *instance, sb_str contact_json, sb_sink *out);
    /* Finds contacts: `query_json` (borrowed) {"phone"|"email": "..."};
     * writes {"contacts": [...]} into `out`. */
    sb_status (*find_contact)(void *instance, sb_str query_json, sb_sink *out);
} sb_crm_api;

/* ---- Kind: storage (a small SQL driver) ------------------------------- */

/* Column / value types reported by column_type. */
#define SB_SQL_NULL 0
#define SB_SQL_INTEGER 1
#define SB_SQL_REAL 2
#define SB_SQL_TEXT 3
#define SB_SQL_BLOB 4

/* One instance is one database connection. A connection and its statements
 * are used by one thread at a time; the host opens as many connections as it
 * needs. SQL uses `?` placeholders numbered from 1. */
typedef struct sb_storage_api {
    uint32_t size;
    uint32_t version;

    /* Opens a connection with the validated `config_json` (borrowed).
     * Stores the plugin-owned connection in *out; freed only by destroy. */
    sb_status (*create)(sb_host_ctx *ctx, sb_str config_json, void **out);
    /* Closes the connection. Every statement must have been finalized. */
    void (*destroy)(void *conn);

    /* Runs one or more statements without parameters or results
     * (migrations, BEGIN/COMMIT). `sql` is borrowed. */
    sb_status (*exec)(void *conn, sb_str sql);

    /* Compiles one statement; stores the plugin-owned statement in *out,
     * freed only by finalize. `sql` is borrowed. */
    sb_status (*prepare)(void *conn, sb_str sql, void **out);
    /* Frees a statement. */
    void (*finalize)(void *stmt);
    /* Clears bindings and rewinds the statement for another execution. */
    sb_status (*reset)(void *stmt);

    /* Binds parameter `index` (1-based). Text and blob are copied by the
     * plugin before returning. */
    sb_status (*bind_null)(void *stmt, int32_t index);
    sb_status (*bind_int64)(void *stmt, int32_t index, int64_t value);
    sb_status (*bind_double)(void *stmt, int32_t index, double value);
    sb_status (*bind_text)(void *stmt, int32_t index, sb_str value);
    sb_status (*bind_blob)(void *stmt, int32_t index, const void *data, size_t len);

    /* Advances the statement: *has_row is set to 1 when a row is available,
     * 0 when done. A uniqueness violation returns SB_ERR_CONFLICT; a locked
     * database that stays locked past the busy timeout SB_ERR_BUSY. */
    sb_status (*step)(void *stmt, int32_t *has_row);

    /* Reads the current row. Returned text/blob pointers are borrowed and
     * valid until the next step, reset or finalize of this statement. */
    int32_t (*column_count)(void *stmt);
    sb_str (*column_name)(void *stmt, int32_t col);
    int32_t (*column_type)(void *stmt, int32_t col);
    int64_t (*column_int64)(void *stmt, int32_t col);
    double (*column_double)(void *stmt, int32_t col);
    sb_str (*column_text)(void *stmt, int32_t col);
    sb_str (*column_blob)(void *stmt, int32_t col);

    /* Rows changed by the last INSERT/UPDATE/DELETE on this connection. */
    int64_t (*changes)(void *conn);
    /* Rowid of the last INSERT on this connection (0 if unknown). */
    int64_t (*last_insert_id)(void *conn);

    /* The SQL dialect, "sqlite" or "postgres": static, not freed. */
    sb_str (*dialect)(void *conn);
} sb_storage_api;

/* ---- Descriptor ------------------------------------------------------- */

typedef struct sb_plugin_descriptor {
    uint32_t size;        /* sizeof(sb_plugin_descriptor) as compiled      */
    uint32_t abi_version; /* SB_ABI_VERSION                                */
    sb_str id;            /* must equal the manifest's "id"                */
    sb_str version;       /* the plugin's own version, e.g. "1.2.0"        */
    int32_t kind;         /* SB_KIND_*                                     */
    /* The kind's function table: const sb_channel_api*, const sb_ai_api*,
     * const sb_crm_api* or const sb_storage_api*. Static, never freed. */
    const void *table;
    /* Called once before the library is unloaded, after every instance
     * was destroyed. May be NULL. */
    void (*shutdown)(void);
} sb_plugin_descriptor;

/* The two exported entry points, for reference and for type checks. */
typedef uint32_t (*sb_plugin_abi_version_fn)(void);
typedef sb_status (*sb_plugin_init_fn)(const sb_host_api *host, const sb_plugin_descriptor **out);

#define SB_PLUGIN_ABI_VERSION_SYMBOL "sb_plugin_abi_version"
#define SB_PLUGIN_INIT_SYMBOL "sb_plugin_init"

/* True when `table` (whose first member is its size) holds the slot
 * `member` of struct `type`: use before reading any slot that was appended
 * after the table's first release. */
#define SB_HAS_SLOT(table, type, member)                                                \
    ((table) != NULL && *(const uint32_t *)(table) >= offsetof(type, member) + sizeof(((type *)0)->member))

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SWITCHBOARD_PLUGIN_H */
