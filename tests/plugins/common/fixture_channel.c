/*
 * A channel plugin in plain C11 against plugin.h alone: the loader tests'
 * good fixture, and, with one macro each, the broken ones.
 *
 *   FIXTURE_ID               plugin id (also the manifest's, unless
 *                            FIXTURE_DESCRIPTOR_ID says otherwise)
 *   FIXTURE_ABI              what sb_plugin_abi_version answers
 *   FIXTURE_NO_INIT          leave sb_plugin_init out (missing symbol)
 *   FIXTURE_CREATE_FAILS     create registers a route, then fails with a message
 *   FIXTURE_SEND_MALFORMED   send answers OK with broken JSON
 *   FIXTURE_SEND_SILENT      send fails without calling set_error
 *   FIXTURE_TABLE_SIZE       the size the channel table claims
 *
 * By default the fixture is a plugin built for ABI 1.0: it reports 1.0 and
 * its channel table ends after `capabilities` (before the 1.1 `call` slot),
 * which is what the loader tests prove still loads on a 1.1 host.
 *
 * Instances answer hook routes: GET ping, POST echo, and POST slow-timer (a
 * timer whose callback emits "fixture.timer_started", sleeps 300 ms, then
 * emits "fixture.timer_done": used to check that destroy waits for it).
 */
#define _POSIX_C_SOURCE 200809L

#include <switchboard/plugin.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef FIXTURE_ID
#error "define FIXTURE_ID"
#endif
#ifndef FIXTURE_DESCRIPTOR_ID
#define FIXTURE_DESCRIPTOR_ID FIXTURE_ID
#endif
#ifndef FIXTURE_ABI
#define FIXTURE_ABI SB_ABI_MAKE(1, 0)
#endif
#ifndef FIXTURE_TABLE_SIZE
#define FIXTURE_TABLE_SIZE (offsetof(sb_channel_api, capabilities) + sizeof(void *))
#endif

static const sb_host_api *g_host = NULL;

typedef struct fixture_instance {
    sb_host_ctx *ctx;
    char *config;      /* the config JSON as received, NUL-terminated */
    size_t config_len;
    atomic_ulong sent; /* messages sent so far */
} fixture_instance;

static sb_str cstr(const char *s) {
    sb_str out = {s, strlen(s)};
    return out;
}

static void fail(sb_host_ctx *ctx, const char *message) {
    g_host->set_error(ctx, cstr(message));
}

static void write_text(sb_sink *sink, const char *data, size_t len) {
    if (sink && sink->write && len > 0) sink->write(sink->ctx, data, len);
}

/* ---- hook routes ------------------------------------------------------ */

static sb_status route_ping(void *user, sb_host_ctx *ctx, const sb_http_request *req, sb_http_response *resp) {
    (void)user;
    (void)req;
    sb_str id = g_host->instance_id(ctx);
    char body[256];
    int n = snprintf(body, sizeof body, "{\"pong\":true,\"instance\":\"%.*s\"}", (int)id.len, id.data);
    if (n < 0 || (size_t)n >= sizeof body) {
        fail(ctx, "instance id too long");
        return SB_ERR_INTERNAL;
    }
    g_host->respond(resp, 200, cstr("application/json"), cstr(body));
    return SB_OK;
}

static sb_status route_echo(void *user, sb_host_ctx *ctx, const sb_http_request *req, sb_http_response *resp) {
    (void)user;
    (void)ctx;
    g_host->respond(resp, 200, cstr("application/json"), req->body);
    return SB_OK;
}

static void slow_timer_fired(void *user) {
    fixture_instance *self = user;
    g_host->emit(self->ctx, cstr("fixture.timer_started"), cstr("{}"), NULL);
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    g_host->emit(self->ctx, cstr("fixture.timer_done"), cstr("{}"), NULL);
}

static sb_status route_slow_timer(void *user, sb_host_ctx *ctx, const sb_http_request *req,
                                  sb_http_response *resp) {
    (void)req;
    sb_status st = g_host->timer_start(ctx, 0, slow_timer_fired, user, NULL);
    if (st != SB_OK) {
        fail(ctx, "could not start the timer");
        return st;
    }
    g_host->respond(resp, 202, cstr("application/json"), cstr("{\"started\":true}"));
    return SB_OK;
}

/* ---- channel table ---------------------------------------------------- */

static void channel_destroy(void *instance) {
    fixture_instance *self = instance;
    if (!self) return;
    free(self->config);
    free(self);
}

static sb_status channel_create(sb_host_ctx *ctx, sb_str config_json, void **out) {
    fixture_instance *self = calloc(1, sizeof *self);
    if (!self) {
        fail(ctx, "out of memory");
        return SB_ERR_INTERNAL;
    }
    self->ctx = ctx;
    self->config = malloc(config_json.len + 1);
    if (!self->config) {
        free(self);
        fail(ctx, "out of memory");
        return SB_ERR_INTERNAL;
    }
    if (config_json.len) memcpy(self->config, config_json.data, config_json.len);
    self->config[config_json.len] = '\0';
    self->config_len = config_json.len;
    atomic_init(&self->sent, 0);

    sb_status st = g_host->route_register(ctx, cstr("GET"), cstr("ping"), route_ping, self);
    if (st == SB_OK) st = g_host->route_register(ctx, cstr("POST"), cstr("echo"), route_echo, self);
    if (st == SB_OK) st = g_host->route_register(ctx, cstr("POST"), cstr("slow-timer"), route_slow_timer, self);
    if (st != SB_OK) {
        channel_destroy(self);
        fail(ctx, "could not register the fixture's routes");
        return st;
    }
#ifdef FIXTURE_CREATE_FAILS
    /* The routes registered above must not outlive this failed create. */
    (void)out;
    channel_destroy(self);
    fail(ctx, "the fixture's API token was rejected by the fake service");
    return SB_ERR_INVALID_ARGUMENT;
#else
    *out = self;
    return SB_OK;
#endif
}

static sb_status channel_connect(void *instance) {
    (void)instance;
    return SB_OK;
}

static sb_status channel_disconnect(void *instance) {
    (void)instance;
    return SB_OK;
}

static sb_status channel_send(void *instance, sb_str message_json, sb_sink *result) {
    fixture_instance *self = instance;
    (void)message_json;
#if defined(FIXTURE_SEND_MALFORMED)
    (void)self;
    const char *broken = "{\"external_id\": \"fx-1\"";
    write_text(result, broken, strlen(broken));
    return SB_OK;
#elif defined(FIXTURE_SEND_SILENT)
    (void)self;
    (void)result;
    return SB_ERR_INTERNAL;
#else
    unsigned long n = atomic_fetch_add(&self->sent, 1) + 1;
    char body[64];
    int len = snprintf(body, sizeof body, "{\"external_id\":\"fx-%lu\"}", n);
    write_text(result, body, (size_t)len);
    return SB_OK;
#endif
}

/* {"status":"CONNECTED","config":<the config create received>} */
static sb_status channel_status(void *instance, sb_sink *out) {
    fixture_instance *self = instance;
    const char *head = "{\"status\":\"CONNECTED\",\"config\":";
    write_text(out, head, strlen(head));
    if (self->config_len) {
        write_text(out, self->config, self->config_len);
    } else {
        write_text(out, "null", 4);
    }
    write_text(out, "}", 1);
    return SB_OK;
}

static sb_status channel_capabilities(void *instance, sb_sink *out) {
    (void)instance;
    const char *caps = "{\"message_types\":[\"text\"],\"groups\":false}";
    write_text(out, caps, strlen(caps));
    return SB_OK;
}

static const sb_channel_api channel_table = {
    FIXTURE_TABLE_SIZE, FIXTURE_ABI,      channel_create, channel_destroy,     channel_connect,
    channel_disconnect, channel_send,     channel_status, channel_capabilities,
};

static const sb_plugin_descriptor descriptor = {
    sizeof(sb_plugin_descriptor),
    FIXTURE_ABI,
    {FIXTURE_DESCRIPTOR_ID, sizeof(FIXTURE_DESCRIPTOR_ID) - 1},
    {"1.0.0", 5},
    SB_KIND_CHANNEL,
    &channel_table,
    NULL,
};

SB_EXPORT uint32_t sb_plugin_abi_version(void) { return FIXTURE_ABI; }

#ifdef FIXTURE_NO_INIT
/* Not exported (hidden visibility): only keeps the table "used". */
const sb_plugin_descriptor *fixture_unexported_descriptor(void) { return &descriptor; }
#else
SB_EXPORT sb_status sb_plugin_init(const sb_host_api *host, const sb_plugin_descriptor **out) {
    if (!host || !out) return SB_ERR_INVALID_ARGUMENT;
    /* A 1.0 plugin needs the host table up to its 1.0 end (instance_id). */
    if (!SB_HAS_SLOT(host, sb_host_api, instance_id) || SB_ABI_MAJOR(host->version) != SB_ABI_VERSION_MAJOR) {
        return SB_ERR_UNSUPPORTED;
    }
    g_host = host;
    *out = &descriptor;
    return SB_OK;
}
#endif
