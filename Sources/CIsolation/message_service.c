#include "protocol.h"

#include <string.h>

ph_status_t ph_read_service_answer(ph_rbuf_t *reply, ph_state_write_fn write, void *sink, ph_message_t *error) {
    ph_status_t status = (ph_status_t)ph_rbuf_u32(reply);
    const char *message = ph_rbuf_string(reply);
    size_t length = 0;
    const uint8_t *answer = ph_rbuf_bytes(reply, &length);
    if (reply->failed) return PH_ERR_FAILED;
    if (message && *message && error) ph_message_copy(error, message, strlen(message));
    return status == PH_OK && write && length ? write(sink, answer, length) : status;
}

int ph_is_message_service(const void *table) {
    uint32_t head[2];
    memcpy(head, table, sizeof head);
    return head[0] >= PH_MESSAGE_SERVICE_SIZE && head[1] == PH_MESSAGE_SERVICE_MAGIC;
}
