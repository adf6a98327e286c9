/* Core placement for the benchmarks: the host under test on some cores, its
 * load generators on the others, so that a figure measures the host and not the
 * competition between it and the processes that load it. */
#ifndef PLUGHOST_CORE_PLACEMENT_H
#define PLUGHOST_CORE_PLACEMENT_H

#include <sys/types.h>

/* The cores this process may run on, in ascending order: writes at most
 * `capacity` of them to `cores` and returns how many there are, or -1. */
int core_placement_allowed(int *cores, int capacity);

/* Lets every thread of this process run only on the `count` cores in `cores`
 * (threads it starts later inherit that from their creator). Returns the
 * number of threads moved, or -1 with errno set when one could not be. */
int core_placement_pin_process(const int *cores, int count);

/* The same for every thread of process `pid` (0: this process), e.g. an isolated
 * plugin's process. */
int core_placement_pin_pid(pid_t pid, const int *cores, int count);

#endif
