/* A plugin that fails in the ways a worker's own crash handler cannot report,
 * for the attribution tests (docs/CONTAINMENT.md, "Every way a worker can die"):
 *   GET /faulty/ok          answers "ok <build>"
 *   GET /faulty/overflow    recurses until its stack overflows
 *   GET /faulty/reset-segv  sets SIGSEGV to SIG_DFL, then writes through NULL
 *   GET /faulty/exit        calls exit(3)
 *   GET /faulty/_exit       calls _exit(0)
 *   GET /faulty/sigkill     raises SIGKILL
 *   GET /faulty/fds         opens /dev/null until the process runs out of descriptors, keeps them,
 *                           and leaves a thread that takes every descriptor freed later (a leak that goes on)
 *   GET /faulty/republish   publishes "faulty.loop", whose subscriber publishes it again, without end
 *   GET /faulty/close-control shuts down and closes descriptor 4 (a worker's control channel), as a plugin
 *                           that closes descriptors it does not own would
 *   GET /faulty/inheritable answers the descriptors above 2 open without close-on-exec, as fd=target
 *                           ("none" when there are none): what a program the plugin starts would inherit
 * Builds (see the Makefile), each with its own SHA-256:
 *   a, b        as above ("ok a", "ok b")
 *   reset       create() sets SIGSEGV to SIG_DFL (the host restores it)
 *   hangstart   start() sleeps for an hour
 *   crashcreate create() writes through NULL */
#include <plughost/http.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef FIXTURE_BUILD
#define FIXTURE_BUILD "a"
#endif

static const ph_http_t *http;
static const ph_host_t *the_host;
static ph_event_id_t loop_event;
/* How deep the republishing went, and the status the innermost publish returned. */
static int depth_reached;
static ph_status_t innermost_status = PH_OK;

static ph_status_t answer(ph_http_request_t *request, const char *text) {
    return http->set_body(request, text, strlen(text));
}

static ph_status_t ok(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    return answer(request, "ok " FIXTURE_BUILD);
}

/* Not a tail call (the sum after it), and a frame the optimiser keeps: each level takes 1 KiB. */
#pragma GCC diagnostic ignored "-Winfinite-recursion"
__attribute__((noinline)) static int recurse(volatile char *previous) {
    volatile char frame[1024];
    frame[0] = previous[0];
    frame[1023] = 1;
    return recurse(frame) + frame[1023];
}

static ph_status_t overflow(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    volatile char start[1] = {0};
    return recurse(start) == 0 ? answer(request, "no overflow") : PH_OK;
}

static ph_status_t reset_segv(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)request; (void)error;
    signal(SIGSEGV, SIG_DFL);
    volatile int *nothing = (volatile int *)user_data;  /* NULL */
    return (ph_status_t)*nothing;
}

static ph_status_t call_exit(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)request; (void)error;
    exit(3);
}

static ph_status_t call_underscore_exit(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)request; (void)error;
    _exit(0);
}

static ph_status_t call_sigkill(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)request; (void)error;
    raise(SIGKILL);
    return PH_OK;
}

static void *keep_leaking(void *argument) {
    (void)argument;
    for (;;) {
        while (open("/dev/null", O_RDONLY) >= 0) {}
        usleep(200);
    }
    return NULL;
}

static ph_status_t exhaust_descriptors(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    int opened = 0;
    while (open("/dev/null", O_RDONLY) >= 0) opened++;
    static int leaking = 0;
    pthread_t thread;
    if (!leaking && pthread_create(&thread, NULL, keep_leaking, NULL) == 0) {
        pthread_detach(thread);
        leaking = 1;
    }
    char text[64];
    snprintf(text, sizeof text, "opened %d", opened);
    return answer(request, text);
}

static ph_status_t close_control(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    shutdown(4, SHUT_RDWR);
    close(4);
    return answer(request, "closed");
}

static ph_status_t list_inheritable(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    char text[2048] = "";
    size_t length = 0;
    for (int fd = 3; fd < 1024 && length < sizeof text - 300; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0 || (flags & FD_CLOEXEC)) continue;
        char link[32], target[256];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t size = readlink(link, target, sizeof target - 1);
        target[size > 0 ? size : 0] = 0;
        length += (size_t)snprintf(text + length, sizeof text - length, "%s%d=%s", length ? "," : "", fd, target);
    }
    return answer(request, length ? text : "none");
}

static void republish(void *user_data, const ph_event_t *event) {
    (void)user_data; (void)event;
    depth_reached++;
    ph_status_t status = the_host->publish(the_host, loop_event, NULL, 0);
    if (status != PH_OK && innermost_status == PH_OK) innermost_status = status;
}

static ph_status_t start_loop(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    depth_reached = 0;
    innermost_status = PH_OK;
    ph_status_t status = the_host->publish(the_host, loop_event, NULL, 0);
    char text[96];
    snprintf(text, sizeof text, "depth %d, innermost status %d, outer status %d", depth_reached, (int)innermost_status, (int)status);
    return answer(request, text);
}

static ph_status_t create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
#ifdef FIXTURE_CRASH_CREATE
    volatile int *nothing = (volatile int *)0;
    *instance = (void *)(long)*nothing;
#endif
#ifdef FIXTURE_RESET_HANDLER
    signal(SIGSEGV, SIG_DFL);
#endif
    the_host = host;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) { ph_message_printf(error, "no HTTP"); return PH_ERR_UNSUPPORTED; }
    const ph_endpoint_t endpoints[] = {
        {sizeof(ph_endpoint_t), "GET", "/faulty/ok", ok, NULL},
        {sizeof(ph_endpoint_t), "GET", "/faulty/overflow", overflow, NULL},
        {sizeof(ph_endpoint_t), "GET", "/faulty/reset-segv", reset_segv, NULL},
        {sizeof(ph_endpoint_t), "GET", "/faulty/exit", call_exit, NULL},
        {sizeof(ph_endpoint_t), "GET", "/faulty/_exit", call_underscore_exit, NULL},
        {sizeof(ph_endpoint_t), "GET", "/faulty/sigkill", call_sigkill, NULL},
        {sizeof(ph_endpoint_t), "GET", "/faulty/fds", exhaust_descriptors, NULL},
        {sizeof(ph_endpoint_t), "GET", "/faulty/republish", start_loop, NULL},
        {sizeof(ph_endpoint_t), "GET", "/faulty/close-control", close_control, NULL},
        {sizeof(ph_endpoint_t), "GET", "/faulty/inheritable", list_inheritable, NULL},
    };
    for (size_t index = 0; index < sizeof endpoints / sizeof endpoints[0]; index++) {
        ph_status_t status = http->register_endpoint(host, &endpoints[index], error);
        if (status != PH_OK) return status;
    }
    loop_event = host->event_id(host, "faulty.loop");
    ph_status_t status = host->subscribe(host, loop_event, 0, republish, NULL);
    if (status != PH_OK) return status;
    *instance = NULL;
    return PH_OK;
}

static ph_status_t start(void *instance, ph_message_t *error) {
    (void)instance; (void)error;
#ifdef FIXTURE_HANG_START
    sleep(3600);
#endif
    return PH_OK;
}

static void destroy(void *instance) { (void)instance; }

static const ph_plugin_t plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.faulty", .version = "1.0." FIXTURE_BUILD,
    .create = create, .start = start, .destroy = destroy,
};

PH_EXPORT const ph_plugin_t *faulty_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &plugin : NULL;
}
