/*
 * The "audit.log/1" service the audit plugin offers to other plugins.
 * Look it up with `host->get_service(host, AUDIT_SERVICE_ID)` in `start`.
 */
#pragma once
#include <stdint.h>

/** Service id, versioned. */
#define AUDIT_SERVICE_ID "audit.log/1"

/** Functions the audit plugin offers. Owned by the audit instance, valid until
 *  its destroy; every function is [thread-safe]. */
typedef struct audit_service {
    uint32_t struct_size;   /**< sizeof(audit_service_t). */
    void *context;          /**< Pass back as the first argument. */
    /** Records one line (caller-owned, read during the call). */
    void (*record)(void *context, const char *line);
    /** How many lines and events were recorded so far. */
    int64_t (*count)(void *context);
} audit_service_t;
