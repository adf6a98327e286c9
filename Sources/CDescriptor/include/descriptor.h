/* Descriptor numbers the host keeps away from the ones a worker inherits.
 * A worker expects its inherited descriptors at fixed numbers (3 to 9); the
 * host keeps every descriptor of its own above 9, so a spawn's dup2 of one
 * never overwrites another. Host-side only: plugins never see this header. */
#ifndef PLUGHOST_DESCRIPTOR_H
#define PLUGHOST_DESCRIPTOR_H

#ifdef __cplusplus
extern "C" {
#endif

/* The lowest descriptor number the host keeps its own descriptors at. */
#define PH_FD_HIGH 10

/* Moves `fd` to a close-on-exec descriptor at PH_FD_HIGH or above. Takes
 * `fd` in every case: returns it unchanged when it is already high (or
 * negative), else the new number with `fd` closed; -1 with errno set (and
 * `fd` closed) when no high number is free: never the low number, which a
 * spawn could overwrite. */
int ph_fd_move_high(int fd);

#ifdef __cplusplus
}
#endif

#endif
