/*
 * What the endpoints and async tests do with the requests they sent once every call returned:
 * wait for the deferred ones to resume (as long as a request may reasonably take), give up on
 * those left as the host does at a request's timeout (their on_cancel callbacks run), wait for
 * their resume too, and report, once per endpoint and kind, what the plugin did wrong with them.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "GET /a, GET /b" of the deferred requests not resumed yet, into `names`; their number. */
static size_t waiting_for(const vt_sent_t *sent, size_t count, char *names, size_t capacity) {
    size_t waiting = 0, used = 0;
    names[0] = 0;
    for (size_t i = 0; i < count; i++) {
        const vq_request_t *request = sent[i].request;
        if (!vq_deferred(request) || vq_resumed(request)) continue;
        waiting++;
        const char *name = vq_endpoint_name(request);
        if (strstr(names, name) != NULL || used + strlen(name) + 8 >= capacity) continue;
        used += (size_t)snprintf(names + used, capacity - used, "%s%s", used ? ", " : "", name);
    }
    return waiting;
}

void vt_settle(vt_run_t *run, vt_sent_t *sent, size_t count) {
    vq_request_t **requests = calloc(count + 1, sizeof *requests);
    if (requests == NULL) return;
    for (size_t i = 0; i < count; i++) requests[i] = sent[i].request;
    char names[600];
    size_t waiting = waiting_for(sent, count, names, sizeof names);
    if (waiting > 0) {
        vt_step(run, "waiting up to %d ms for %zu deferred request%s to resume (%s)", VT_RESUME_MS, waiting,
                waiting == 1 ? "" : "s", names);
        vq_wait(requests, count, true, vt_now_ns() + VT_RESUME_MS * 1000000ull);
        bool gave_up = false;
        for (size_t i = 0; i < count; i++) {
            if (vq_deferred(sent[i].request) && !vq_resumed(sent[i].request) && vq_cancel(sent[i].request)) {
                sent[i].given_up = true;
                gave_up = true;
            }
        }
        waiting = waiting_for(sent, count, names, sizeof names);
        if (gave_up) {   /* those given up on at once had their VT_CANCEL_MS (= VT_RESUME_MS) above */
            vt_step(run, "gave up on %zu deferred request%s (their on_cancel callbacks ran); waiting up to %d ms for "
                    "their resume (%s)", waiting, waiting == 1 ? "" : "s", VT_CANCEL_MS, names);
            vq_wait(requests, count, true, vt_now_ns() + VT_CANCEL_MS * 1000000ull);
        }
    }
    free(requests);
}

/* The first request of the endpoint `name` in `sent` (requests of one endpoint may not be adjacent). */
static bool first_of(const vt_sent_t *sent, size_t index) {
    for (size_t i = 0; i < index; i++) {
        if (strcmp(vq_endpoint_name(sent[i].request), vq_endpoint_name(sent[index].request)) == 0) return false;
    }
    return true;
}

/* One endpoint's requests, reported: each kind of problem once. */
static void report_endpoint(vt_run_t *run, const vt_sent_t *sent, size_t count, const char *name, vt_tally_t *tally) {
    unsigned reported = 0;
    bool never = false, never_after_cancel = false;
    for (size_t i = 0; i < count; i++) {
        const vq_request_t *request = sent[i].request;
        if (strcmp(vq_endpoint_name(request), name) != 0) continue;
        unsigned problems = vq_problems(request);
        for (unsigned bit = 1; bit <= VQ_BAD_ANSWER; bit <<= 1) {
            if ((problems & bit) == 0 || (reported & bit) != 0) continue;
            reported |= bit;
            char text[400];
            vq_problem_text(request, bit, text, sizeof text);
            vt_fail(run, "%s %s", name, text);
        }
        if (!vq_deferred(request)) {
            tally->answered++;
            continue;
        }
        bool resumed = vq_resumed(request), cancelled = vq_cancelled(request);
        if (resumed && cancelled) tally->cancelled++;
        else if (resumed) tally->resumed++;
        else tally->unresumed++;
        const char *asked = vq_asked_cancel(request) ? "its on_cancel callback ran" : "it registered no on_cancel callback";
        if (resumed) continue;
        if (sent[i].cancelled_at_once && !never_after_cancel) {
            never_after_cancel = true;
            vt_fail(run, "%s never resumed after cancellation: the host gave up on a deferred request (%s; %s) and no "
                         "resume came within %d ms: call resume once for every deferred request, also after on_cancel "
                         "(it then answers PH_ERR_CANCELLED)", name, vq_label(request), asked, VT_CANCEL_MS);
        } else if (!sent[i].cancelled_at_once && !never) {
            never = true;
            vt_fail(run, "%s never resumed a deferred request (%s): not within %d ms, nor within %d ms after the host gave "
                         "up on it (%s)", name, vq_label(request), VT_RESUME_MS, VT_CANCEL_MS, asked);
        }
    }
}

void vt_report_sent(vt_run_t *run, const vt_sent_t *sent, size_t count, vt_tally_t *tally) {
    memset(tally, 0, sizeof *tally);
    for (size_t i = 0; i < count; i++) {
        if (first_of(sent, i)) report_endpoint(run, sent, count, vq_endpoint_name(sent[i].request), tally);
    }
}

void vt_release_sent(vt_sent_t *sent, size_t count) {
    for (size_t i = 0; i < count; i++) vq_release(sent[i].request);
}
