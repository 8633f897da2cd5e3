/*
 * c-echo: a Switchboard channel plugin in plain C11, written against
 * <switchboard/plugin.h> alone.
 *
 * It sends nothing anywhere: every message the host asks it to send is kept
 * in memory (the newest `max_messages`) and listed, newest last, by
 *
 *   GET /hooks/c-echo/<profile>/sent  ->  {"messages": [<message as sent>, ...]}
 *
 * It shows the whole contract in one file: the two exported entry points, a
 * size-tagged function table, borrowed strings copied before they are kept,
 * results written into the caller's sink, set_error before every failure,
 * idempotent send, a hook route, and state guarded for concurrent calls.
 */
#include <switchboard/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

/* The host's table, handed to sb_plugin_init; valid until unload. */
static const sb_host_api *host = NULL;

typedef struct sent_message {
    char *json; /* the message JSON as the host sent it (our copy) */
    size_t len;
    char *idempotency_key; /* NUL-terminated, may be NULL */
    unsigned long number;  /* external id is "echo-<number>" */
} sent_message;

typedef struct echo_channel {
    sb_host_ctx *ctx;
    mtx_t lock; /* guards every field below: the host calls from several threads */
    int connected;
    unsigned long next_number;
    sent_message *ring; /* `capacity` slots; the oldest is overwritten */
    size_t capacity, count, head; /* head: where the next message goes */
} echo_channel;

static sb_str text(const char *s) {
    sb_str out = {s, strlen(s)};
    return out;
}

static void write_sink(sb_sink *sink, const char *data, size_t len) {
    if (sink && sink->write && len > 0) sink->write(sink->ctx, data, len);
}

/* Records why the call in progress fails, then returns `status`. */
static sb_status fail(sb_host_ctx *ctx, sb_status status, const char *message) {
    host->set_error(ctx, text(message));
    return status;
}

/* Finds the string value of "key" in a flat JSON object. Enough for the
 * host's message and config shapes (keys are unique, values of the keys we
 * read hold no escaped quotes); a real plugin would use a JSON library.
 * Returns a malloc'd copy or NULL. */
static char *json_string_field(const char *json, size_t len, const char *key) {
    char pattern[64];
    int n = snprintf(pattern, sizeof pattern, "\"%s\"", key);
    if (n < 0 || (size_t)n >= sizeof pattern) return NULL;
    for (size_t i = 0; i + (size_t)n <= len; ++i) {
        if (memcmp(json + i, pattern, (size_t)n) != 0) continue;
        size_t j = i + (size_t)n;
        while (j < len && (json[j] == ' ' || json[j] == ':' || json[j] == '\t' || json[j] == '\n')) ++j;
        if (j >= len || json[j] != '"') return NULL;
        size_t start = ++j;
        while (j < len && json[j] != '"') j += json[j] == '\\' ? 2 : 1;
        if (j >= len) return NULL; /* no closing quote */
        char *out = malloc(j - start + 1);
        if (!out) return NULL;
        memcpy(out, json + start, j - start);
        out[j - start] = '\0';
        return out;
    }
    return NULL;
}

/* The integer value of "key" in a flat JSON object, or `fallback`. */
static long json_int_field(const char *json, size_t len, const char *key, long fallback) {
    char pattern[64];
    int n = snprintf(pattern, sizeof pattern, "\"%s\"", key);
    if (n < 0 || (size_t)n >= sizeof pattern) return fallback;
    for (size_t i = 0; i + (size_t)n <= len; ++i) {
        if (memcmp(json + i, pattern, (size_t)n) != 0) continue;
        char digits[24] = {0};
        size_t j = i + (size_t)n, k = 0;
        while (j < len && (json[j] == ' ' || json[j] == ':')) ++j;
        while (j < len && k + 1 < sizeof digits && json[j] >= '0' && json[j] <= '9') digits[k++] = json[j++];
        return k ? strtol(digits, NULL, 10) : fallback;
    }
    return fallback;
}

static void clear_message(sent_message *m) {
    free(m->json);
    free(m->idempotency_key);
    memset(m, 0, sizeof *m);
}

/* ---- hook route: GET sent -------------------------------------------- */

static sb_status route_sent(void *user, sb_host_ctx *ctx, const sb_http_request *req, sb_http_response *resp) {
    echo_channel *self = user;
    (void)req;
    mtx_lock(&self->lock);
    size_t size = 32;
    for (size_t i = 0; i < self->count; ++i) size += self->ring[i].len + 1;
    char *body = malloc(size);
    if (!body) {
        mtx_unlock(&self->lock);
        return fail(ctx, SB_ERR_INTERNAL, "out of memory");
    }
    size_t used = (size_t)sprintf(body, "{\"messages\":[");
    size_t oldest = (self->head + self->capacity - self->count) % self->capacity;
    for (size_t i = 0; i < self->count; ++i) {
        const sent_message *m = &self->ring[(oldest + i) % self->capacity];
        if (i) body[used++] = ',';
        memcpy(body + used, m->json, m->len);
        used += m->len;
    }
    mtx_unlock(&self->lock);
    memcpy(body + used, "]}", 2);
    used += 2;
    sb_str out = {body, used};
    host->respond(resp, 200, text("application/json"), out); /* copied by the host */
    free(body);
    return SB_OK;
}

/* ---- the channel table ------------------------------------------------ */

static void echo_destroy(void *instance) {
    echo_channel *self = instance;
    if (!self) return;
    for (size_t i = 0; i < self->capacity; ++i) clear_message(&self->ring[i]);
    free(self->ring);
    mtx_destroy(&self->lock);
    free(self);
}

static sb_status echo_create(sb_host_ctx *ctx, sb_str config_json, void **out) {
    /* config_json is borrowed and already validated, defaults filled. */
    long max = json_int_field(config_json.data ? config_json.data : "", config_json.len, "max_messages", 100);
    if (max < 1) return fail(ctx, SB_ERR_INVALID_ARGUMENT, "max_messages must be at least 1");

    echo_channel *self = calloc(1, sizeof *self);
    if (!self) return fail(ctx, SB_ERR_INTERNAL, "out of memory");
    self->ctx = ctx;
    self->capacity = (size_t)max;
    self->ring = calloc(self->capacity, sizeof *self->ring);
    if (!self->ring || mtx_init(&self->lock, mtx_plain) != thrd_success) {
        free(self->ring);
        free(self);
        return fail(ctx, SB_ERR_INTERNAL, "out of memory");
    }
    /* `self` must outlive the route: the host removes routes before destroy. */
    sb_status st = host->route_register(ctx, text("GET"), text("sent"), route_sent, self);
    if (st != SB_OK) {
        echo_destroy(self);
        return fail(ctx, st, "could not register the /sent hook");
    }
    *out = self; /* ours; freed in echo_destroy */
    return SB_OK;
}

static sb_status echo_connect(void *instance) {
    echo_channel *self = instance;
    mtx_lock(&self->lock);
    self->connected = 1;
    mtx_unlock(&self->lock);
    return SB_OK;
}

static sb_status echo_disconnect(void *instance) {
    echo_channel *self = instance;
    mtx_lock(&self->lock);
    self->connected = 0;
    mtx_unlock(&self->lock);
    return SB_OK;
}

static sb_status echo_send(void *instance, sb_str message_json, sb_sink *result) {
    echo_channel *self = instance;
    const char *data = message_json.data ? message_json.data : "";
    size_t start = 0;
    while (start < message_json.len && (data[start] == ' ' || data[start] == '\n')) ++start;
    if (start == message_json.len || data[start] != '{') {
        return fail(self->ctx, SB_ERR_INVALID_ARGUMENT, "the message must be a JSON object");
    }
    /* message_json is borrowed: copy what we keep before returning. */
    char *key = json_string_field(data, message_json.len, "idempotency_key");
    char *copy = malloc(message_json.len);
    if (!copy) {
        free(key);
        return fail(self->ctx, SB_ERR_INTERNAL, "out of memory");
    }
    memcpy(copy, data, message_json.len);

    unsigned long number = 0;
    mtx_lock(&self->lock);
    /* The same idempotency key twice: answer as the first time, keep nothing new. */
    for (size_t i = 0; key && i < self->capacity && !number; ++i) {
        const sent_message *m = &self->ring[i];
        if (m->idempotency_key && strcmp(m->idempotency_key, key) == 0) number = m->number;
    }
    if (!number) {
        sent_message *slot = &self->ring[self->head];
        clear_message(slot); /* drops the oldest once full */
        slot->json = copy;
        slot->len = message_json.len;
        slot->idempotency_key = key;
        slot->number = number = ++self->next_number;
        self->head = (self->head + 1) % self->capacity;
        if (self->count < self->capacity) ++self->count;
        copy = NULL;
        key = NULL;
    }
    mtx_unlock(&self->lock);
    free(copy);
    free(key);

    char out[64];
    int n = snprintf(out, sizeof out, "{\"external_id\":\"echo-%lu\"}", number);
    write_sink(result, out, (size_t)n); /* the caller's sink copies it */
    return SB_OK;
}

static sb_status echo_status(void *instance, sb_sink *out) {
    echo_channel *self = instance;
    mtx_lock(&self->lock);
    const char *s = self->connected ? "{\"status\":\"CONNECTED\"}" : "{\"status\":\"DISCONNECTED\"}";
    mtx_unlock(&self->lock);
    write_sink(out, s, strlen(s));
    return SB_OK;
}

static sb_status echo_capabilities(void *instance, sb_sink *out) {
    (void)instance;
    const char *caps =
        "{\"message_types\":[\"text\",\"image\",\"video\",\"audio\",\"document\",\"location\",\"contact\","
        "\"poll\",\"interactive\",\"reaction\",\"template\"],\"groups\":false}";
    write_sink(out, caps, strlen(caps));
    return SB_OK;
}

/* Static, never freed; `size` tells the host which slots we know. */
static const sb_channel_api echo_table = {
    sizeof(sb_channel_api), SB_ABI_VERSION, echo_create, echo_destroy,      echo_connect,
    echo_disconnect,        echo_send,      echo_status, echo_capabilities,
    NULL, /* call (ABI 1.1): no optional operations; the host answers "not supported" */
};

static const sb_plugin_descriptor echo_descriptor = {
    sizeof(sb_plugin_descriptor), SB_ABI_VERSION, {"c-echo", 6}, {"1.0.0", 5}, SB_KIND_CHANNEL, &echo_table, NULL,
};

SB_EXPORT uint32_t sb_plugin_abi_version(void) { return SB_ABI_VERSION; }

SB_EXPORT sb_status sb_plugin_init(const sb_host_api *api, const sb_plugin_descriptor **out) {
    if (!api || !out) return SB_ERR_INVALID_ARGUMENT;
    /* We call every slot of the 1.0 host table, so it must hold them all. */
    if (SB_ABI_MAJOR(api->version) != SB_ABI_VERSION_MAJOR || !SB_HAS_SLOT(api, sb_host_api, instance_id)) {
        return SB_ERR_UNSUPPORTED;
    }
    host = api;
    *out = &echo_descriptor;
    return SB_OK;
}
