#define _GNU_SOURCE
#include "core_placement.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

int core_placement_allowed(int *cores, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int found = 0;
    for (int core = 0; core < CPU_SETSIZE; core++) {
        if (!CPU_ISSET(core, &set)) continue;
        if (found < capacity) cores[found] = core;
        found++;
    }
    return found;
}

int core_placement_pin_process(const int *cores, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int index = 0; index < count; index++) {
        if (cores[index] < 0 || cores[index] >= CPU_SETSIZE) {
            errno = EINVAL;
            return -1;
        }
        CPU_SET(cores[index], &set);
    }
    DIR *tasks = opendir("/proc/self/task");
    if (tasks == NULL) return -1;
    int moved = 0;
    struct dirent *entry;
    while ((entry = readdir(tasks)) != NULL) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        pid_t thread = (pid_t)strtol(entry->d_name, NULL, 10);
        /* A thread that ended since the listing (ESRCH) needs no placement. */
        if (sched_setaffinity(thread, sizeof set, &set) != 0) {
            if (errno == ESRCH) continue;
            int saved = errno;
            closedir(tasks);
            errno = saved;
            return -1;
        }
        moved++;
    }
    closedir(tasks);
    return moved;
}
