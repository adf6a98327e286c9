/* A plugin for the isolation tests: it reports where it runs, faults on request, tries
 * what the strict sandbox refuses, and hands a counter over at reload.
 *   GET /iso/ok          "ok <build>"
 *   GET /iso/pid         its process id
 *   GET /iso/count       counts calls (the count is handed over by save_state/restore_state)
 *   GET /iso/segv        writes through NULL
 *   GET /iso/alloc/:mb   allocates and touches :mb MiB: "allocated N MiB" or "allocation of N MiB failed"
 *   GET /iso/tmpfile     creates a file in /tmp: "created" or "errno N"
 *   GET /iso/connect/:port  connects to 127.0.0.1::port: "connected" or "errno N"
 *   GET /iso/statefile   creates a file in its state folder (PLUGHOST_STATE_DIR is not given: the
 *                        folder is found from /proc/self/cmdline's --state-dir): "created" or "errno N"
 *   GET /iso/hang        sleeps for an hour
 *   GET /iso/ptrace      calls ptrace, which the seccomp allow-list refuses (SIGSYS)
 *   GET /iso/deferred    defers, and a thread of its own finishes the request 20 ms later
 *   GET /iso/greet/:name calls the message service "greeter.greetings/1" (the example greeter's) with
 *                        :name and answers its reply, or "no greeter service"
 *   GET /iso/seen        the "greeter.greeted" events it received, as "N: LAST PAYLOAD"
 * It subscribes a check to "access.check" that denies "eve" (reason "eve is on isolated's list").
 * Builds: a, b (FIXTURE_BUILD). */
#define _GNU_SOURCE
#include <plughost/http.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef FIXTURE_BUILD
#define FIXTURE_BUILD "a"
#endif

static const ph_http_t *http;
static long count;

static ph_status_t say(ph_http_request_t *request, const char *text) { return http->set_body(request, text, strlen(text)); }

static ph_status_t ok(void *u, ph_http_request_t *r, ph_message_t *e) { (void)u; (void)e; return say(r, "ok " FIXTURE_BUILD); }

static ph_status_t pid(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u; (void)e;
    char text[32];
    snprintf(text, sizeof text, "%d", (int)getpid());
    return say(r, text);
}

static ph_status_t counter(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u; (void)e;
    char text[32];
    snprintf(text, sizeof text, "%ld", __atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST));
    return say(r, text);
}

static ph_status_t segv(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u; (void)r; (void)e;
    *(volatile int *)0 = 1;
    return PH_OK;
}

static ph_status_t alloc(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u; (void)e;
    const char *value;
    size_t length;
    if (http->path_param(r, "mb", &value, &length) != PH_OK) return PH_ERR_INVALID;
    long mb = atol(value);
    char *memory = malloc((size_t)mb << 20);
    char text[64];
    if (memory) {
        memset(memory, 1, (size_t)mb << 20);
        free(memory);
        snprintf(text, sizeof text, "allocated %ld MiB", mb);
    } else {
        snprintf(text, sizeof text, "allocation of %ld MiB failed", mb);
    }
    return say(r, text);
}

static ph_status_t errno_answer(ph_http_request_t *r, int failed, const char *success) {
    char text[32];
    if (failed) snprintf(text, sizeof text, "errno %d", errno);
    return say(r, failed ? text : success);
}

static ph_status_t tmpfile_(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u; (void)e;
    char path[64];
    snprintf(path, sizeof path, "/tmp/plughost-isolated-%d", (int)getpid());
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) { close(fd); unlink(path); }
    return errno_answer(r, fd < 0, "created");
}

static ph_status_t connect_(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u; (void)e;
    const char *value;
    size_t length;
    if (http->path_param(r, "port", &value, &length) != PH_OK) return PH_ERR_INVALID;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno_answer(r, 1, "");
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(value))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int failed = connect(fd, (struct sockaddr *)&address, sizeof address) != 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return errno_answer(r, failed, "connected");
}

static ph_status_t statefile(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u; (void)e;
    char arguments[8192] = {0};
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, arguments, sizeof arguments - 1) : -1;
    if (fd >= 0) close(fd);
    const char *folder = NULL;
    for (ssize_t i = 0; i < got; i += (ssize_t)strlen(arguments + i) + 1)
        if (strcmp(arguments + i, "--state-dir") == 0) folder = arguments + i + strlen(arguments + i) + 1;
    if (!folder) return say(r, "no state folder");
    char path[4200];
    snprintf(path, sizeof path, "%s/note", folder);
    int file = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (file >= 0) close(file);
    return errno_answer(r, file < 0, "created");
}

static ph_status_t hang(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u; (void)r; (void)e;
    sleep(3600);
    return PH_OK;
}

static ph_status_t trace(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u; (void)e;
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    return say(r, "ptrace returned");
}

static void *finish_later(void *argument) {
    ph_http_request_t *request = argument;
    usleep(20000);
    say(request, "deferred " FIXTURE_BUILD);
    http->resume(request, PH_OK, NULL);
    return NULL;
}

static ph_status_t deferred(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u; (void)e;
    pthread_t thread;
    if (pthread_create(&thread, NULL, finish_later, r) != 0) return PH_ERR_FAILED;
    pthread_detach(thread);
    return PH_PENDING;
}

/** A message service table (PluginSDK's Services article). */
typedef struct message_service {
    uint32_t struct_size;
    uint32_t magic;
    void *context;
    ph_status_t (*call)(void *context, const void *request, size_t length, ph_state_write_fn reply, void *sink, ph_message_t *error);
} message_service_t;

static const ph_host_t *the_host;

typedef struct reply_buffer { char text[512]; size_t length; } reply_buffer_t;

static ph_status_t collect(void *sink, const void *bytes, size_t length) {
    reply_buffer_t *buffer = sink;
    if (buffer->length + length >= sizeof buffer->text) return PH_ERR_TOO_SMALL;
    memcpy(buffer->text + buffer->length, bytes, length);
    buffer->length += length;
    return PH_OK;
}

static ph_status_t greet(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u;
    const char *name;
    size_t length;
    if (http->path_param(r, "name", &name, &length) != PH_OK) return PH_ERR_INVALID;
    const message_service_t *service = the_host->get_service(the_host, "greeter.greetings/1");
    if (service == NULL) return say(r, "no greeter service");
    if (service->struct_size < sizeof *service || service->magic != 0x50484D53u) return say(r, "not a message service");
    reply_buffer_t reply = {{0}, 0};
    ph_status_t status = service->call(service->context, name, length, collect, &reply, e);
    if (status != PH_OK) return status;
    return http->set_body(r, reply.text, reply.length);
}

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static long seen_count;
static char seen_last[256];

static void on_greeted(void *user_data, const ph_event_t *event) {
    (void)user_data;
    pthread_mutex_lock(&seen_lock);
    seen_count++;
    size_t length = event->payload_length < sizeof seen_last - 1 ? event->payload_length : sizeof seen_last - 1;
    memcpy(seen_last, event->payload, length);
    seen_last[length] = 0;
    pthread_mutex_unlock(&seen_lock);
}

static ph_verdict_t on_access(void *user_data, const ph_event_t *event, ph_message_t *reason) {
    (void)user_data;
    if (event->payload_length == 3 && memcmp(event->payload, "eve", 3) == 0) {
        ph_message_printf(reason, "eve is on isolated's list");
        return PH_DENY;
    }
    return PH_ABSTAIN;
}

static ph_status_t seen(void *u, ph_http_request_t *r, ph_message_t *e) {
    (void)u; (void)e;
    char text[300];
    pthread_mutex_lock(&seen_lock);
    snprintf(text, sizeof text, "%ld: %s", seen_count, seen_last);
    pthread_mutex_unlock(&seen_lock);
    return say(r, text);
}

#define ENDPOINT(m, p, h, f) {.struct_size = sizeof(ph_endpoint_t), .method = m, .path = p, .handler = h, .flags = f}
static const ph_endpoint_t endpoints[] = {
    ENDPOINT("GET", "/iso/ok", ok, 0), ENDPOINT("GET", "/iso/pid", pid, 0), ENDPOINT("GET", "/iso/count", counter, 0),
    ENDPOINT("GET", "/iso/segv", segv, 0), ENDPOINT("GET", "/iso/alloc/:mb", alloc, 0),
    ENDPOINT("GET", "/iso/tmpfile", tmpfile_, 0), ENDPOINT("GET", "/iso/connect/:port", connect_, 0),
    ENDPOINT("GET", "/iso/statefile", statefile, 0), ENDPOINT("GET", "/iso/hang", hang, 0),
    ENDPOINT("GET", "/iso/ptrace", trace, 0), ENDPOINT("GET", "/iso/deferred", deferred, PH_MAY_DEFER),
    ENDPOINT("GET", "/iso/greet/:name", greet, 0), ENDPOINT("GET", "/iso/seen", seen, 0),
};

static ph_status_t create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    the_host = host;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (!http) { ph_message_printf(error, "no http extension"); return PH_ERR_UNSUPPORTED; }
    for (size_t i = 0; i < sizeof endpoints / sizeof *endpoints; i++) {
        ph_status_t status = http->register_endpoint(host, &endpoints[i], error);
        if (status != PH_OK) return status;
    }
    if (host->subscribe(host, host->event_id(host, "greeter.greeted"), PH_PRIORITY_DEFAULT, on_greeted, NULL) != PH_OK ||
        host->subscribe_check(host, host->event_id(host, "access.check"), PH_PRIORITY_DEFAULT, on_access, NULL) != PH_OK) {
        ph_message_printf(error, "could not subscribe");
        return PH_ERR_FAILED;
    }
    *instance = &count;
    return PH_OK;
}

static void destroy(void *instance) { (void)instance; }

static ph_status_t save_state(void *instance, ph_state_write_fn write, void *sink, ph_message_t *error) {
    (void)instance; (void)error;
    long value = __atomic_load_n(&count, __ATOMIC_SEQ_CST);
    return write(sink, &value, sizeof value);
}

static ph_status_t restore_state(void *instance, const char *from, const void *bytes, size_t length, ph_message_t *error) {
    (void)instance; (void)from;
    if (length != sizeof count) { ph_message_printf(error, "state of %zu bytes", length); return PH_ERR_INVALID; }
    memcpy(&count, bytes, sizeof count);
    return PH_OK;
}

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.isolated", .version = "1.0." FIXTURE_BUILD,
    .description = "faults on request, for the isolation tests",
    .create = create, .destroy = destroy, .save_state = save_state, .restore_state = restore_state,
};

PH_EXPORT const ph_plugin_t *isolated_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &descriptor : NULL;
}
