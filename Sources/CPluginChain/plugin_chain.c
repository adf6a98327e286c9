#include "plugin_chain.h"

#include "call_record.h"

/* PH_CHAIN_NO_RECORD leaves the in-flight record out: only the benchmark's
 * baseline copy of this walk is built that way (Benchmarks/CChainBaseline). */

#include <string.h>

static ph_status_t ph_chain_run(ph_chain_request_t *request);

/* A wrapper call: a fresh message, the plugin lock when it has one, and the
 * frame that lets exactly this call continue the chain once. */
static ph_status_t ph_chain_wrap(ph_chain_request_t *request, const ph_chain_step_t *step, size_t index) {
    request->text[0] = 0;
    ph_message_t message = {request->text, PH_CHAIN_MESSAGE_CAPACITY - 1};

    ptrdiff_t saved = request->frame;
    request->frame = (ptrdiff_t)index;
#ifndef PH_CHAIN_NO_RECORD
    ((ph_call_slot_t *)request->record)->what = step->what;
#endif
    if (step->lock != NULL) pthread_mutex_lock(step->lock);
    ph_status_t status = step->call(step->user_data, step->state, ph_chain_handle(request), &message);
    if (step->lock != NULL) pthread_mutex_unlock(step->lock);
#ifndef PH_CHAIN_NO_RECORD
    /* What was recorded before this wrapper: the wrapper around it, or what the chain began in.
     * Found from what is kept anyway (no register held across the call for it). */
    ((ph_call_slot_t *)request->record)->what = saved >= 0 ? request->steps[saved].what : request->entry_what;
#endif
    request->frame = saved;

    /* Deferred (ABI 1.2): the wrapper keeps the request and may continue it later. */
    if (status == PH_PENDING) {
        if (!request->pending) request->deferred_frame = (ptrdiff_t)index;
        request->pending = 1;
        request->text[0] = 0;
        return PH_PENDING;
    }

    /* Reported here, before the outer wrappers resume, so they see the 500. */
    if (status != PH_OK) request->host->wrapper_failed(request, index, status, request->text);
    /* The wrapper outside resumes with an empty buffer: this text was not its own
     * (what it wrote before continuing, call_next set aside and puts back). */
    request->text[0] = 0;
    return status;
}

/* Runs the step at the cursor, and after parsing the ones that follow. */
static ph_status_t ph_chain_run(ph_chain_request_t *request) {
    for (;;) {
        size_t index = request->cursor;
        if (index >= request->count) return PH_ERR_STATE;
        request->cursor = index + 1;
        const ph_chain_step_t *step = &request->steps[index];
        switch (step->kind) {
        case PH_CHAIN_WRAPPER:
            return ph_chain_wrap(request, step, index);
        case PH_CHAIN_PARSE: {
            ph_status_t status = request->host->parse(request);
            if (status != PH_OK) return status;
            continue;  /* straight on to the post-wrappers or the endpoint */
        }
        case PH_CHAIN_ENDPOINT: {
            ph_status_t status = request->host->endpoint(request);
            if (status == PH_PENDING) request->pending = 1;
            return status;
        }
        default:
            return PH_ERR_STATE;
        }
    }
}

static void ph_chain_init(ph_chain_request_t *request, void *context, const ph_chain_step_t *steps, size_t count,
                          const ph_chain_host_t *host) {
    request->context = context;
    request->steps = steps;
    request->count = count;
    request->cursor = 0;
    request->frame = -1;
    request->pending = 0;
    request->deferred_frame = -1;
    request->host = host;
#ifndef PH_CHAIN_NO_RECORD
    request->record = ph_call_slot();
    request->entry_what = ((ph_call_slot_t *)request->record)->what;
#endif
    request->text[0] = 0;
    /* Plugins may fill `capacity` bytes; this last one keeps every message terminated. */
    request->text[PH_CHAIN_MESSAGE_CAPACITY - 1] = 0;
}

ph_status_t ph_chain_serve(void *context, const ph_chain_step_t *steps, size_t count, const ph_chain_host_t *host,
                           size_t *reached) {
    ph_chain_request_t request;
    ph_chain_init(&request, context, steps, count, host);
    ph_status_t status = ph_chain_run(&request);
    *reached = request.cursor;
    return status;
}

ph_status_t ph_chain_serve_in(ph_chain_request_t *storage, void *context, const ph_chain_step_t *steps, size_t count,
                              const ph_chain_host_t *host) {
    ph_chain_init(storage, context, steps, count, host);
    return ph_chain_run(storage);
}

/* The rest of the chain, run while the calling wrapper's message is set
 * aside: the steps inside reuse the request's one buffer. Not inlined, so
 * its copy does not grow the stack of every call_next. */
__attribute__((noinline)) static ph_status_t ph_chain_run_keeping_text(ph_chain_request_t *request) {
    char kept[PH_CHAIN_MESSAGE_CAPACITY];
    memcpy(kept, request->text, sizeof kept);
    ph_status_t status = ph_chain_run(request);
    memcpy(request->text, kept, sizeof kept);
    return status;
}

ph_status_t ph_chain_call_next(ph_http_request_t *handle) {
    if (handle == NULL) return PH_ERR_INVALID;
    ph_chain_request_t *request = (ph_chain_request_t *)handle;
    /* Only the running wrapper, and only once: its call_next is what moves the cursor past frame + 1. */
    if ((ptrdiff_t)request->cursor != request->frame + 1) {
        /* A wrapper that answered PH_PENDING continues later, from any thread, once. */
        if (request->frame == -1 && request->pending && request->deferred_frame >= 0 &&
            (ptrdiff_t)request->cursor == request->deferred_frame + 1) {
            request->frame = request->deferred_frame;
            request->deferred_frame = -1;
            request->pending = 0;
#ifndef PH_CHAIN_NO_RECORD
            /* Resumed on whichever thread the plugin continues from. */
            request->record = ph_call_slot();
            request->entry_what = ((ph_call_slot_t *)request->record)->what;
#endif
            ph_status_t status = ph_chain_run(request);
            request->frame = -1;
#ifndef PH_CHAIN_NO_RECORD
            /* The steps inside restored the deferred wrapper's record; the resuming thread gets its own back. */
            ((ph_call_slot_t *)request->record)->what = request->entry_what;
#endif
            /* Something inside deferred again: the request stays pending. */
            return status;
        }
        return PH_ERR_STATE;
    }
    /* Rare: the wrapper wrote its message before continuing; keep it for when it returns. */
    if (request->text[0] != 0) return ph_chain_run_keeping_text(request);
    /* A tail call, with nothing left to do here: a wrapper ending in
     * `return http->call_next(request)` then leaves one frame per wrapper on
     * the stack, the walk's. (A version that emptied the buffer here instead
     * of in ph_chain_wrap measured about 8 ns more per wrapper at 10 wrappers.) */
    return ph_chain_run(request);
}
