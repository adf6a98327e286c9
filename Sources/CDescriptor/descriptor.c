#include "descriptor.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int ph_fd_move_high(int fd) {
    if (fd < 0 || fd >= PH_FD_HIGH) return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, PH_FD_HIGH);
    int saved = errno;
    close(fd);
    errno = saved;
    return high;
}
