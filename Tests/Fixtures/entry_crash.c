/* A library that loads cleanly but whose entry point crashes when the host
 * asks it for its descriptor (a corrupt build, as far as the host can tell). */
#include <plughost/plugin.h>

PH_EXPORT const ph_plugin_t *entry_crash_entry(uint32_t major, uint32_t minor) {
    (void)major; (void)minor;
    __builtin_trap();
}
