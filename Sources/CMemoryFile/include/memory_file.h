/* System calls the host needs that Swift's Glibc module does not expose.
 * Host-side only: plugins never see this header. */
#ifndef PLUGHOST_HOST_SYSTEM_H
#define PLUGHOST_HOST_SYSTEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Creates an anonymous in-memory file (memfd_create with MFD_CLOEXEC and
 * MFD_ALLOW_SEALING) named `name` (for /proc listings only).
 * Returns the descriptor, or -1 with errno set (ENOSYS on kernels without it). */
int ph_memfd_create(const char *name);

/* Writes all `length` bytes of `data` to `fd` from its current offset, retrying
 * short writes and EINTR. Returns 0, or -1 with errno set. */
int ph_write_all(int fd, const void *data, size_t length);

/* Seals `fd` against every later write, growth and shrink (F_SEAL_WRITE,
 * F_SEAL_GROW, F_SEAL_SHRINK, F_SEAL_SEAL): the bytes checked are the bytes
 * mapped. Returns 0, or -1 with errno set. */
int ph_memfd_seal(int fd);

#ifdef __cplusplus
}
#endif

#endif
