/*
 * Test `wrappers`: what the host does with each wrapper when it builds an endpoint table. For
 * every endpoint the wrapper's match covers (as the host matches: "*", a prefix of the pattern's
 * text, a path shape, METHOD and shape), the plugin's own and synthetic ones of another plugin
 * built to fall under the match (raw `GET /`, raw with captures, typed with each parameter type and
 * source, typed without parameters), it calls accepts, then prepare if accepted; once all are
 * prepared, release on each state prepare made (or NULL when there is no prepare), as the host does
 * when the table goes away. Each call gets a ph_endpoint_info_t whose strings are fresh copies
 * valid only during the call (params NULL for raw and parameterless endpoints); a failing prepare
 * must say why. Runs on a created instance (the table is built before start).
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEER "validator-peer"
#define MAX_SYNTHETIC 16
#define MAX_PREPARED 4096

/* An endpoint as a wrapper sees it, before the per-call copies. */
typedef struct target {
    uint32_t kind;
    char method[17];
    char path[600];
    const char *owner;
    ph_param_t params[VH_MAX_PARAMS];
    size_t param_count;
    ph_type_t result;
} target_t;

typedef struct prepared {
    const vh_wrapper_t *wrapper;
    void *state;
} prepared_t;

typedef struct tally {
    unsigned offered, accepted, prepared, refused, released;
    prepared_t *states;
    size_t state_count;
} tally_t;

static target_t raw(const char *method, const char *path) {
    target_t target = {.kind = PH_ENDPOINT_RAW, .owner = PEER, .result = PH_TYPE_VOID};
    snprintf(target.method, sizeof target.method, "%s", method);
    snprintf(target.path, sizeof target.path, "%s", path);
    return target;
}

static target_t typed(const char *method, const char *path, ph_type_t result) {
    target_t target = raw(method, path);
    target.kind = PH_ENDPOINT_TYPED;
    target.result = result;
    return target;
}

static void param(target_t *target, const char *name, ph_source_t source, ph_type_t type) {
    if (target->param_count < VH_MAX_PARAMS) target->params[target->param_count++] = (ph_param_t){name, source, type};
}

/* Synthetic endpoints of another plugin that `match` covers. */
static size_t synthetic(const char *match, target_t *out) {
    size_t count = 0;
    if (match == NULL || strcmp(match, "*") == 0 || (match[0] == '/' && match[strlen(match) - 1] == '*')) {
        char base[300];
        if (match == NULL || strcmp(match, "*") == 0) snprintf(base, sizeof base, "/validator");
        else snprintf(base, sizeof base, "%.*s%s", (int)strlen(match) - 1, match, match[strlen(match) - 2] == '/' ? "validator" : "-validator");
        if (match == NULL || strcmp(match, "*") == 0) out[count++] = raw("GET", "/");
        char path[600];
        snprintf(path, sizeof path, "%s/raw/:id/:name", base);
        out[count++] = raw("POST", path);
        static const ph_type_t types[] = {PH_TYPE_BOOL, PH_TYPE_INT32, PH_TYPE_INT64, PH_TYPE_UINT64, PH_TYPE_DOUBLE, PH_TYPE_STRING};
        for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
            snprintf(path, sizeof path, "%s/typed/%s/:value", base, vh_type_name(types[i]));
            out[count] = typed("GET", path, types[i]);
            param(&out[count++], "value", PH_SOURCE_PATH, types[i]);
        }
        snprintf(path, sizeof path, "%s/typed/bytes", base);
        out[count] = typed("PUT", path, PH_TYPE_INT64);
        param(&out[count++], "data", PH_SOURCE_BODY, PH_TYPE_BYTES);
        snprintf(path, sizeof path, "%s/typed/sources", base);
        out[count] = typed("GET", path, PH_TYPE_VOID);
        param(&out[count], "q", PH_SOURCE_QUERY, PH_TYPE_STRING);
        param(&out[count], "X-Validator", PH_SOURCE_HEADER, PH_TYPE_INT64);
        param(&out[count++], "user", PH_SOURCE_PLUGIN, PH_TYPE_STRING);
        snprintf(path, sizeof path, "%s/typed/none", base);
        out[count++] = typed("GET", path, PH_TYPE_VOID);
        return count;
    }
    /* An exact path, or METHOD and path: that path, raw and typed (its captures as string path parameters). */
    const char *space = strchr(match, ' ');
    char method[17] = "GET";
    const char *path = match;
    if (space != NULL && match[0] != '/') {
        snprintf(method, sizeof method, "%.*s", (int)(space - match), match);
        path = space + 1;
    }
    char why[8];
    if (vh_pattern_problem(path, why, sizeof why) != NULL) return 0;   /* wraps nothing */
    out[count++] = raw(method, path);
    out[count] = typed(method, path, PH_TYPE_STRING);
    for (const char *at = strstr(path, "/:"); at != NULL && out[count].param_count < VH_MAX_PARAMS - 1; at = strstr(at + 1, "/:")) {
        static char names[VH_MAX_PARAMS][64];
        size_t index = out[count].param_count;
        snprintf(names[index], sizeof names[index], "%.*s", (int)strcspn(at + 2, "/"), at + 2);
        param(&out[count], names[index], PH_SOURCE_PATH, PH_TYPE_STRING);
    }
    param(&out[count++], "validator-query", PH_SOURCE_QUERY, PH_TYPE_INT64);
    return count;
}

static target_t own(const vh_endpoint_t *endpoint, const char *alias) {
    target_t target = endpoint->kind == PH_ENDPOINT_TYPED ? typed(endpoint->method, endpoint->path, endpoint->result)
                                                          : raw(endpoint->method, endpoint->path);
    target.owner = alias;
    for (size_t i = 0; i < endpoint->param_count; i++) target.params[i] = endpoint->params[i];
    target.param_count = endpoint->param_count;
    return target;
}

/* accepts, then prepare, with an info of fresh copies freed after each call. */
static void offer(vt_run_t *run, vh_host_t *host, const vh_wrapper_t *wrapper, const target_t *target, tally_t *tally) {
    const ph_wrapper_t *w = &wrapper->raw;
    char label[700];
    snprintf(label, sizeof label, "wrapper '%.60s' on %s %.500s", w->name, target->method, target->path);
    char *method = strdup(target->method), *path = strdup(target->path), *owner = strdup(target->owner);
    ph_param_t *params = target->param_count ? calloc(target->param_count, sizeof *params) : NULL;
    for (size_t i = 0; params != NULL && i < target->param_count; i++) {
        params[i] = target->params[i];
        params[i].name = strdup(target->params[i].name);
    }
    ph_endpoint_info_t info = {sizeof(ph_endpoint_info_t), target->kind, method, path, owner, params,
                               params != NULL ? target->param_count : 0, target->result};
    tally->offered++;
    bool accepted = true;
    if (w->accepts != NULL) {
        vt_step(run, "%s: accepts", label);
        vh_plugin_enter(host);
        accepted = w->accepts(w->user_data, &info);
        vh_plugin_leave(host);
    }
    if (accepted) {
        tally->accepted++;
        void *state = NULL;
        ph_status_t status = PH_OK;
        if (w->prepare != NULL) {
            vt_step(run, "%s: prepare", label);
            vt_message_t error;
            vt_message_init(&error);
            vh_plugin_enter(host);
            status = w->prepare(w->user_data, &info, &state, &error.message);
            vh_plugin_leave(host);
            char what[760];
            snprintf(what, sizeof what, "%s: prepare", label);
            vt_message_check(run, &error, what, status, true);
        }
        if (status == PH_OK) {
            tally->prepared++;
            if (tally->state_count < MAX_PREPARED) tally->states[tally->state_count++] = (prepared_t){wrapper, state};
        } else {
            tally->refused++;   /* the host answers 503 on that endpoint, and logs why */
        }
    }
    for (size_t i = 0; params != NULL && i < target->param_count; i++) free((char *)params[i].name);
    free(params);
    free(method);
    free(path);
    free(owner);
}

void vt_test_wrappers(vt_run_t *run) {
    vi_instance_t instance;
    if (!vi_open_for_test(&instance, run, false)) return;
    vh_host_t *host = instance.host;
    size_t wrappers = vh_wrapper_count(host);
    if (wrappers == 0) {
        vi_destroy(&instance);
        if (!vt_decided(run)) vt_skip(run, "no wrappers");
        return;
    }
    tally_t tally = {0};
    tally.states = calloc(MAX_PREPARED, sizeof *tally.states);
    if (tally.states == NULL) return;
    size_t endpoints = vh_endpoint_count(host);
    for (size_t w = 0; w < wrappers && !vt_failed(run); w++) {
        const vh_wrapper_t *wrapper = vh_wrapper(host, w);
        for (size_t e = 0; e < endpoints && !vt_failed(run); e++) {
            target_t target = own(vh_endpoint(host, e), run->alias);
            if (vh_match_covers(wrapper->raw.match, target.method, target.path)) offer(run, host, wrapper, &target, &tally);
        }
        target_t extra[MAX_SYNTHETIC];
        size_t count = synthetic(wrapper->raw.match, extra);
        for (size_t e = 0; e < count && !vt_failed(run); e++) {
            if (vh_match_covers(wrapper->raw.match, extra[e].method, extra[e].path)) offer(run, host, wrapper, &extra[e], &tally);
        }
    }
    for (size_t i = 0; i < tally.state_count; i++) {
        const ph_wrapper_t *w = &tally.states[i].wrapper->raw;
        if (w->release == NULL) continue;
        vt_step(run, "wrapper '%.60s': release", w->name);
        vh_plugin_enter(host);
        w->release(w->user_data, tally.states[i].state);
        vh_plugin_leave(host);
        tally.released++;
    }
    free(tally.states);
    vi_destroy(&instance);
    vt_note(run, "%zu wrapper%s on %u endpoint%s they match: %u accepted, %u prepared, %u refused with a message, %u released",
            wrappers, wrappers == 1 ? "" : "s", tally.offered, tally.offered == 1 ? "" : "s", tally.accepted, tally.prepared,
            tally.refused, tally.released);
}
