/* The plugin process: start-up, the plugin's descriptor and its lifecycle. */
#define _GNU_SOURCE
#include "process.h"
#include "isolation.h"

#include <sandbox.h>

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

plugin_process_t process;

int64_t process_table_add(process_table_t *table, const void *item) {
    pthread_mutex_lock(&process.lock);
    if (table->count == table->capacity) {
        size_t grown = table->capacity ? table->capacity * 2 : 8;
        void *bigger = realloc(table->items, grown * table->item_size);
        if (bigger == NULL) { pthread_mutex_unlock(&process.lock); return -1; }
        table->items = bigger;
        table->capacity = grown;
    }
    memcpy((char *)table->items + table->count * table->item_size, item, table->item_size);
    int64_t token = (int64_t)table->count++;
    pthread_mutex_unlock(&process.lock);
    return token;
}

int process_table_get(process_table_t *table, uint64_t token, void *out) {
    pthread_mutex_lock(&process.lock);
    int found = token < table->count;
    if (found) memcpy(out, (char *)table->items + token * table->item_size, table->item_size);
    pthread_mutex_unlock(&process.lock);
    return found;
}

uint8_t *process_call(uint32_t op, const ph_wbuf_t *args, ph_rbuf_t *reply) {
    uint8_t *frame = NULL;
    ph_call_result_t result = ph_peer_call(&process.peer, op, args, &frame, reply);
    if (result != PH_CALL_OK) {
        /* The worker is gone or broke the protocol: nothing this process does matters any more. */
        fprintf(stderr, "plughost plugin process '%s': call %u to the worker failed: %s; exiting\n", process.alias, op,
                ph_call_result_name(result));
        _exit(70);
    }
    return frame;
}

/* ---- PH_OP_OPEN: load the library and check its descriptor like the host's loader does --------------- */

static void open_plugin(ph_wbuf_t *reply) {
    char reason[512];
    dlerror();
    process.image = dlopen(process.library, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (process.image == NULL) {
        const char *error = dlerror();
        snprintf(reason, sizeof reason, "%s", error ? error : "dlopen failed");
        goto refuse;
    }
    ph_entry_fn entry = (ph_entry_fn)dlsym(process.image, process.entry);
    if (entry == NULL) {
        snprintf(reason, sizeof reason, "library exports no symbol '%s' (is it a plugin, and is the entry PH_EXPORT?)", process.entry);
        goto refuse;
    }
    const ph_plugin_t *plugin = entry(PH_ABI_MAJOR, PH_ABI_MINOR);
    if (plugin == NULL) {
        snprintf(reason, sizeof reason, "entry '%s' returned NULL for host ABI %u.%u", process.entry, PH_ABI_MAJOR, PH_ABI_MINOR);
        goto refuse;
    }
    if (plugin->abi_major != PH_ABI_MAJOR) {
        snprintf(reason, sizeof reason, "expected ABI %u.x, found %u.x (rebuild the plugin against this host's PluginSDK)", PH_ABI_MAJOR, plugin->abi_major);
        goto refuse;
    }
    if (plugin->abi_minor > PH_ABI_MINOR) {
        snprintf(reason, sizeof reason, "plugin needs ABI %u.%u, host speaks %u.%u", plugin->abi_major, plugin->abi_minor, PH_ABI_MAJOR, PH_ABI_MINOR);
        goto refuse;
    }
    size_t needed = plugin->abi_minor >= 1 ? PH_PLUGIN_SIZE_1_1 : PH_PLUGIN_SIZE_1_0;
    if (plugin->struct_size < needed) {
        snprintf(reason, sizeof reason, "descriptor size %u is smaller than an ABI %u.%u descriptor (%zu bytes)", plugin->struct_size,
                 plugin->abi_major, plugin->abi_minor, needed);
        goto refuse;
    }
    if (!plugin->id || !plugin->version || !plugin->create || !plugin->destroy) {
        snprintf(reason, sizeof reason, "descriptor lacks required member(s): %s%s%s%s(set them in the ph_plugin_t your entry returns)",
                 plugin->id ? "" : "id ", plugin->version ? "" : "version ", plugin->create ? "" : "create ", plugin->destroy ? "" : "destroy ");
        goto refuse;
    }
    process.plugin = plugin;
    int handoff = plugin->abi_minor >= 1 && plugin->struct_size >= PH_PLUGIN_SIZE_1_1;
    uint32_t members = (plugin->parse_config ? PH_HAS_PARSE_CONFIG : 0) | (plugin->start ? PH_HAS_START : 0) |
                       (plugin->stop ? PH_HAS_STOP : 0) | (plugin->get_extension ? PH_HAS_GET_EXTENSION : 0) |
                       (handoff && plugin->save_state ? PH_HAS_SAVE_STATE : 0) | (handoff && plugin->restore_state ? PH_HAS_RESTORE_STATE : 0);
    ph_wbuf_u32(reply, 1);
    ph_wbuf_string(reply, plugin->id);
    ph_wbuf_string(reply, plugin->version);
    ph_wbuf_string(reply, plugin->description);
    ph_wbuf_u32(reply, plugin->flags);
    ph_wbuf_u32(reply, plugin->abi_minor);
    ph_wbuf_u32(reply, members);
    ph_wbuf_u32(reply, (uint32_t)getpid());
    ph_wbuf_string(reply, process.sandbox);
    return;
refuse:
    ph_wbuf_u32(reply, 0);
    ph_wbuf_string(reply, reason);
}

/* ---- Lifecycle ------------------------------------------------------------------------------------------ */

static void lifecycle(uint32_t op, ph_rbuf_t *args, ph_wbuf_t *reply) {
    char text[1024] = {0};
    ph_message_t message = {text, sizeof text};
    const ph_plugin_t *plugin = process.plugin;
    if (plugin == NULL) { ph_wbuf_status(reply, PH_ERR_STATE, "the plugin is not loaded"); return; }
    switch (op) {
    case PH_OP_PARSE_CONFIG: {
        if (!process_read_config(args)) { ph_wbuf_status(reply, PH_ERR_INVALID, "malformed config from the worker"); return; }
        ph_status_t status = plugin->parse_config ? plugin->parse_config(plugin, &process.config, &message) : PH_OK;
        ph_wbuf_status(reply, status, text);
        return;
    }
    case PH_OP_CREATE: {
        process.host.abi_minor = ph_rbuf_u32(args);
        if (!process_read_config(args)) { ph_wbuf_status(reply, PH_ERR_INVALID, "malformed config from the worker"); return; }
        process.refusal[0] = 0;
        ph_status_t status = plugin->create(plugin, &process.host, &process.instance, &message);
        if (status != PH_OK && process.refusal[0]) {
            /* Say why, beside whatever the plugin made of the refusal. */
            char both[sizeof text];
            snprintf(both, sizeof both, "%s%s%s", text, text[0] ? " (" : "", process.refusal);
            if (text[0]) strncat(both, ")", sizeof both - strlen(both) - 1);
            snprintf(text, sizeof text, "%s", both);
        }
        ph_wbuf_status(reply, status, text);
        return;
    }
    case PH_OP_START:
        ph_wbuf_status(reply, plugin->start ? plugin->start(process.instance, &message) : PH_OK, text);
        return;
    case PH_OP_STOP:
        ph_wbuf_status(reply, plugin->stop ? plugin->stop(process.instance, &message) : PH_OK, text);
        return;
    case PH_OP_DESTROY:
        plugin->destroy(process.instance);
        process.instance = NULL;
        return;
    case PH_OP_SAVE_STATE: {
        ph_wbuf_t state;
        ph_wbuf_init(&state);
        ph_status_t status = plugin->save_state(process.instance, ph_wbuf_sink, &state, &message);
        ph_wbuf_status(reply, state.failed ? PH_ERR_FAILED : status, text);
        ph_wbuf_bytes(reply, state.data, state.length);
        ph_wbuf_free(&state);
        return;
    }
    case PH_OP_RESTORE_STATE: {
        const char *from = ph_rbuf_string(args);
        size_t length = 0;
        const uint8_t *bytes = ph_rbuf_bytes(args, &length);
        if (args->failed) { ph_wbuf_status(reply, PH_ERR_INVALID, "malformed state from the worker"); return; }
        ph_wbuf_status(reply, plugin->restore_state(process.instance, from, bytes, length, &message), text);
        return;
    }
    }
}

static void dispatch(ph_peer_t *peer, uint32_t op, ph_rbuf_t *args, ph_wbuf_t *reply) {
    (void)peer;
    switch (op) {
    case PH_OP_OPEN: open_plugin(reply); return;
    case PH_OP_PARSE_CONFIG: case PH_OP_CREATE: case PH_OP_START: case PH_OP_STOP: case PH_OP_DESTROY:
    case PH_OP_SAVE_STATE: case PH_OP_RESTORE_STATE:
        lifecycle(op, args, reply);
        return;
    default:
        process_dispatch_callback(op, args, reply);
    }
}

/* ---- main ----------------------------------------------------------------------------------------------- */

static void usage(const char *why) {
    fprintf(stderr, "plughost-plugin-process: %s\n"
            "usage: plughost-plugin-process --alias A --library PATH --entry SYMBOL --control-fd N [--report-fd N]\n"
            "       [--sandbox strict|none] [--memory-mb M] [--open-files F] [--state-dir DIR] [--read-path P]...\n"
            "(started by a plughost worker for a plugin with [isolation.ALIAS] mode = \"process\"; not for use by hand)\n", why);
    exit(64);
}

int ph_plugin_process_main(int argc, char **argv) {
    /* Nothing of the worker's but what it handed over on purpose (0-2, the control socket 3, the
     * report pipe 4, the library 5): not its listening socket, client connections or epoll
     * descriptors, which a descriptor without close-on-exec would otherwise leak in here. */
    if (syscall(SYS_close_range, 6u, ~0u, 0u) != 0) {
        for (int fd = 6; fd < 65536; fd++) close(fd);
    }
    /* No PR_SET_PDEATHSIG: it fires when the worker *thread* that started this process ends (a
     * restart is started by the monitor thread of its predecessor). The worker's end closes the
     * control socket instead, and ph_peer_run returns. */
    signal(SIGPIPE, SIG_IGN);
    int control = -1, report = -1, strict = 1;
    uint64_t memory_mb = 0, open_files = 0;
    const char *state_dir = NULL;
    const char *read_paths[64];
    size_t read_count = 0;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (i + 1 >= argc) usage("a flag lacks its value");
        const char *value = argv[++i];
        if (!strcmp(flag, "--alias")) process.alias = value;
        else if (!strcmp(flag, "--library")) process.library = value;
        else if (!strcmp(flag, "--entry")) process.entry = value;
        else if (!strcmp(flag, "--control-fd")) control = atoi(value);
        else if (!strcmp(flag, "--report-fd")) report = atoi(value);
        else if (!strcmp(flag, "--sandbox")) strict = strcmp(value, "none") != 0;
        else if (!strcmp(flag, "--memory-mb")) memory_mb = strtoull(value, NULL, 10);
        else if (!strcmp(flag, "--open-files")) open_files = strtoull(value, NULL, 10);
        else if (!strcmp(flag, "--state-dir")) state_dir = value;
        else if (!strcmp(flag, "--read-path")) { if (read_count < 64) read_paths[read_count++] = value; }
        else usage("unknown flag");
    }
    if (!process.alias || !process.library || !process.entry || control < 0) usage("--alias, --library, --entry and --control-fd are required");
    pthread_mutex_init(&process.lock, NULL);
    process.subscriptions.item_size = sizeof(process_subscription_t);
    process.handlers.item_size = sizeof(process_handler_t);
    process.typed.item_size = sizeof(process_typed_t *);
    process.wrappers.item_size = sizeof(ph_wrapper_t);
    process.services.item_size = sizeof(process_service_t);
    process.cancels.item_size = sizeof(process_cancel_t);
    process_host_init();
    process_http_init();

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PH_SANITIZED 1
#endif
#endif
#ifdef PH_SANITIZED
    /* A sanitizer's shadow memory counts toward RLIMIT_DATA: no memory limit in such a build. */
    if (memory_mb) fprintf(stderr, "plughost plugin process '%s': built with a sanitizer: memory-mb (%llu) is not applied\n",
                           process.alias, (unsigned long long)memory_mb);
    memory_mb = 0;
#endif
    char error[512];
    if (ph_isolation_sandbox(strict, memory_mb << 20, open_files, read_paths, read_count, state_dir, report, error, sizeof error) != 0) {
        fprintf(stderr, "plughost plugin process '%s': the sandbox could not be applied: %s\n", process.alias, error);
        return 71;
    }
    snprintf(process.sandbox, sizeof process.sandbox, "%s", strict || memory_mb || open_files ? ph_sandbox_summary() : "no sandbox");
    ph_peer_init(&process.peer, control, dispatch, &process, 0);
    /* The worker's lanes arrive on the control socket; when it closes, the worker is done with this process. */
    ph_peer_run(&process.peer);
    _exit(0);
}
