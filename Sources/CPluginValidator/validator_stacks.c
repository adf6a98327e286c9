/*
 * Whether a thread runs the plugin's code: a sample of its stack. The thread gets SIGPROF (which
 * the Swift and Dispatch worker threads leave unblocked); the handler unwinds its own stack with
 * backtrace(3) (the unwinder is loaded beforehand, so the handler neither allocates nor loads);
 * the frames are then looked up with dladdr(3) (and the library's own symbol table for the names a
 * plugin does not export, e.g. Swift's): one inside the plugin's library means the thread is
 * the plugin's own, or a pool thread running one of its tasks. An idle pool thread (the runtime's,
 * which may outlive any plugin) has no such frame. A thread that blocks SIGPROF, or whose handler
 * does not answer within 300 ms, cannot be looked at. The handler stays installed: a late signal
 * is ignored, never the default action (which would end the process).
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_FRAMES 64
#define ANSWER_NS (300ull * 1000000u)

static _Atomic pid_t wanted;          /* the thread asked for; its negation once its handler took the sample */
static void *frames[MAX_FRAMES];
static atomic_int frame_count;
static atomic_bool answered;
static pthread_once_t prepared = PTHREAD_ONCE_INIT;

static void on_sample(int signal, siginfo_t *info, void *context) {
    (void)signal; (void)info; (void)context;
    pid_t self = (pid_t)syscall(SYS_gettid);
    pid_t expected = self;
    if (!atomic_compare_exchange_strong(&wanted, &expected, -self)) return;   /* not asked, or too late */
    int saved = errno;
    atomic_store(&frame_count, backtrace(frames, MAX_FRAMES));
    atomic_store(&answered, true);
    errno = saved;
}

static void prepare(void) {
    void *warm[4];
    backtrace(warm, 4);   /* loads libgcc_s now, not in the handler */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sample;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGPROF, &action, NULL);
}

void vt_stacks_prepare(void) { pthread_once(&prepared, prepare); }

/* Whether `tid` blocks SIGPROF (its SigBlk in /proc). */
static bool blocks_sigprof(pid_t tid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    FILE *file = fopen(path, "r");
    if (file == NULL) return true;
    bool blocked = true;
    while (fgets(line, sizeof line, file) != NULL) {
        if (strncmp(line, "SigBlk:", 7) == 0) {
            unsigned long long mask = strtoull(line + 7, NULL, 16);
            blocked = (mask >> (SIGPROF - 1)) & 1u;
            break;
        }
    }
    fclose(file);
    return blocked;
}

/* The function at `offset` in the ELF file `path`, from its .symtab (the names a plugin does not
 * export are only there), into `name`; false when it has no symbol there. */
static bool symtab_name(const char *path, uintptr_t offset, char *name, size_t capacity) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat status;
    if (fstat(fd, &status) != 0 || status.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(fd);
        return false;
    }
    size_t size = (size_t)status.st_size;
    const unsigned char *file = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (file == MAP_FAILED) return false;
    bool found = false;
    const Elf64_Ehdr *header = (const Elf64_Ehdr *)file;
    if (memcmp(header->e_ident, ELFMAG, SELFMAG) == 0 && header->e_ident[EI_CLASS] == ELFCLASS64 &&
        header->e_shoff < size && header->e_shnum <= (size - header->e_shoff) / sizeof(Elf64_Shdr)) {
        const Elf64_Shdr *sections = (const Elf64_Shdr *)(file + header->e_shoff);
        for (unsigned i = 0; i < header->e_shnum && !found; i++) {
            const Elf64_Shdr *table = &sections[i];
            if (table->sh_type != SHT_SYMTAB || table->sh_link >= header->e_shnum) continue;
            const Elf64_Shdr *strings = &sections[table->sh_link];
            if (table->sh_offset > size || table->sh_size > size - table->sh_offset || strings->sh_offset > size ||
                strings->sh_size > size - strings->sh_offset || strings->sh_size == 0) continue;
            const Elf64_Sym *symbols = (const Elf64_Sym *)(file + table->sh_offset);
            const char *names = (const char *)(file + strings->sh_offset);
            for (size_t k = 0; k < table->sh_size / sizeof(Elf64_Sym); k++) {
                const Elf64_Sym *symbol = &symbols[k];
                if (ELF64_ST_TYPE(symbol->st_info) != STT_FUNC || symbol->st_name >= strings->sh_size) continue;
                if (offset < symbol->st_value || offset >= symbol->st_value + (symbol->st_size ? symbol->st_size : 1)) continue;
                const char *text = names + symbol->st_name;
                if (memchr(text, 0, strings->sh_size - symbol->st_name) == NULL) continue;
                snprintf(name, capacity, "%s", text);
                found = true;
                break;
            }
        }
    }
    munmap((void *)file, size);
    return found;
}

/* A frame's function, readable: Swift names demangled when the Swift runtime is loaded. */
static void describe(const Dl_info *info, const void *address, char *where, size_t capacity) {
    uintptr_t offset = (uintptr_t)address - (uintptr_t)info->dli_fbase;
    char symbol[1024];
    const char *name = info->dli_sname;
    if (name == NULL && info->dli_fname != NULL && symtab_name(info->dli_fname, offset, symbol, sizeof symbol)) name = symbol;
    if (name == NULL) {
        const char *file = info->dli_fname != NULL ? info->dli_fname : "?";
        snprintf(where, capacity, "%s+0x%lx", strrchr(file, '/') != NULL ? strrchr(file, '/') + 1 : file, (unsigned long)offset);
        return;
    }
    typedef char *(*demangle_fn)(const char *, size_t, char *, size_t *, uint32_t);
    demangle_fn demangle = (demangle_fn)dlsym(RTLD_DEFAULT, "swift_demangle");
    char *readable = demangle != NULL ? demangle(name, strlen(name), NULL, NULL, 0) : NULL;
    snprintf(where, capacity, "%.300s", readable != NULL ? readable : name);
    free(readable);
}

int vt_stack_in_library(pid_t tid, const void *anchor, char *where, size_t capacity) {
    vt_stacks_prepare();
    Dl_info library;
    if (dladdr(anchor, &library) == 0 || library.dli_fbase == NULL) return -1;
    if (blocks_sigprof(tid)) return -1;
    atomic_store(&answered, false);
    atomic_store(&wanted, tid);
    if (syscall(SYS_tgkill, getpid(), tid, SIGPROF) != 0) {
        atomic_store(&wanted, 0);
        return -1;
    }
    uint64_t deadline = vt_now_ns() + ANSWER_NS;
    while (!atomic_load(&answered) && vt_now_ns() < deadline) vt_sleep_ms(1);
    if (!atomic_load(&answered)) {
        pid_t expected = tid;
        if (atomic_compare_exchange_strong(&wanted, &expected, 0)) return -1;   /* it never took it */
        while (!atomic_load(&answered)) vt_sleep_ms(1);                         /* it is taking it now */
    }
    atomic_store(&wanted, 0);
    int count = atomic_load(&frame_count);
    for (int i = 0; i < count; i++) {
        /* A return address points after its call: look up the byte before it. */
        const char *address = (const char *)frames[i] - (i > 0 ? 1 : 0);
        Dl_info info;
        if (dladdr(address, &info) != 0 && info.dli_fbase == library.dli_fbase) {
            describe(&info, address, where, capacity);
            return 1;
        }
    }
    return 0;
}
