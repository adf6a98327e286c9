/*
 * The request accessors of the validator's ph_http_t, on the requests of validator_request.c,
 * with the host's contracts (http.h): path_param and query values percent-decoded ('+' is a space
 * in a query), header names without case, every span followed by one uncounted NUL and valid until
 * the request ends (copies kept with the request); the body never NULL; set_status only 100-599;
 * properties and `param` values in the host's encoding (BOOL 1 byte, INT32 as an int64_t, 8-byte
 * numbers, STRING read back with U+FFFD for bytes that are not UTF-8, a JSON property must be
 * JSON), fresh 8-byte-aligned copies; `param` only on a handler-form typed endpoint; call_next
 * from an endpoint answers PH_ERR_STATE and runs nothing. A call with a pointer that is no request,
 * or on a request that has finished, is recorded (vq_enter) and answered without touching it.
 */
#define _GNU_SOURCE
#include "validator_request.h"

#include <stdlib.h>
#include <string.h>

/* Hands `length` bytes at `bytes` out as *value / *length (length may be NULL). */
static ph_status_t hand_out(vq_request_t *request, const void *bytes, size_t length, const char **value, size_t *out_length) {
    const unsigned char *copy = vq_hand(request, bytes, length);
    if (copy == NULL) return PH_ERR_FAILED;
    if (value != NULL) *value = (const char *)copy;
    if (out_length != NULL) *out_length = length;
    return PH_OK;
}

static int hex_digit(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes `length` bytes at `text` into `out` (at least `length` bytes); its length.
 * Invalid escapes stay as they are; '+' is a space when `plus`. */
static size_t decode(const char *text, size_t length, bool plus, char *out) {
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        int high, low;
        if (text[i] == '%' && i + 2 < length && (high = hex_digit((unsigned char)text[i + 1])) >= 0 &&
            (low = hex_digit((unsigned char)text[i + 2])) >= 0) {
            out[used++] = (char)(high << 4 | low);
            i += 2;
        } else {
            out[used++] = plus && text[i] == '+' ? ' ' : text[i];
        }
    }
    return used;
}

static const char *a_method(ph_http_request_t *handle) {
    vq_request_t *request = vq_enter(handle, "method");
    if (request == NULL) return NULL;
    const char *method = request->method;
    vq_leave(request);
    return method;
}

static const char *a_path(ph_http_request_t *handle) {
    vq_request_t *request = vq_enter(handle, "path");
    if (request == NULL) return NULL;
    const char *path = request->path;
    vq_leave(request);
    return path;
}

static ph_status_t a_path_param(ph_http_request_t *handle, const char *name, const char **value, size_t *length) {
    vq_request_t *request = vq_enter(handle, "path_param");
    if (request == NULL) return PH_ERR_STATE;
    ph_status_t status = PH_ERR_NOT_FOUND;
    const vq_field_t *capture = name != NULL ? vq_list_find(&request->captures, name, false) : NULL;
    if (name == NULL || value == NULL) status = PH_ERR_INVALID;
    else if (capture != NULL) {
        *value = (const char *)capture->value;   /* decoded once, the same span each time */
        if (length != NULL) *length = capture->length;
        status = PH_OK;
    }
    vq_leave(request);
    return status;
}

static ph_status_t a_query(ph_http_request_t *handle, const char *name, const char **value, size_t *length) {
    vq_request_t *request = vq_enter(handle, "query");
    if (request == NULL) return PH_ERR_STATE;
    ph_status_t status = name == NULL || value == NULL ? PH_ERR_INVALID : PH_ERR_NOT_FOUND;
    const char *at = request->query != NULL ? request->query : "";
    size_t wanted = name != NULL ? strlen(name) : 0;
    while (status == PH_ERR_NOT_FOUND && *at != 0) {
        size_t part = strcspn(at, "&");
        const char *equals = memchr(at, '=', part);
        size_t key_length = equals != NULL ? (size_t)(equals - at) : part;
        char *key = malloc(key_length + 1), *decoded = malloc(part + 1);
        if (key == NULL || decoded == NULL) status = PH_ERR_FAILED;
        else if (decode(at, key_length, true, key) == wanted && memcmp(key, name, wanted) == 0) {
            size_t value_length = equals != NULL ? decode(equals + 1, part - key_length - 1, true, decoded) : 0;
            status = hand_out(request, decoded, value_length, value, length);
        }
        free(key);
        free(decoded);
        at += part;
        if (*at == '&') at++;
    }
    vq_leave(request);
    return status;
}

static ph_status_t a_header(ph_http_request_t *handle, const char *name, const char **value, size_t *length) {
    vq_request_t *request = vq_enter(handle, "header");
    if (request == NULL) return PH_ERR_STATE;
    ph_status_t status = PH_ERR_NOT_FOUND;
    const vq_field_t *field = name != NULL ? vq_list_find(&request->headers, name, true) : NULL;
    if (name == NULL || value == NULL) status = PH_ERR_INVALID;
    else if (field != NULL) status = hand_out(request, field->value, field->length, value, length);   /* a copy each call */
    vq_leave(request);
    return status;
}

static ph_status_t a_body(ph_http_request_t *handle, const void **data, size_t *length) {
    vq_request_t *request = vq_enter(handle, "body");
    if (request == NULL) return PH_ERR_STATE;
    if (data != NULL) *data = request->body != NULL ? (const void *)request->body : (const void *)"";
    if (length != NULL) *length = request->body != NULL ? request->body_length : 0;
    vq_leave(request);
    return data == NULL ? PH_ERR_INVALID : PH_OK;
}

static ph_status_t a_set_request_header(ph_http_request_t *handle, const char *name, const char *value) {
    vq_request_t *request = vq_enter(handle, "set_request_header");
    if (request == NULL) return PH_ERR_STATE;
    ph_status_t status = name == NULL || value == NULL ? PH_ERR_INVALID : PH_OK;
    if (status == PH_OK) vq_list_set(&request->headers, name, true, PH_TYPE_STRING, value, strlen(value));
    vq_leave(request);
    return status;
}

static uint32_t a_status(ph_http_request_t *handle) {
    vq_request_t *request = vq_enter(handle, "status");
    if (request == NULL) return 0;
    uint32_t status = request->status;
    vq_leave(request);
    return status;
}

static ph_status_t a_set_status(ph_http_request_t *handle, uint32_t status) {
    vq_request_t *request = vq_enter(handle, "set_status");
    if (request == NULL) return PH_ERR_STATE;
    bool valid = status >= 100 && status <= 599;
    if (valid) request->status = status;
    vq_leave(request);
    return valid ? PH_OK : PH_ERR_INVALID;
}

static ph_status_t a_set_header(ph_http_request_t *handle, const char *name, const char *value) {
    vq_request_t *request = vq_enter(handle, "set_header");
    if (request == NULL) return PH_ERR_STATE;
    ph_status_t status = name == NULL || value == NULL ? PH_ERR_INVALID : PH_OK;
    if (status == PH_OK) vq_list_set(&request->response_headers, name, true, PH_TYPE_STRING, value, strlen(value));
    vq_leave(request);
    return status;
}

static ph_status_t a_response_body(ph_http_request_t *handle, const void **data, size_t *length) {
    vq_request_t *request = vq_enter(handle, "response_body");
    if (request == NULL) return PH_ERR_STATE;
    ph_status_t status = data == NULL ? PH_ERR_INVALID
                                      : hand_out(request, request->response_body, request->response_length, (const char **)data, length);
    vq_leave(request);
    return status;
}

static ph_status_t a_set_body(ph_http_request_t *handle, const void *data, size_t length) {
    vq_request_t *request = vq_enter(handle, "set_body");
    if (request == NULL) return PH_ERR_STATE;
    ph_status_t status = data == NULL && length > 0 ? PH_ERR_INVALID : PH_OK;
    if (status == PH_OK) {
        unsigned char *copy = malloc(length + 1);
        if (copy == NULL) {
            status = PH_ERR_FAILED;
        } else {
            if (length > 0) memcpy(copy, data, length);
            copy[length] = 0;
            free(request->response_body);
            request->response_body = copy;
            request->response_length = length;
        }
    }
    vq_leave(request);
    return status;
}

static ph_status_t a_call_next(ph_http_request_t *handle) {
    vq_request_t *request = vq_enter(handle, "call_next");
    if (request != NULL) vq_leave(request);
    return PH_ERR_STATE;   /* from an endpoint: there is no rest of the chain */
}

/* `length` bytes of a STRING with each byte that is not UTF-8 replaced by U+FFFD (malloc'ed). */
static unsigned char *replace_bad_utf8(const unsigned char *text, size_t length, size_t *out_length) {
    unsigned char *out = malloc(length * 3 + 1);
    if (out == NULL) return NULL;
    size_t used = 0;
    for (size_t i = 0; i < length;) {
        size_t n = text[i] < 0x80 ? 1 : vt_utf8_sequence(text + i, text + length);
        if (n == 0) {
            memcpy(out + used, "\xEF\xBF\xBD", 3);
            used += 3;
            i++;
        } else {
            memcpy(out + used, text + i, n);
            used += n;
            i += n;
        }
    }
    *out_length = used;
    return out;
}

static ph_status_t a_set_property(ph_http_request_t *handle, const char *key, ph_type_t type, const void *value, size_t length) {
    vq_request_t *request = vq_enter(handle, "set_property");
    if (request == NULL) return PH_ERR_STATE;
    ph_status_t status = PH_OK;
    int64_t narrow;
    char why[8];
    if (key == NULL || (value == NULL && length > 0)) status = PH_ERR_INVALID;
    else switch (type) {
    case PH_TYPE_BOOL: status = length == 1 ? PH_OK : PH_ERR_INVALID; break;
    case PH_TYPE_INT32:
        if (length != 8) { status = PH_ERR_INVALID; break; }
        memcpy(&narrow, value, 8);
        status = narrow >= INT32_MIN && narrow <= INT32_MAX ? PH_OK : PH_ERR_INVALID;
        break;
    case PH_TYPE_INT64: case PH_TYPE_UINT64: case PH_TYPE_DOUBLE: status = length == 8 ? PH_OK : PH_ERR_INVALID; break;
    case PH_TYPE_STRING: case PH_TYPE_BYTES: break;
    case PH_TYPE_JSON: status = vt_json_problem(value, length, why, sizeof why) == NULL ? PH_OK : PH_ERR_INVALID; break;
    default: status = PH_ERR_INVALID; break;
    }
    if (status == PH_OK && type == PH_TYPE_STRING) {
        size_t clean_length;
        unsigned char *clean = replace_bad_utf8(length ? value : (const void *)"", length, &clean_length);
        if (clean == NULL) status = PH_ERR_FAILED;
        else vq_list_set(&request->properties, key, false, type, clean, clean_length);
        free(clean);
    } else if (status == PH_OK) {
        vq_list_set(&request->properties, key, false, type, length ? value : (const void *)"", length);
    }
    vq_leave(request);
    return status;
}

/* A property or parameter handed out as `get_property` and `param` do: a fresh copy. */
static ph_status_t typed_out(vq_request_t *request, const vq_field_t *field, ph_type_t *type, const void **value, size_t *length) {
    if (field == NULL) return PH_ERR_NOT_FOUND;
    if (type == NULL || value == NULL || length == NULL) return PH_ERR_INVALID;
    *type = field->type;
    return hand_out(request, field->value, field->length, (const char **)value, length);
}

static ph_status_t a_get_property(ph_http_request_t *handle, const char *key, ph_type_t *type, const void **value, size_t *length) {
    vq_request_t *request = vq_enter(handle, "get_property");
    if (request == NULL) return PH_ERR_STATE;
    ph_status_t status = key == NULL ? PH_ERR_INVALID
                                     : typed_out(request, vq_list_find(&request->properties, key, false), type, value, length);
    vq_leave(request);
    return status;
}

static ph_status_t a_param(ph_http_request_t *handle, const char *name, ph_type_t *type, const void **value, size_t *length) {
    vq_request_t *request = vq_enter(handle, "param");
    if (request == NULL) return PH_ERR_STATE;
    ph_status_t status = PH_ERR_NOT_FOUND;   /* a raw endpoint has no parameters */
    if (name == NULL) status = PH_ERR_INVALID;
    else if (request->typed) status = typed_out(request, vq_list_find(&request->params, name, false), type, value, length);
    vq_leave(request);
    return status;
}

void vq_fill_accessors(ph_http_t *table) {
    table->method = a_method;
    table->path = a_path;
    table->path_param = a_path_param;
    table->query = a_query;
    table->header = a_header;
    table->body = a_body;
    table->set_request_header = a_set_request_header;
    table->status = a_status;
    table->set_status = a_set_status;
    table->set_header = a_set_header;
    table->response_body = a_response_body;
    table->set_body = a_set_body;
    table->call_next = a_call_next;
    table->set_property = a_set_property;
    table->get_property = a_get_property;
    table->param = a_param;
    table->resume = vq_resume;
    table->on_cancel = vq_on_cancel;
}
