/* The guard in front of each plugin instance's `ph_host_t`: what lets that
 * table stay valid for the life of the process, however long a plugin's own
 * thread keeps calling it after `destroy`.
 *
 * The table is allocated right after a small guard and never freed. Every
 * host function enters the guard (counting itself in) before touching the
 * instance behind it and leaves it after; retiring the guard (when the
 * instance is destroyed) makes later calls fail at the entrance (the host then
 * answers PH_ERR_STATE) and waits for calls already inside to leave, so the
 * instance can be freed under no caller. */
#ifndef PLUGHOST_HOST_GUARD_H
#define PLUGHOST_HOST_GUARD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Allocates a guard and `table_size` zeroed bytes for the table after it
 * (never freed); returns the table's address. */
void *ph_host_guard_new(size_t table_size, void *instance);

/* Sets the instance behind the table (once, before the plugin gets the table). */
void ph_host_guard_open(const void *table, void *instance);

/* Counts a call in; returns the instance, or NULL (counted back out) once the guard is retired. */
void *ph_host_guard_enter(const void *table);

/* Counts a call out again. */
void ph_host_guard_leave(const void *table);

/* Retires the guard: calls from now on get NULL from ph_host_guard_enter;
 * returns once the calls already inside have left. */
void ph_host_guard_retire(const void *table);

/* Whether the guard was retired. */
int ph_host_guard_retired(const void *table);

#ifdef __cplusplus
}
#endif

#endif
