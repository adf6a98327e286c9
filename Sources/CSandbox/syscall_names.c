/* ph_syscall_name: the generated table of this architecture's syscall names. */
#include "sandbox.h"

#if defined(__x86_64__)
#include "syscall_names_x86_64.h"
#define PH_HAVE_SYSCALL_NAMES 1
#elif defined(__aarch64__)
#include "syscall_names_aarch64.h"
#define PH_HAVE_SYSCALL_NAMES 1
#endif

const char *ph_syscall_name(long number) {
#ifdef PH_HAVE_SYSCALL_NAMES
    if (number >= 0 && (unsigned long)number < sizeof ph_syscall_names / sizeof ph_syscall_names[0] &&
        ph_syscall_names[number] != NULL)
        return ph_syscall_names[number];
#else
    (void)number;
#endif
    return "unknown";
}
