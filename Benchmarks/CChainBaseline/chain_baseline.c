#include "chain_baseline.h"

#include <plugin_chain.h>
#include <stdlib.h>
#include <time.h>

ph_status_t ph_chain_serve_unrecorded(void *context, const ph_chain_step_t *steps, size_t count, const ph_chain_host_t *host,
                                      size_t *reached);
ph_status_t ph_chain_call_next_unrecorded(ph_http_request_t *request);

static ph_status_t pass_recorded(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)state; (void)error;
    return ph_chain_call_next(request);
}

static ph_status_t pass_unrecorded(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)state; (void)error;
    return ph_chain_call_next_unrecorded(request);
}

static ph_status_t parse(ph_chain_request_t *request) { (void)request; return PH_OK; }
static ph_status_t endpoint(ph_chain_request_t *request) { (void)request; return PH_OK; }
static void failed(ph_chain_request_t *request, size_t step, ph_status_t status, const char *message) {
    (void)request; (void)step; (void)status; (void)message;
}

double ph_bench_chain_walk(int wrappers, int recorded, long iterations) {
    ph_chain_step_t *steps = calloc((size_t)wrappers + 2, sizeof *steps);
    for (int index = 0; index < wrappers; index++) {
        steps[index].kind = PH_CHAIN_WRAPPER;
        steps[index].call = recorded ? pass_recorded : pass_unrecorded;
        steps[index].what = 0x11000001u;
    }
    steps[wrappers].kind = PH_CHAIN_PARSE;
    steps[wrappers + 1].kind = PH_CHAIN_ENDPOINT;
    const ph_chain_host_t host = {parse, endpoint, failed};
    struct timespec start, end;
    size_t reached = 0;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long index = 0; index < iterations; index++) {
        if (recorded) {
            ph_chain_serve(NULL, steps, (size_t)wrappers + 2, &host, &reached);
        } else {
            ph_chain_serve_unrecorded(NULL, steps, (size_t)wrappers + 2, &host, &reached);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    free(steps);
    double elapsed = (double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec);
    return elapsed / (double)iterations;
}
