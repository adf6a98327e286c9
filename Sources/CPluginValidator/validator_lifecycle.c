/*
 * Tests that drive whole instances with an empty config:
 *   heap           create → destroy × 100 after two warm-up cycles; the malloc heap must not grow
 *                  (the host's own records live outside it or are freed at destroy)
 *   lifecycle      parse_config → create → start → stop → destroy, once each, in order
 *   stray-threads  the threads of the process before create and after destroy plus a grace period
 *   late-calls     calls into the retired host table within a watch period after destroy
 * The library stays mapped throughout: a thread left behind finds its code.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HEAP_CYCLES 100
#define HEAP_WARMUP 2
#define HEAP_LIMIT (64 * 1024)          /* bytes over all cycles */
#define STRAY_GRACE_MS 500              /* ≥ 250 ms: a thread that exits ~100 ms after destroy is not stray */
#define LATE_WATCH_MS 400               /* ≥ 300 ms */
#define MAX_TASKS 4096

void vt_test_heap(vt_run_t *run) {
    const ph_config_t *config = vc_config_new(NULL, NULL, 0);
    vi_instance_t instance;
    vi_init(&instance, run, config);
    if (!vi_parse_config(&instance)) {
        if (!vt_failed(run)) vt_skip(run, "with an empty config, %s: this test needs an instance", instance.refusal);
        return;
    }
    size_t before = 0;
    for (int cycle = 0; cycle < HEAP_WARMUP + HEAP_CYCLES; cycle++) {
        if (cycle == HEAP_WARMUP) before = vt_heap_bytes();
        vi_init(&instance, run, config);
        snprintf(instance.context, sizeof instance.context, "(cycle %d of %d)", cycle + 1, HEAP_WARMUP + HEAP_CYCLES);
        bool created = vi_create(&instance);
        vi_destroy(&instance);
        if (vt_failed(run)) return;
        if (!created) {
            vt_skip(run, "with an empty config, %s: this test needs an instance", instance.refusal);
            return;
        }
    }
    long long grown = (long long)vt_heap_bytes() - (long long)before;
    if (grown > HEAP_LIMIT) {
        vt_fail(run, "grew the heap by %lld bytes over %d create/destroy cycles (%lld per cycle): free in destroy what "
                     "create allocates", grown, HEAP_CYCLES, grown / HEAP_CYCLES);
        return;
    }
    vt_note(run, "%d cycles, heap %+lld B", HEAP_CYCLES, grown);
}

void vt_test_lifecycle(vt_run_t *run) {
    vi_instance_t instance;
    uint64_t began = vt_now_ns();
    if (!vi_open_for_test(&instance, run, false)) return;
    bool started = vi_start(&instance);
    vi_destroy(&instance);
    if (vt_decided(run)) return;
    double ms = (double)(vt_now_ns() - began) / 1e6;
    if (!started) {
        vt_note(run, "parse_config, create, destroy in %.1f ms; %s (refused with a message: no stop)", ms, instance.refusal);
        return;
    }
    vt_note(run, "parse_config, create, start, stop, destroy in %.1f ms", ms);
}

static bool known(pid_t tid, const pid_t *tids, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (tids[i] == tid) return true;
    }
    return false;
}

/* Threads in `now` that are not in `before`. */
static size_t new_threads(const pid_t *before, size_t before_count, pid_t *now, size_t now_count) {
    size_t fresh = 0;
    for (size_t i = 0; i < now_count; i++) {
        if (!known(now[i], before, before_count)) now[fresh++] = now[i];
    }
    return fresh;
}

void vt_test_stray_threads(vt_run_t *run) {
    static pid_t before[MAX_TASKS], during[MAX_TASKS], after[MAX_TASKS];
    size_t before_count = vt_tasks(before, MAX_TASKS);
    vi_instance_t instance;
    if (!vi_open_for_test(&instance, run, true)) return;
    size_t during_count = new_threads(before, before_count, during, vt_tasks(during, MAX_TASKS));
    vi_destroy(&instance);
    if (vt_decided(run)) return;
    vt_step(run, "watching the threads for %d ms after destroy", STRAY_GRACE_MS);
    uint64_t destroyed = vt_now_ns();
    size_t left;
    do {
        left = new_threads(before, before_count, after, vt_tasks(after, MAX_TASKS));
        if (left == 0) break;
        vt_sleep_ms(10);
    } while (vt_now_ns() - destroyed < STRAY_GRACE_MS * 1000000ull);
    if (left > 0) {
        char names[600] = "", process[32] = "";
        vt_task_name(getpid(), process, sizeof process);
        size_t used = 0;
        for (size_t i = 0; i < left && used < sizeof names - 80; i++) {
            char name[32];
            vt_task_name(after[i], name, sizeof name);
            bool unnamed = strcmp(name, process) == 0;   /* a thread keeps its creator's name until it sets one */
            used += (size_t)snprintf(names + used, sizeof names - used, "%s'%s' (TID %d%s)", i ? ", " : "", name,
                                     (int)after[i], unnamed ? ", unnamed" : "");
        }
        vt_fail(run, "%zu thread%s still running after destroy (and %d ms): %s: stop and join every thread the plugin "
                     "starts, in stop or destroy", left, left == 1 ? "" : "s", STRAY_GRACE_MS, names);
        return;
    }
    vt_note(run, "%zu thread%s while it ran, none after destroy", during_count, during_count == 1 ? "" : "s");
}

void vt_test_late_calls(vt_run_t *run) {
    vi_instance_t instance;
    if (!vi_open_for_test(&instance, run, true)) return;
    vh_host_t *host = instance.host;
    vi_destroy(&instance);
    if (vt_decided(run)) return;
    vt_step(run, "watching the host table for %d ms after destroy", LATE_WATCH_MS);
    vt_sleep_ms(LATE_WATCH_MS);
    char names[256];
    uint64_t after_ns;
    unsigned calls = vh_late_calls(host, names, sizeof names, &after_ns);
    if (calls > 0) {
        char when[64];
        if (after_ns < 1000000u) snprintf(when, sizeof when, "the first within 1 ms");
        else snprintf(when, sizeof when, "the first %.0f ms", (double)after_ns / 1e6);
        vt_fail(run, "called the host after destroy (%s; %u call%s, %s after destroy returned): the ph_host_t is gone "
                     "then; stop the threads that use it in stop or destroy, and join them", names, calls,
                calls == 1 ? "" : "s", when);
        return;
    }
    vt_note(run, "no call in the %d ms after destroy", LATE_WATCH_MS);
}
