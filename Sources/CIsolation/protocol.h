/*
 * The operations that cross between a worker (which holds the host) and a
 * plugin process (which holds the plugin), with their arguments and answers.
 * Each mirrors one function of the ABI (plugin.h, http.h); see the worker's
 * proxy (proxy_*.c) and the plugin process (process_*.c) for both ends.
 *
 * Tokens name plugin-side things by index (the n-th subscription, endpoint,
 * wrapper, service of this plugin): a plugin process restarted after a crash
 * registers the same things in the same order, so the worker's registrations
 * keep pointing at the right ones. Request handles are the worker's own
 * pointers, checked against its table of requests in flight before any use.
 */
#pragma once

#include "wire.h"

#include <plughost/plugin.h>

/* Worker → plugin process: the descriptor, and the plugin's callbacks. */
enum {
    PH_OP_OPEN = 1,          /* symbol → ok, error | id, version, description, flags, abi_minor, struct_size, members */
    PH_OP_PARSE_CONFIG,      /* config → status, message */
    PH_OP_CREATE,            /* host facts, config → status, message */
    PH_OP_START,             /* → status, message */
    PH_OP_STOP,              /* → status, message */
    PH_OP_DESTROY,           /* → */
    PH_OP_SAVE_STATE,        /* → status, message, bytes */
    PH_OP_RESTORE_STATE,     /* from_version, bytes → status, message */
    PH_OP_EVENT,             /* token, event → */
    PH_OP_CHECK,             /* token, event → verdict, reason */
    PH_OP_HANDLER,           /* token, request → status, message */
    PH_OP_TYPED_CALL,        /* token, values → result */
    PH_OP_WRAP_ACCEPTS,      /* token, endpoint info → accepts */
    PH_OP_WRAP_PREPARE,      /* token, endpoint info → status, message, state */
    PH_OP_WRAP_CALL,         /* token, state, request → status, message */
    PH_OP_WRAP_RELEASE,      /* token, state → */
    PH_OP_SERVICE_CALL,      /* token, request bytes → status, message, reply bytes */
    PH_OP_CANCELLED,         /* token → (a deferred request the host gave up on) */
    PH_OP_GET_EXTENSION,     /* id → present (a plugin extension cannot cross; logged) */
};

/* Plugin process → worker: the host API. */
enum {
    PH_HOP_LOG = 100,        /* level, message → */
    PH_HOP_EVENT_ID,         /* name → id */
    PH_HOP_SUBSCRIBE,        /* id, priority, token, is_check → status */
    PH_HOP_PUBLISH,          /* id, payload → status */
    PH_HOP_CHECK,            /* id, payload, capacity → verdict, reason */
    PH_HOP_PROVIDE_SERVICE,  /* id, token → status */
    PH_HOP_GET_SERVICE,      /* id → handle (0: none) */
    PH_HOP_SERVICE_CALL,     /* handle, request bytes → status, message, reply bytes */
    PH_HOP_CACHE_SET,        /* key, value, ttl → status */
    PH_HOP_CACHE_GET,        /* key, capacity → status, length, bytes */
    PH_HOP_CACHE_INVALIDATE, /* prefix → status */
    PH_HOP_REGISTER_ENDPOINT,/* method, path, token, flags → status, message */
    PH_HOP_REGISTER_TYPED,   /* the typed endpoint's members, token → status, message */
    PH_HOP_REGISTER_WRAPPER, /* the wrapper's members, token → status, message */
    PH_HOP_REQUEST,          /* request, function, arguments → its answer (http.h's request functions) */
};

/* PH_HOP_REQUEST functions. */
enum {
    PH_REQ_METHOD = 1, PH_REQ_PATH, PH_REQ_PATH_PARAM, PH_REQ_QUERY, PH_REQ_HEADER, PH_REQ_BODY,
    PH_REQ_SET_REQUEST_HEADER, PH_REQ_STATUS, PH_REQ_SET_STATUS, PH_REQ_SET_HEADER, PH_REQ_RESPONSE_BODY,
    PH_REQ_SET_BODY, PH_REQ_CALL_NEXT, PH_REQ_SET_PROPERTY, PH_REQ_GET_PROPERTY, PH_REQ_PARAM, PH_REQ_RESUME,
    PH_REQ_ON_CANCEL,
};

/* Config value kinds on the wire. */
enum { PH_CONFIG_STRING = 1, PH_CONFIG_INT, PH_CONFIG_DOUBLE, PH_CONFIG_BOOL, PH_CONFIG_OTHER };

/* PH_OP_OPEN's member bits: which optional descriptor functions the plugin sets. */
enum {
    PH_HAS_PARSE_CONFIG = 1 << 0, PH_HAS_START = 1 << 1, PH_HAS_STOP = 1 << 2, PH_HAS_GET_EXTENSION = 1 << 3,
    PH_HAS_SAVE_STATE = 1 << 4, PH_HAS_RESTORE_STATE = 1 << 5,
};

/* PH_HOP_REGISTER_WRAPPER's member bits. */
enum { PH_WRAP_HAS_ACCEPTS = 1 << 0, PH_WRAP_HAS_PREPARE = 1 << 1, PH_WRAP_HAS_RELEASE = 1 << 2 };

/** A message service's table as PluginSDK's Services article lays it out (the SDK defines it in
 *  Swift only): what crosses for a service is its call, request bytes in and answer bytes out. */
typedef struct ph_message_service {
    uint32_t struct_size;   /**< PH_MESSAGE_SERVICE_SIZE or more. */
    uint32_t magic;         /**< PH_MESSAGE_SERVICE_MAGIC. */
    void *context;          /**< Passed to `call`. */
    /** Answers `request` through `reply(sink, …)`; may write `error`. */
    ph_status_t (*call)(void *context, const void *request, size_t length, ph_state_write_fn reply, void *sink, ph_message_t *error);
} ph_message_service_t;

/** Reads a service call's answer as the other side wrote it (status, message, bytes): hands the
 *  bytes to `write(sink, …)` and the message to `error`. PH_ERR_FAILED for a malformed answer. */
ph_status_t ph_read_service_answer(ph_rbuf_t *reply, ph_state_write_fn write, void *sink, ph_message_t *error);

/** Whether the service table at `table` is a message service (its size and magic), read without
 *  reading past them. */
int ph_is_message_service(const void *table);

/** The magic of a message service table (PluginSDK's Services article). */
#define PH_MESSAGE_SERVICE_MAGIC 0x50484D53u
/** The size of a message service table. */
#define PH_MESSAGE_SERVICE_SIZE 24u
