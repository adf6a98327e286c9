/*
 * Test `threads`, for plugins that set PH_PLUGIN_THREAD_SAFE only (the host serialises every call
 * into the others): on a started instance, 4 threads released together each run 2,500 rounds of
 * what the host may run concurrently: every subscription to an event that fires many times
 * (custom events, connection and request events; lifecycle events fire once), every check
 * callback of a custom event, and every typed endpoint in the function form with neutral arguments. A lost update or a
 * data race shows up as a crash (an abort, a SIGSEGV).
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4
#define ROUNDS 2500
#define BUDGET_NS (6ull * 1000000000u)   /* slow callbacks: fewer rounds rather than the caller's time-out */

typedef struct shared {
    vt_run_t *run;
    vh_host_t *host;
    const vh_subscription_t **subscriptions;
    size_t subscription_count;
    const vh_endpoint_t **typed;
    size_t typed_count;
    atomic_bool go;           /* released together, once all are created */
    uint64_t deadline_ns;
    atomic_uint rounds;       /* rounds done, all threads */
} shared_t;

static void *deliver(void *argument) {
    shared_t *shared = argument;
    while (!atomic_load(&shared->go)) sched_yield();
    for (int round = 0; round < ROUNDS && vt_now_ns() < shared->deadline_ns; round++) {
        for (size_t i = 0; i < shared->subscription_count; i++) vh_deliver(shared->run, shared->host, shared->subscriptions[i]);
        for (size_t i = 0; i < shared->typed_count; i++) vt_typed_call_neutral(shared->run, shared->host, shared->typed[i]);
        atomic_fetch_add(&shared->rounds, 1);
    }
    return NULL;
}

void vt_test_threads(vt_run_t *run) {
    if ((run->plugin->flags & PH_PLUGIN_THREAD_SAFE) == 0) {
        vt_skip(run, "not thread-safe: the host serialises its calls");
        return;
    }
    vi_instance_t instance;
    if (!vi_open_for_test(&instance, run, true)) return;
    vh_host_t *host = instance.host;
    shared_t shared = {.run = run, .host = host};
    size_t subscriptions = vh_subscription_count(host), endpoints = vh_endpoint_count(host);
    shared.subscriptions = calloc(subscriptions + 1, sizeof *shared.subscriptions);
    shared.typed = calloc(endpoints + 1, sizeof *shared.typed);
    size_t events = 0, checks = 0;
    for (size_t i = 0; shared.subscriptions != NULL && i < subscriptions; i++) {
        const vh_subscription_t *subscription = vh_subscription(host, i);
        bool repeats = subscription->event != NULL ? vh_event_repeats(subscription->id) : subscription->id >= PH_EVENT_FIRST_CUSTOM;
        if (!repeats) continue;
        shared.subscriptions[shared.subscription_count++] = subscription;
        if (subscription->event != NULL) events++;
        else checks++;
    }
    for (size_t i = 0; shared.typed != NULL && i < endpoints; i++) {
        const vh_endpoint_t *endpoint = vh_endpoint(host, i);
        if (endpoint->kind == PH_ENDPOINT_TYPED && endpoint->function != NULL) shared.typed[shared.typed_count++] = endpoint;
    }
    if (shared.subscription_count == 0 && shared.typed_count == 0) {
        vi_destroy(&instance);
        free(shared.subscriptions);
        free(shared.typed);
        if (!vt_decided(run)) {
            vt_skip(run, "nothing the host calls concurrently: no subscription to a repeating event, no check, no typed endpoint");
        }
        return;
    }
    vt_step(run, "%d threads at once: %zu event subscription%s, %zu check%s, %zu typed endpoint%s, %d rounds each", THREADS,
            events, events == 1 ? "" : "s", checks, checks == 1 ? "" : "s", shared.typed_count,
            shared.typed_count == 1 ? "" : "s", ROUNDS);
    shared.deadline_ns = vt_now_ns() + BUDGET_NS;
    pthread_t threads[THREADS];
    int started = 0;
    while (started < THREADS && pthread_create(&threads[started], NULL, deliver, &shared) == 0) started++;
    atomic_store(&shared.go, true);
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    vi_destroy(&instance);
    if (started < 2) vt_skip(run, "the validator could not start its threads");
    free(shared.subscriptions);
    free(shared.typed);
    size_t rounds = atomic_load(&shared.rounds);
    vt_note(run, "%d threads, %zu rounds in all%s: %zu events, %zu checks, %zu typed calls", started, rounds,
            rounds < (size_t)started * ROUNDS ? " (stopped after 6 s)" : "", rounds * events, rounds * checks,
            rounds * shared.typed_count);
}
