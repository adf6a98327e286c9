#define _GNU_SOURCE
#include "crash_journal.h"
#include "call_record.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stdlib.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define PH_CRASH_MAX_LIBRARIES 4096
#define PH_CRASH_MAX_FRAMES 24

typedef struct {
    uintptr_t start, end;
    char aliases[128];
    char version[48];
    char plugin_version[48];
    char sha256[65];
    atomic_int retired;
    /* The host program itself: named in frames, never charged with a crash. */
    int is_host;
} ph_crash_library_t;

static ph_crash_library_t libraries[PH_CRASH_MAX_LIBRARIES];
/* Entries below this count are complete (published with release order). */
static atomic_int library_count;
static int journal_fd = -1;

static void copy_text(char *target, size_t capacity, const char *source) {
    size_t length = source ? strlen(source) : 0;
    if (length >= capacity) length = capacity - 1;
    if (length) memcpy(target, source, length);
    target[length] = 0;
}

typedef struct {
    uintptr_t base;
    const char *name;
    uintptr_t start, end;
    int found;
} range_search_t;

/* The lowest and highest address of an object's loadable segments; 0 when it has none. */
static int loaded_range(const struct dl_phdr_info *info, uintptr_t *low, uintptr_t *high) {
    *low = UINTPTR_MAX;
    *high = 0;
    for (int index = 0; index < info->dlpi_phnum; index++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[index];
        if (header->p_type != PT_LOAD) continue;
        uintptr_t start = info->dlpi_addr + header->p_vaddr;
        uintptr_t end = start + header->p_memsz;
        if (start < *low) *low = start;
        if (end > *high) *high = end;
    }
    return *high > *low;
}

static int find_range(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    range_search_t *search = data;
    if (info->dlpi_addr != search->base || !info->dlpi_name || strcmp(info->dlpi_name, search->name) != 0) return 0;
    if (!loaded_range(info, &search->start, &search->end)) return 0;
    search->found = 1;
    return 1;
}

int ph_crash_register(void *handle, const char *aliases, const char *version, const char *sha256) {
    struct link_map *map = NULL;
    if (handle == NULL || dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == NULL) return -1;
    range_search_t search = {map->l_addr, map->l_name, 0, 0, 0};
    dl_iterate_phdr(find_range, &search);
    if (!search.found) return -1;
    int index = atomic_load_explicit(&library_count, memory_order_relaxed);
    if (index >= PH_CRASH_MAX_LIBRARIES) return -1;
    ph_crash_library_t *entry = &libraries[index];
    entry->start = search.start;
    entry->end = search.end;
    copy_text(entry->aliases, sizeof entry->aliases, aliases);
    copy_text(entry->version, sizeof entry->version, version);
    entry->plugin_version[0] = 0;
    copy_text(entry->sha256, sizeof entry->sha256, sha256);
    atomic_store_explicit(&entry->retired, 0, memory_order_relaxed);
    entry->is_host = 0;
    atomic_store_explicit(&library_count, index + 1, memory_order_release);
    return index;
}

/* Records the main program's range (the first object dl_iterate_phdr reports). */
static int find_program(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    range_search_t *search = data;
    search->found = loaded_range(info, &search->start, &search->end);
    return 1;  /* the first object is the program */
}

static void register_program(void) {
    range_search_t search = {0, NULL, 0, 0, 0};
    dl_iterate_phdr(find_program, &search);
    int index = atomic_load_explicit(&library_count, memory_order_relaxed);
    if (!search.found || index >= PH_CRASH_MAX_LIBRARIES) return;
    ph_crash_library_t *entry = &libraries[index];
    entry->start = search.start;
    entry->end = search.end;
    copy_text(entry->aliases, sizeof entry->aliases, "plughost");
    entry->version[0] = 0;
    entry->sha256[0] = 0;
    entry->is_host = 1;
    atomic_store_explicit(&library_count, index + 1, memory_order_release);
}

void ph_crash_set_plugin_version(int index, const char *version) {
    if (index < 0 || index >= atomic_load_explicit(&library_count, memory_order_acquire)) return;
    copy_text(libraries[index].plugin_version, sizeof libraries[index].plugin_version, version);
}

void ph_crash_retire(int index) {
    if (index < 0 || index >= atomic_load_explicit(&library_count, memory_order_acquire)) return;
    atomic_store_explicit(&libraries[index].retired, 1, memory_order_release);
}

/* The entry holding `address`, newest first (a range reused by a later image
 * belongs to it); the host program only when `with_host`. */
static int lookup(uintptr_t address, int with_host) {
    int count = atomic_load_explicit(&library_count, memory_order_acquire);
    for (int index = count - 1; index >= 0; index--) {
        if (libraries[index].is_host && !with_host) continue;
        if (address >= libraries[index].start && address < libraries[index].end) return index;
    }
    return -1;
}

int ph_crash_lookup(uintptr_t address) {
    return lookup(address, 0);
}

/* ---- Formatting without the C library's non-reentrant functions ---- */

typedef struct {
    char text[4096];
    size_t length;
} line_t;

static void put(line_t *line, const char *text) {
    while (*text && line->length < sizeof line->text - 2) line->text[line->length++] = *text++;
}

/* A fixed-size text field and its capacity, for put_field. */
#define FIELD(text) (text), sizeof(text)

/* A field of at most `capacity` bytes from memory a plugin could have scribbled on:
 * read no further than the field, and no control character (a newline would forge a
 * journal line), quote or space (which would end the field early) goes through. */
static void put_field(line_t *line, const volatile char *text, size_t capacity) {
    for (size_t index = 0; index < capacity && text[index] && line->length < sizeof line->text - 2; index++) {
        char byte = text[index];
        line->text[line->length++] = (unsigned char)byte <= ' ' || byte == 0x7f || byte == '"' ? '?' : byte;
    }
}

static void put_unsigned(line_t *line, uint64_t value, unsigned base, int width) {
    char digits[24];
    int count = 0;
    do {
        unsigned digit = (unsigned)(value % base);
        digits[count++] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
        value /= base;
    } while (value && count < (int)sizeof digits);
    while (count < width && count < (int)sizeof digits) digits[count++] = '0';
    while (count > 0 && line->length < sizeof line->text - 2) line->text[line->length++] = digits[--count];
}

static void put_hex(line_t *line, uintptr_t value) {
    put(line, "0x");
    put_unsigned(line, value, 16, 1);
}

/* UTC date and time of `seconds` since 1970 (Howard Hinnant's days-to-civil). */
static void put_time(line_t *line, int64_t seconds) {
    int64_t days = seconds / 86400, rest = seconds % 86400;
    if (rest < 0) { rest += 86400; days -= 1; }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t year = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    if (month <= 2) year += 1;
    put_unsigned(line, (uint64_t)year, 10, 4);
    put(line, "-");
    put_unsigned(line, (uint64_t)month, 10, 2);
    put(line, "-");
    put_unsigned(line, (uint64_t)day, 10, 2);
    put(line, "T");
    put_unsigned(line, (uint64_t)(rest / 3600), 10, 2);
    put(line, ":");
    put_unsigned(line, (uint64_t)(rest / 60 % 60), 10, 2);
    put(line, ":");
    put_unsigned(line, (uint64_t)(rest % 60), 10, 2);
    put(line, "Z");
}

static const char *signal_name(int signal) {
    switch (signal) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    default: return "signal";
    }
}

static uintptr_t faulting_instruction(void *context) {
    ucontext_t *uc = context;
    if (uc == NULL) return 0;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    return 0;
#endif
}

static void put_frame(line_t *line, uintptr_t address) {
    int index = lookup(address, 1);
    if (index >= 0) {
        put_field(line, FIELD(libraries[index].aliases));
        put(line, "+");
        put_hex(line, address - libraries[index].start);
    } else {
        put_hex(line, address);
    }
}

/* ` name=F` for a field of `capacity` bytes, `-` when it is empty. */
static void put_named(line_t *line, const char *name, const volatile char *text, size_t capacity) {
    put(line, name);
    if (text[0]) put_field(line, text, capacity); else put(line, "-");
}

/* ` alias=A version=V plugin_version=P sha256=S`, `-` for an empty field; each field
 * given with its capacity. */
static void put_build(line_t *line, const volatile char *aliases, size_t aliases_capacity, const volatile char *version,
                      size_t version_capacity, const volatile char *plugin_version, size_t plugin_version_capacity,
                      const volatile char *sha256, size_t sha256_capacity) {
    put_named(line, " alias=", aliases, aliases_capacity);
    put_named(line, " version=", version, version_capacity);
    put_named(line, " plugin_version=", plugin_version, plugin_version_capacity);
    put_named(line, " sha256=", sha256, sha256_capacity);
}

static const int handled_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};

/* Writes one journal line for `signal_text` ("SIGSEGV", "HANG"), attributed
 * from the interrupted `context`; `loaded_note` starts the note of a fault in
 * a loaded library; with `stderr_prefix`, the line goes to standard error too,
 * after it. Async-signal-safe. Returns the culprit's index or -1. */
static int journal_line(const char *signal_text, uintptr_t address, void *context, const char *loaded_note,
                        const char *stderr_prefix);

static void on_fatal_signal(int signal, siginfo_t *info, void *context) {
    int saved_errno = errno;
    /* First, in memory the supervisor reads: even if writing the line fails, it knows the thread. */
    ph_call_note_fault(signal);
    (void)journal_line(signal_name(signal), info ? (uintptr_t)info->si_addr : 0, context, "fault in ", "plughost: fatal signal: ");
    /* Die of the same signal, as without this handler (SA_RESETHAND made it the default again). */
    errno = saved_errno;
    raise(signal);
}

static int journal_line(const char *signal_text, uintptr_t address, void *context, const char *loaded_note,
                        const char *stderr_prefix) {
    /* Without a context (an exit), the frames are this thread's own, from here. */
    uintptr_t pc = context ? faulting_instruction(context) : 0;
    /* The plugin: the faulting instruction's library, else the innermost frame in one. */
    int culprit = ph_crash_lookup(pc);
    /* Unwinding from code that is no longer mapped (a retired image) or from
     * address 0 would fault again inside this handler: no frames then. */
    int unwind = context == NULL || (pc != 0 && (culprit < 0 || !atomic_load_explicit(&libraries[culprit].retired, memory_order_acquire)));
    void *frames[PH_CRASH_MAX_FRAMES];
    int frame_count = unwind ? backtrace(frames, PH_CRASH_MAX_FRAMES) : 0;
    for (int index = 0; culprit < 0 && index < frame_count; index++) culprit = ph_crash_lookup((uintptr_t)frames[index]);
    /* The plugin call this thread is in (its in-flight record): named on the line,
     * and charged when no frame is in a plugin library (a fault inside libc, say). */
    uint32_t record = ph_call_current();
    const ph_call_build_t *recorded = record ? ph_call_build_info(PH_CALL_BUILD(record)) : NULL;

    line_t line;  /* on this thread's stack: two threads may crash at once */
    line.length = 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    put_time(&line, (int64_t)now.tv_sec);
    put(&line, " pid=");
    put_unsigned(&line, (uint64_t)getpid(), 10, 1);
    put(&line, " signal=");
    put(&line, signal_text);
    if (culprit >= 0) {
        ph_crash_library_t *library = &libraries[culprit];
        put_build(&line, FIELD(library->aliases), FIELD(library->version), FIELD(library->plugin_version), FIELD(library->sha256));
        put(&line, atomic_load_explicit(&library->retired, memory_order_acquire)
                       ? " state=retired note=\"a thread outlived stop in "
                       : " state=loaded note=\"");
        if (!atomic_load_explicit(&library->retired, memory_order_acquire)) put(&line, loaded_note);
        put_field(&line, FIELD(library->aliases));
        put(&line, " ");
        if (library->version[0]) put_field(&line, FIELD(library->version)); else put(&line, "-");
        put(&line, "\"");
    } else if (recorded != NULL) {
        put_build(&line, FIELD(recorded->alias), FIELD(recorded->manifest_version), FIELD(recorded->plugin_version),
                  FIELD(recorded->sha256));
        put(&line, " state=loaded note=\"outside plugin code, during a call into ");
        put_field(&line, FIELD(recorded->alias));
        put(&line, "\"");
    } else {
        put(&line, " alias=- note=\"not in a plugin library\"");
    }
    if (record != 0) {
        put(&line, " call=");
        put(&line, ph_call_kind_name(PH_CALL_KIND(record)));
    }
    put(&line, " address=");
    put_hex(&line, address);
    if (context != NULL) {
        put(&line, " pc=");
        put_frame(&line, pc);
    }
    put(&line, " frames=");
    for (int index = 0; index < frame_count; index++) {
        if (index) put(&line, ",");
        put_frame(&line, (uintptr_t)frames[index]);
    }
    line.text[line.length++] = '\n';

    if (journal_fd >= 0) (void)!write(journal_fd, line.text, line.length);
    if (stderr_prefix != NULL) {
        (void)!write(STDERR_FILENO, stderr_prefix, strlen(stderr_prefix));
        (void)!write(STDERR_FILENO, line.text, line.length);
    }
    return culprit >= 0 ? culprit : (recorded != NULL ? PH_CRASH_RECORDED : -1);
}

/* The hang sampler: the signal runs its handler on the stuck thread itself,
 * whose frames name the plugin it is stuck in. One sample at a time. */
static atomic_int sample_result;
static atomic_int sample_done;
/* Which sample is asked for: the signal carries it, so a handler that runs only after its
 * sample gave up (a loaded machine) cannot answer the next one. */
static atomic_int sample_serial;
static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_sample_signal(int signal, siginfo_t *info, void *context) {
    (void)signal;
    int saved_errno = errno;
    int culprit = journal_line("HANG", 0, context, "a call hung in ", NULL);
    if (info != NULL && info->si_value.sival_int == atomic_load_explicit(&sample_serial, memory_order_acquire)) {
        atomic_store_explicit(&sample_result, culprit, memory_order_relaxed);
        atomic_store_explicit(&sample_done, 1, memory_order_release);
    }
    errno = saved_errno;
}

int ph_crash_hang_signal(void) { return SIGRTMIN + 3; }

void ph_crash_allow_sampling(void) {
    static __thread int allowed = 0;
    if (allowed) return;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, ph_crash_hang_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    allowed = 1;
}

int ph_crash_journal_hang(pthread_t thread) {
    static int installed = 0;
    pthread_mutex_lock(&sample_lock);
    if (!installed) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = on_sample_signal;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
        sigemptyset(&action.sa_mask);
        sigaction(ph_crash_hang_signal(), &action, NULL);
        installed = 1;
    }
    atomic_store_explicit(&sample_done, 0, memory_order_relaxed);
    atomic_store_explicit(&sample_result, -1, memory_order_relaxed);
    int serial = atomic_fetch_add_explicit(&sample_serial, 1, memory_order_acq_rel) + 1;
    int result = -2;
    union sigval value = {.sival_int = serial};
    if (pthread_sigqueue(thread, ph_crash_hang_signal(), value) == 0) {
        /* Up to five seconds for the handler to run on the stuck thread (a loaded machine). */
        for (int waited = 0; waited < 5000; waited++) {
            if (atomic_load_explicit(&sample_done, memory_order_acquire)) {
                result = atomic_load_explicit(&sample_result, memory_order_relaxed);
                break;
            }
            struct timespec pause = {0, 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    pthread_mutex_unlock(&sample_lock);
    return result;
}

const char *ph_crash_library_aliases(int index) {
    if (index < 0 || index >= atomic_load_explicit(&library_count, memory_order_acquire)) return NULL;
    return libraries[index].aliases;
}

static int installed_handlers = 0;

/* exit() called from plugin code (a plugin's own thread, or a thread inside a
 * plugin call) is journaled like a fatal signal, as signal=EXIT:<status>; the
 * host's own orderly exit names no plugin and writes nothing. */
static void journal_exit(int status, void *argument) {
    (void)argument;
    if (journal_fd < 0) return;
    void *frames[PH_CRASH_MAX_FRAMES];
    int count = backtrace(frames, PH_CRASH_MAX_FRAMES);
    int in_plugin = 0;
    for (int index = 0; index < count && !in_plugin; index++) in_plugin = ph_crash_lookup((uintptr_t)frames[index]) >= 0;
    if (!in_plugin && ph_call_current() == 0) return;
    char text[24] = "EXIT:";
    size_t length = 5;
    char digits[12];
    int digit_count = 0;
    unsigned value = (unsigned)status & 0xff;
    do { digits[digit_count++] = (char)('0' + value % 10); value /= 10; } while (value && digit_count < (int)sizeof digits);
    while (digit_count > 0) text[length++] = digits[--digit_count];
    text[length] = 0;
    (void)journal_line(text, 0, NULL, "exit called in ", "plughost: exit in plugin code: ");
}

static void install_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fatal_signal;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (size_t index = 0; index < sizeof handled_signals / sizeof handled_signals[0]; index++) {
        sigaction(handled_signals[index], &action, NULL);
    }
}

int ph_crash_install(const char *journal_path) {
    int fd = open(journal_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    /* Once more: the newest journal; handlers, stacks and the exit hook are there already. */
    if (installed_handlers) {
        int previous = journal_fd;
        journal_fd = fd;
        if (previous >= 0) close(previous);
        return 0;
    }
    journal_fd = fd;
    register_program();
    /* backtrace() loads libgcc on first use (malloc, a lock): do that now, not in the handler. */
    void *warm[2];
    (void)backtrace(warm, 2);

    static char alternate_stack[64 * 1024];
    stack_t stack = {.ss_sp = alternate_stack, .ss_size = sizeof alternate_stack, .ss_flags = 0};
    sigaltstack(&stack, NULL);

    install_handlers();
    installed_handlers = 1;
    on_exit(journal_exit, NULL);
    return 0;
}

int ph_crash_handlers_replaced(void) {
    if (!installed_handlers) return 0;
    int replaced = 0;
    for (size_t index = 0; index < sizeof handled_signals / sizeof handled_signals[0]; index++) {
        struct sigaction current;
        if (sigaction(handled_signals[index], NULL, &current) != 0) continue;
        if (!(current.sa_flags & SA_SIGINFO) || current.sa_sigaction != on_fatal_signal) replaced |= 1 << handled_signals[index];
    }
    return replaced;
}

void ph_crash_restore_handlers(void) {
    if (installed_handlers) install_handlers();
}
