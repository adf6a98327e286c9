/* The plugin process: applying its sandbox (CSandbox) before the plugin's library is opened. */
#include "include/isolation.h"

#include <sandbox.h>

int ph_isolation_sandbox(int strict, uint64_t memory_bytes, uint64_t open_files, const char *const *read_paths,
                         size_t read_path_count, const char *state_dir, int report_fd, char *error, size_t capacity) {
    ph_sandbox_options_t options = {
        .strict = strict,
        .memory_bytes = memory_bytes,
        .open_files = open_files,
        .read_paths = read_paths,
        .read_path_count = read_path_count,
        .write_path = state_dir,
        .report_fd = report_fd,
    };
    return ph_sandbox_apply(&options, error, capacity);
}
