/*
 * Test `endpoints`: on a started instance, every endpoint the host hands a request (raw endpoints,
 * typed endpoints in the handler form) gets the generated requests of validator_generate.c, one
 * call each, under the plugin lock. The handler may read and write the request with every
 * accessor; answering PH_PENDING needs PH_MAY_DEFER, and a deferred request must be resumed once
 * (the test waits VT_RESUME_MS, gives up on it as the host would, and waits VT_CANCEL_MS more);
 * a handler-form typed endpoint with a json result must answer a well-formed document on success;
 * no request function after the request ended (watched until LINGER_MS after destroy). A crash
 * names the endpoint and the request in the last step. Typed endpoints in the function form are
 * the `typed` test's.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define LINGER_MS 200

void vt_test_endpoints(vt_run_t *run) {
    vi_instance_t instance;
    if (!vi_open_for_test(&instance, run, false)) return;
    size_t handled = 0, typed = 0;
    for (size_t i = 0; i < vh_endpoint_count(instance.host); i++) {
        const vh_endpoint_t *endpoint = vh_endpoint(instance.host, i);
        if (!VH_HANDLES(endpoint)) continue;
        handled++;
        if (endpoint->kind == PH_ENDPOINT_TYPED) typed++;
    }
    if (handled == 0) {
        vi_destroy(&instance);
        if (!vt_decided(run)) vt_skip(run, "no raw endpoints and no typed endpoints in the handler form");
        return;
    }
    if (!vi_start(&instance)) {
        vi_destroy(&instance);
        if (!vt_decided(run)) vt_skip(run, "with an empty config, %s: endpoints are served by a started instance", instance.refusal);
        return;
    }
    vt_sent_t *sent = calloc(handled * VG_VARIANTS + 1, sizeof *sent);
    if (sent == NULL) {
        vi_destroy(&instance);
        vt_skip(run, "out of memory");
        return;
    }
    size_t count = 0;
    for (size_t i = 0; i < vh_endpoint_count(instance.host); i++) {
        const vh_endpoint_t *endpoint = vh_endpoint(instance.host, i);
        vq_request_t *made[VG_VARIANTS];
        size_t made_count = vg_requests(run, instance.host, endpoint, made, VG_VARIANTS);
        for (size_t r = 0; r < made_count; r++) {
            vt_step(run, "endpoint %s %s, %s", endpoint->method, endpoint->path, vq_label(made[r]));
            vq_call(made[r]);
            sent[count++] = (vt_sent_t){.request = made[r]};
        }
    }
    vt_settle(run, sent, count);
    vi_destroy(&instance);
    vt_step(run, "watching the requests for %d ms after destroy (a request used after its end)", LINGER_MS);
    vt_sleep_ms(LINGER_MS);
    vt_tally_t tally;
    vt_report_sent(run, sent, count, &tally);
    vt_release_sent(sent, count);
    free(sent);
    vt_note(run, "%zu requests to %zu endpoint%s (%zu raw, %zu typed handler%s): %u answered in the call, %u deferred and "
                 "resumed once%s", count, handled, handled == 1 ? "" : "s", handled - typed, typed, typed == 1 ? "" : "s",
            tally.answered, tally.resumed + tally.cancelled,
            tally.cancelled ? " (some after the host gave up on them)" : "");
}
