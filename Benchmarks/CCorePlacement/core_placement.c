#define _GNU_SOURCE
#include "core_placement.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
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
    return core_placement_pin_pid(0, cores, count);
}

int core_placement_pin_pid(pid_t pid, const int *cores, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int index = 0; index < count; index++) {
        if (cores[index] < 0 || cores[index] >= CPU_SETSIZE) {
            errno = EINVAL;
            return -1;
        }
        CPU_SET(cores[index], &set);
    }
    char path[64];
    if (pid == 0) snprintf(path, sizeof path, "/proc/self/task");
    else snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
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
