/*
 * The request object the validator hands endpoints (shared by validator_request.c, which runs its
 * life, and validator_accessors.c, which reads and writes it for the plugin). Not for the tests:
 * they use the vq_* functions of validator_internal.h.
 */
#pragma once

#include "validator_internal.h"

/** A name and a value of bytes (plus one NUL after them): a header, a capture, a property or a
 *  typed parameter (those two with their type, in the `param` encoding). */
typedef struct vq_field {
    char *name;
    ph_type_t type;
    unsigned char *value;
    size_t length;
} vq_field_t;

typedef struct vq_list {
    vq_field_t *items;
    size_t count, capacity;
} vq_list_t;

/** Where a request is in its life. */
typedef enum { VQ_BUILDING, VQ_CALLING, VQ_PENDING, VQ_DONE, VQ_RELEASED } vq_phase_t;

#define VQ_PROBLEM_KINDS 6

struct vq_request {
    pthread_mutex_t lock;             /* recursive; guards everything below */
    vt_run_t *run;                    /* NULL once released: nothing is recorded after the test */
    vh_host_t *host;
    ph_handler_fn handler;
    void *user_data;
    bool may_defer;                   /* the endpoint declared PH_MAY_DEFER */
    bool typed;                       /* a handler-form typed endpoint: `param` works */
    ph_type_t result;                 /* typed: its result type */
    uint32_t declared_status;         /* typed: the status of a successful answer */
    char endpoint_name[200];          /* "GET /a/:b" */
    char label[200];                  /* "request 2 (a query, JSON headers and body)" */
    /* the request */
    char *method, *path, *query;
    vq_list_t captures, headers, params, properties;
    unsigned char *body;
    size_t body_length;
    /* the response */
    uint32_t status;
    vq_list_t response_headers;
    unsigned char *response_body;
    size_t response_length;
    /* memory handed to the plugin, valid until the request is released */
    void **handed;
    size_t handed_count, handed_capacity;
    /* its life */
    vq_phase_t phase;
    const char *ended;                /* how it finished: "its handler returned", "resume" */
    ph_status_t returned;             /* what the handler returned */
    bool resumed, cancelled, asked_cancel;
    ph_status_t resume_status;
    void (*cancel_fn)(void *);
    void *cancel_data;
    bool cancelling;                  /* the on_cancel callback runs (outside the lock), on `canceller` */
    pthread_t canceller;
    unsigned problems;                /* VQ_* bits */
    char texts[VQ_PROBLEM_KINDS][320]; /* the first text of each */
};

/** Records problem `bit` once per request, with its text (nothing after the request was released). */
void vq_note(vq_request_t *request, unsigned bit, const char *format, ...) __attribute__((format(printf, 3, 4)));
/** Memory of `length` bytes plus a NUL, 8-byte aligned, handed to the plugin until the request is released. */
unsigned char *vq_hand(vq_request_t *request, const void *bytes, size_t length);
/** Sets (replaces) `name` in `list` (compared without case when `fold`), a copy of the value. */
void vq_list_set(vq_list_t *list, const char *name, bool fold, ph_type_t type, const void *value, size_t length);
/** The field `name` of `list`, or NULL. */
const vq_field_t *vq_list_find(const vq_list_t *list, const char *name, bool fold);
