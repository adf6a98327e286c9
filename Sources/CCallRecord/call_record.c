#define _GNU_SOURCE
#include "call_record.h"
#include "descriptor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__thread ph_call_slot_t *ph_call_thread_slot __attribute__((tls_model("initial-exec")));
__thread uint32_t ph_call_publish_depth __attribute__((tls_model("initial-exec")));

/* This process's page (a worker's inherited one, or an anonymous one). */
static ph_call_page_t *current_page;
static pthread_mutex_t page_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t slot_key;
static pthread_once_t slot_key_once = PTHREAD_ONCE_INIT;
/* Where threads record when every slot is taken: written by all of them, read by nobody. */
static ph_call_slot_t overflow_slot;

/* The alternate signal stack each recorded thread gets, with a guard page below it. */
#define ALTERNATE_STACK_SIZE (64 * 1024)

typedef struct {
    ph_call_slot_t *slot;
    void *stack;
} thread_record_t;

uint64_t ph_call_clock_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

ph_call_page_t *ph_call_page_create(int *fd) {
    /* Above 9: never a number a worker expects its inherited descriptors at. */
    int descriptor = ph_fd_move_high((int)syscall(SYS_memfd_create, "plughost:calls", MFD_CLOEXEC));
    if (descriptor < 0) return NULL;
    if (ftruncate(descriptor, sizeof(ph_call_page_t)) != 0) {
        int saved = errno;
        close(descriptor);
        errno = saved;
        return NULL;
    }
    void *mapping = mmap(NULL, sizeof(ph_call_page_t), PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0);
    if (mapping == MAP_FAILED) {
        int saved = errno;
        close(descriptor);
        errno = saved;
        return NULL;
    }
    ph_call_page_t *page = mapping;
    page->magic = PH_CALL_PAGE_MAGIC;
    page->layout = PH_CALL_PAGE_LAYOUT;
    *fd = descriptor;
    return page;
}

void ph_call_page_destroy(ph_call_page_t *page) {
    if (page != NULL) munmap(page, sizeof(ph_call_page_t));
}

int ph_call_page_in_flight(const ph_call_page_t *page, ph_call_seen_t *out, int capacity) {
    if (page == NULL || page->magic != PH_CALL_PAGE_MAGIC || page->layout != PH_CALL_PAGE_LAYOUT) return 0;
    int count = 0;
    for (int index = 0; index < PH_CALL_THREADS && count < capacity; index++) {
        const ph_call_slot_t *slot = &page->threads[index];
        uint32_t what = __atomic_load_n(&slot->what, __ATOMIC_ACQUIRE);
        int32_t tid = slot->tid;
        if (what == 0 || tid == 0) continue;
        out[count].tid = tid;
        out[count].kind = PH_CALL_KIND(what);
        out[count].build = PH_CALL_BUILD(what);
        out[count].detail = slot->detail;
        out[count].since_ns = PH_CALL_KIND(what) < PH_CALL_TIMED_LIMIT ? slot->since_ns : 0;
        count++;
    }
    return count;
}

static void copy_terminated(char *target, const volatile char *source, size_t capacity) {
    for (size_t index = 0; index < capacity; index++) target[index] = source[index];
    target[capacity - 1] = 0;
}

int ph_call_page_build(const ph_call_page_t *page, uint32_t index, ph_call_build_t *out) {
    if (page == NULL || page->magic != PH_CALL_PAGE_MAGIC) return -1;
    uint32_t count = __atomic_load_n(&page->build_count, __ATOMIC_ACQUIRE);
    if (count > PH_CALL_BUILDS) count = PH_CALL_BUILDS;
    if (index == 0 || index > count) return -1;
    const ph_call_build_t *build = &page->builds[index - 1];
    copy_terminated(out->alias, build->alias, sizeof out->alias);
    copy_terminated(out->manifest_version, build->manifest_version, sizeof out->manifest_version);
    copy_terminated(out->plugin_version, build->plugin_version, sizeof out->plugin_version);
    copy_terminated(out->sha256, build->sha256, sizeof out->sha256);
    return 0;
}

void ph_call_page_deaths(const ph_call_page_t *page, int32_t *exiting_tid, int32_t *exit_status,
                         int32_t *faulting_tid, int32_t *faulting_signal) {
    if (page == NULL || page->magic != PH_CALL_PAGE_MAGIC) {
        *exiting_tid = *exit_status = *faulting_tid = *faulting_signal = 0;
        return;
    }
    *exiting_tid = page->exiting_tid;
    *exit_status = page->exit_status;
    *faulting_tid = page->faulting_tid;
    *faulting_signal = page->faulting_signal;
}

/* ---- The worker's side ---- */

static int32_t this_thread_id(void) { return (int32_t)syscall(SYS_gettid); }

/* Runs on the thread that calls exit(), before the process ends: the supervisor
 * then knows which thread ended it, and so which plugin call, if one was in flight. */
static void note_exit(int status, void *argument) {
    (void)argument;
    ph_call_page_t *page = current_page;
    if (page == NULL) return;
    page->exit_status = status;
    page->exiting_tid = this_thread_id();
}

static ph_call_page_t *anonymous_page(void) {
    void *mapping = mmap(NULL, sizeof(ph_call_page_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) return NULL;
    ph_call_page_t *page = mapping;
    page->magic = PH_CALL_PAGE_MAGIC;
    page->layout = PH_CALL_PAGE_LAYOUT;
    return page;
}

int ph_call_page_attach(int fd) {
    pthread_mutex_lock(&page_lock);
    ph_call_page_t *page = NULL;
    int result = 0;
    if (fd >= 0) {
        struct stat info;
        void *mapping = MAP_FAILED;
        if (current_page != NULL) {
            /* Threads and builds recorded so far live in the page already made: swapping it
             * would hide them from the supervisor. */
            errno = EBUSY;
        } else if (fstat(fd, &info) != 0) {
            /* errno from fstat */
        } else if ((size_t)info.st_size < sizeof(ph_call_page_t)) {
            errno = EINVAL;
        } else {
            mapping = mmap(NULL, sizeof(ph_call_page_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (mapping != MAP_FAILED && (((ph_call_page_t *)mapping)->magic != PH_CALL_PAGE_MAGIC ||
                                          ((ph_call_page_t *)mapping)->layout != PH_CALL_PAGE_LAYOUT)) {
                munmap(mapping, sizeof(ph_call_page_t));
                mapping = MAP_FAILED;
                errno = EINVAL;
            }
        }
        if (mapping == MAP_FAILED) {
            result = -1;
        } else {
            page = mapping;
        }
    }
    if (page == NULL && current_page == NULL) page = anonymous_page();
    if (page != NULL) {
        page->pid = (int32_t)getpid();
        __atomic_store_n(&current_page, page, __ATOMIC_RELEASE);
        static int exit_noted = 0;
        if (!exit_noted) {
            on_exit(note_exit, NULL);
            exit_noted = 1;
        }
    }
    pthread_mutex_unlock(&page_lock);
    return result;
}

static ph_call_page_t *page_now(void) {
    ph_call_page_t *page = __atomic_load_n(&current_page, __ATOMIC_ACQUIRE);
    if (page == NULL) {
        (void)ph_call_page_attach(-1);
        page = __atomic_load_n(&current_page, __ATOMIC_ACQUIRE);
    }
    return page;
}

/* Whether `stored` (a field of `capacity` bytes) holds `source` as copy_text would store it. */
static int same_text(const char *stored, size_t capacity, const char *source) {
    size_t length = source ? strlen(source) : 0;
    if (length >= capacity) length = capacity - 1;
    return strncmp(stored, source ? source : "", length) == 0 && stored[length] == 0;
}

static void copy_text(char *target, size_t capacity, const char *source) {
    size_t length = source ? strlen(source) : 0;
    if (length >= capacity) length = capacity - 1;
    if (length) memcpy(target, source, length);
    target[length] = 0;
}

uint32_t ph_call_register_build(const char *alias, const char *manifest_version, const char *plugin_version,
                                const char *sha256) {
    ph_call_page_t *page = page_now();
    if (page == NULL) return 0;
    pthread_mutex_lock(&page_lock);
    uint32_t count = page->build_count;
    uint32_t index = 0;
    /* The same build registered again (an alias created once more) keeps its index. */
    for (uint32_t existing = 0; existing < count && existing < PH_CALL_BUILDS; existing++) {
        ph_call_build_t *build = &page->builds[existing];
        if (same_text(build->alias, sizeof build->alias, alias) && same_text(build->sha256, sizeof build->sha256, sha256) &&
            same_text(build->manifest_version, sizeof build->manifest_version, manifest_version)) {
            index = existing + 1;
            break;
        }
    }
    if (index == 0 && count < PH_CALL_BUILDS) {
        ph_call_build_t *build = &page->builds[count];
        copy_text(build->alias, sizeof build->alias, alias);
        copy_text(build->manifest_version, sizeof build->manifest_version, manifest_version);
        copy_text(build->plugin_version, sizeof build->plugin_version, plugin_version);
        copy_text(build->sha256, sizeof build->sha256, sha256);
        __atomic_store_n(&page->build_count, count + 1, __ATOMIC_RELEASE);
        index = count + 1;
    }
    pthread_mutex_unlock(&page_lock);
    return index;
}

void ph_call_set_plugin_version(uint32_t index, const char *plugin_version) {
    ph_call_page_t *page = __atomic_load_n(&current_page, __ATOMIC_ACQUIRE);
    if (page == NULL) return;
    pthread_mutex_lock(&page_lock);
    if (index != 0 && index <= page->build_count && index <= PH_CALL_BUILDS) {
        ph_call_build_t *build = &page->builds[index - 1];
        copy_text(build->plugin_version, sizeof build->plugin_version, plugin_version);
    }
    pthread_mutex_unlock(&page_lock);
}

const ph_call_build_t *ph_call_build_info(uint32_t index) {
    ph_call_page_t *page = __atomic_load_n(&current_page, __ATOMIC_ACQUIRE);
    if (page == NULL || index == 0 || index > __atomic_load_n(&page->build_count, __ATOMIC_ACQUIRE) || index > PH_CALL_BUILDS) return NULL;
    return &page->builds[index - 1];
}

const char *ph_call_kind_name(uint32_t kind) {
    switch (kind) {
    case PH_CALL_PARSE_CONFIG: return "parse_config";
    case PH_CALL_CREATE: return "create";
    case PH_CALL_START: return "start";
    case PH_CALL_STOP: return "stop";
    case PH_CALL_DESTROY: return "destroy";
    case PH_CALL_SAVE_STATE: return "save_state";
    case PH_CALL_RESTORE_STATE: return "restore_state";
    case PH_CALL_ACCEPTS: return "accepts";
    case PH_CALL_PREPARE: return "prepare";
    case PH_CALL_RELEASE: return "release";
    case PH_CALL_ENTRY: return "entry";
    case PH_CALL_ENDPOINT: return "endpoint";
    case PH_CALL_WRAPPER: return "wrapper";
    case PH_CALL_EVENT: return "event";
    case PH_CALL_CHECK: return "check";
    case PH_CALL_RESUME: return "resume";
    case PH_CALL_SERVICE: return "service";
    default: return "call";
    }
}

void ph_call_note_fault(int signal) {
    ph_call_page_t *page = __atomic_load_n(&current_page, __ATOMIC_ACQUIRE);
    if (page == NULL) return;
    page->faulting_signal = signal;
    page->faulting_tid = this_thread_id();
}

uint32_t ph_call_current(void) {
    ph_call_slot_t *slot = ph_call_thread_slot;
    /* The overflow slot is every slot-less thread's at once: what it holds may be another's. */
    return slot && slot != &overflow_slot ? slot->what : 0;
}

/* A thread that ends gives its slot back and drops its alternate stack. */
static void release_thread(void *value) {
    thread_record_t *record = value;
    if (record == NULL) return;
    if (record->slot != &overflow_slot) {
        record->slot->what = 0;
        record->slot->since_ns = 0;
        __atomic_store_n(&record->slot->tid, 0, __ATOMIC_RELEASE);
    }
    ph_call_thread_slot = NULL;
    if (record->stack != NULL) {
        stack_t current;
        if (sigaltstack(NULL, &current) == 0 && current.ss_sp == (char *)record->stack + getpagesize()) {
            stack_t disable = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
            sigaltstack(&disable, NULL);
        }
        munmap(record->stack, ALTERNATE_STACK_SIZE + (size_t)getpagesize());
    }
    free(record);
}

static void make_slot_key(void) { pthread_key_create(&slot_key, release_thread); }

/* An alternate signal stack for this thread unless it has one: a stack overflow
 * runs the crash handler there. Returns the mapping made, or NULL. */
static void *give_alternate_stack(void) {
    stack_t current;
    if (sigaltstack(NULL, &current) != 0 || !(current.ss_flags & SS_DISABLE)) return NULL;
    size_t guard = (size_t)getpagesize();
    void *mapping = mmap(NULL, ALTERNATE_STACK_SIZE + guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) return NULL;
    mprotect(mapping, guard, PROT_NONE);
    stack_t stack = {.ss_sp = (char *)mapping + guard, .ss_size = ALTERNATE_STACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&stack, NULL) != 0) {
        munmap(mapping, ALTERNATE_STACK_SIZE + guard);
        return NULL;
    }
    return mapping;
}

ph_call_slot_t *ph_call_take_slot(void) {
    pthread_once(&slot_key_once, make_slot_key);
    ph_call_page_t *page = page_now();
    ph_call_slot_t *slot = &overflow_slot;
    int32_t tid = this_thread_id();
    for (int index = 0; page != NULL && index < PH_CALL_THREADS; index++) {
        int32_t expected = 0;
        /* A cheap look first (relaxed: an ending thread gives its slot back with an atomic store). */
        if (__atomic_load_n(&page->threads[index].tid, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&page->threads[index].tid, &expected, tid, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            slot = &page->threads[index];
            slot->what = 0;
            slot->since_ns = 0;
            break;
        }
    }
    thread_record_t *record = malloc(sizeof *record);
    if (record != NULL) {
        record->slot = slot;
        record->stack = give_alternate_stack();
        pthread_setspecific(slot_key, record);
    } else if (slot != &overflow_slot) {
        /* Nothing would give the slot back when the thread ends: give it back now. */
        __atomic_store_n(&slot->tid, 0, __ATOMIC_RELEASE);
        slot = &overflow_slot;
    }
    ph_call_thread_slot = slot;
    return slot;
}

ph_call_saved_t ph_call_enter_timed(uint32_t what) {
    ph_call_slot_t *slot = ph_call_slot();
    ph_call_saved_t saved = {slot->what, slot->since_ns};
    slot->since_ns = ph_call_clock_ns();
    /* Released after the stamp: a reader that sees the new call sees its stamp too. */
    __atomic_store_n(&slot->what, what, __ATOMIC_RELEASE);
    return saved;
}

void ph_call_leave_timed(ph_call_saved_t saved) {
    ph_call_slot_t *slot = ph_call_slot();
    slot->what = saved.what;
    slot->since_ns = saved.since_ns;
}
