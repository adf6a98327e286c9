/* The plugin process: the plugin's callbacks, as the worker calls them. */
#define _GNU_SOURCE
#include "process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Reads an event as the worker sent it; its pointers point into the frame. */
static int read_event(ph_rbuf_t *args, ph_event_t *event) {
    memset(event, 0, sizeof *event);
    event->struct_size = sizeof *event;
    event->id = ph_rbuf_u32(args);
    event->name = ph_rbuf_string(args);
    event->source = ph_rbuf_string(args);
    event->payload = ph_rbuf_bytes(args, &event->payload_length);
    return !args->failed;
}

/** Reads an endpoint's description as the worker sent it (for a wrapper's accepts and prepare). */
static int read_endpoint(ph_rbuf_t *args, ph_endpoint_info_t *info, ph_param_t *params) {
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->kind = ph_rbuf_u32(args);
    info->method = ph_rbuf_string(args);
    info->path = ph_rbuf_string(args);
    info->owner = ph_rbuf_string(args);
    uint32_t count = ph_rbuf_u32(args);
    if (count > 16) return 0;
    for (uint32_t i = 0; i < count; i++) {
        params[i].name = ph_rbuf_string(args);
        params[i].source = ph_rbuf_u32(args);
        params[i].type = ph_rbuf_u32(args);
    }
    info->params = count ? params : NULL;
    info->param_count = count;
    info->result = ph_rbuf_u32(args);
    return !args->failed;
}

/** The function-form typed call: the worker parsed the values; this process calls the function. */
static void typed_call(ph_rbuf_t *args, ph_wbuf_t *reply) {
    uint64_t token = ph_rbuf_u64(args);
    process_typed_t *typed = NULL;
    if (!process_table_get(&process.typed, token, &typed) || typed == NULL) { ph_wbuf_u32(reply, 0); return; }
    uint64_t slots[32];
    void *pointers[32];
    size_t slot = 0;
    for (size_t i = 0; i < typed->param_count; i++) {
        switch (typed->params[i]) {
        case PH_TYPE_BOOL: { uint8_t flag = ph_rbuf_u32(args) != 0; memcpy(&slots[slot], &flag, 1); break; }
        case PH_TYPE_INT32: { int32_t value = (int32_t)(int64_t)ph_rbuf_u64(args); memcpy(&slots[slot], &value, 4); break; }
        case PH_TYPE_INT64: case PH_TYPE_UINT64: slots[slot] = ph_rbuf_u64(args); break;
        case PH_TYPE_DOUBLE: { double value = ph_rbuf_f64(args); memcpy(&slots[slot], &value, 8); break; }
        case PH_TYPE_STRING: { const char *text = ph_rbuf_string(args); memcpy(&slots[slot], &text, sizeof text); break; }
        case PH_TYPE_BYTES: case PH_TYPE_JSON: {
            size_t length = 0;
            const uint8_t *bytes = ph_rbuf_bytes(args, &length);
            memcpy(&slots[slot], &bytes, sizeof bytes);
            pointers[slot] = &slots[slot];
            slot++;
            slots[slot] = length;
            break;
        }
        }
        pointers[slot] = &slots[slot];
        slot++;
    }
    if (args->failed) { ph_wbuf_u32(reply, 0); return; }
    union { ffi_arg integer; double number; void *pointer; uint64_t wide; } result = {0};
    ffi_call(&typed->cif, typed->function, &result, pointers);
    ph_wbuf_u32(reply, 1);
    switch (typed->result) {
    case PH_TYPE_VOID: break;
    case PH_TYPE_BOOL: ph_wbuf_u32(reply, (uint8_t)result.integer != 0); break;
    case PH_TYPE_INT32: ph_wbuf_u64(reply, (uint64_t)(int64_t)(int32_t)result.integer); break;
    case PH_TYPE_INT64: case PH_TYPE_UINT64: ph_wbuf_u64(reply, result.wide); break;
    case PH_TYPE_DOUBLE: ph_wbuf_f64(reply, result.number); break;
    case PH_TYPE_STRING: case PH_TYPE_JSON: ph_wbuf_string(reply, result.pointer); break;
    }
}

void process_dispatch_callback(uint32_t op, ph_rbuf_t *args, ph_wbuf_t *reply) {
    char text[1024] = {0};
    ph_message_t message = {text, sizeof text};
    switch (op) {
    case PH_OP_EVENT: case PH_OP_CHECK: {
        uint64_t token = ph_rbuf_u64(args);
        ph_event_t event;
        process_subscription_t subscription;
        if (!read_event(args, &event) || !process_table_get(&process.subscriptions, token, &subscription)) {
            if (op == PH_OP_CHECK) ph_wbuf_status(reply, PH_DENY, "the plugin process has no such subscription");
            return;
        }
        if (op == PH_OP_EVENT) {
            if (subscription.event) subscription.event(subscription.user_data, &event);
            return;
        }
        ph_verdict_t verdict = subscription.check ? subscription.check(subscription.user_data, &event, &message) : PH_ABSTAIN;
        ph_wbuf_status(reply, verdict, text);
        return;
    }
    case PH_OP_HANDLER: {
        uint64_t token = ph_rbuf_u64(args);
        uint64_t request = ph_rbuf_u64(args);
        process_handler_t handler;
        if (args->failed || !process_table_get(&process.handlers, token, &handler)) {
            ph_wbuf_status(reply, PH_ERR_FAILED, "the plugin process has no such endpoint");
            return;
        }
        process_request_enter(request);
        ph_status_t status = handler.handler(handler.user_data, (ph_http_request_t *)(uintptr_t)request, &message);
        process_request_leave(request, status);
        ph_wbuf_status(reply, status, text);
        return;
    }
    case PH_OP_TYPED_CALL:
        typed_call(args, reply);
        return;
    case PH_OP_WRAP_ACCEPTS: case PH_OP_WRAP_PREPARE: {
        uint64_t token = ph_rbuf_u64(args);
        ph_endpoint_info_t info;
        ph_param_t params[16];
        ph_wrapper_t wrapper;
        if (!read_endpoint(args, &info, params) || !process_table_get(&process.wrappers, token, &wrapper)) {
            if (op == PH_OP_WRAP_ACCEPTS) ph_wbuf_u32(reply, 0);
            else { ph_wbuf_status(reply, PH_ERR_FAILED, "the plugin process has no such wrapper"); ph_wbuf_u64(reply, 0); }
            return;
        }
        if (op == PH_OP_WRAP_ACCEPTS) {
            ph_wbuf_u32(reply, wrapper.accepts ? wrapper.accepts(wrapper.user_data, &info) : 1);
            return;
        }
        void *state = NULL;
        ph_status_t status = wrapper.prepare ? wrapper.prepare(wrapper.user_data, &info, &state, &message) : PH_OK;
        ph_wbuf_status(reply, status, text);
        ph_wbuf_u64(reply, (uint64_t)(uintptr_t)state);
        return;
    }
    case PH_OP_WRAP_CALL: case PH_OP_WRAP_RELEASE: {
        uint64_t token = ph_rbuf_u64(args);
        uint64_t state = ph_rbuf_u64(args);
        uint64_t request = op == PH_OP_WRAP_CALL ? ph_rbuf_u64(args) : 0;
        ph_wrapper_t wrapper;
        if (args->failed || !process_table_get(&process.wrappers, token, &wrapper)) {
            if (op == PH_OP_WRAP_CALL) ph_wbuf_status(reply, PH_ERR_FAILED, "the plugin process has no such wrapper");
            return;
        }
        if (op == PH_OP_WRAP_RELEASE) {
            if (wrapper.release) wrapper.release(wrapper.user_data, (void *)(uintptr_t)state);
            return;
        }
        process_request_enter(request);
        ph_status_t status = wrapper.call(wrapper.user_data, (void *)(uintptr_t)state, (ph_http_request_t *)(uintptr_t)request, &message);
        process_request_leave(request, status);
        ph_wbuf_status(reply, status, text);
        return;
    }
    case PH_OP_SERVICE_CALL: {
        uint64_t token = ph_rbuf_u64(args);
        size_t length = 0;
        const uint8_t *request = ph_rbuf_bytes(args, &length);
        process_service_t service;
        if (args->failed || !process_table_get(&process.services, token, &service)) {
            ph_wbuf_status(reply, PH_ERR_NOT_FOUND, "the plugin process has no such service");
            ph_wbuf_bytes(reply, NULL, 0);
            return;
        }
        ph_message_service_t table;
        memcpy(&table, service.table, sizeof table);
        ph_wbuf_t answer;
        ph_wbuf_init(&answer);
        ph_status_t status = table.call(table.context, request, length, ph_wbuf_sink, &answer, &message);
        ph_wbuf_status(reply, answer.failed ? PH_ERR_FAILED : status, text);
        ph_wbuf_bytes(reply, answer.data, answer.length);
        ph_wbuf_free(&answer);
        return;
    }
    case PH_OP_CANCELLED: {
        uint64_t token = ph_rbuf_u64(args);
        process_cancel_t cancel;
        if (!args->failed && process_table_get(&process.cancels, token, &cancel)) cancel.cancelled(cancel.user_data);
        return;
    }
    case PH_OP_GET_EXTENSION:
        ph_wbuf_u32(reply, 0);
        return;
    default:
        fprintf(stderr, "plughost plugin process '%s': unknown operation %u from the worker\n", process.alias, op);
    }
}
