/* The crash journal: which plugin a fatal signal came from, written from the
 * signal handler with async-signal-safe calls only.
 *
 * At load the host records each plugin library's address range (nothing is
 * added to the call path); a fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
 * SIGABRT, SIGTRAP; a Swift trap is SIGILL or SIGTRAP) looks up the faulting
 * instruction and then the backtrace frames in those ranges, appends one line
 * to the journal file and lets the signal kill the process as it would have.
 * Ranges of unloaded libraries are kept, so a fault in code that outlived its
 * plugin (a thread still running after `stop`) is charged to that plugin.
 * Host-side only: plugins never see this header. */
#ifndef PLUGHOST_CRASH_JOURNAL_H
#define PLUGHOST_CRASH_JOURNAL_H

#include <pthread.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Records the address range of the library `handle` (from dlopen) for the
 * plugins `aliases` (comma-separated), `version` and `sha256` (hex).
 * Returns its index for ph_crash_retire, or -1 (table full, or the handle's
 * image was not found). Control thread only. */
int ph_crash_register(void *handle, const char *aliases, const char *version, const char *sha256);

/* Records the version the plugin's own descriptor declares for library `index`
 * (the journal writes it as plugin_version= beside the manifest's version=). */
void ph_crash_set_plugin_version(int index, const char *version);

/* Marks library `index` retired: its plugins were stopped (and a C library
 * unloaded). Its range stays: a fault there is "a thread outlived stop". */
void ph_crash_retire(int index);

/* Opens `journal_path` for appending (0600), records the host program's own
 * range (its frames are written `plughost+0xOFFSET`), and installs the handlers.
 * A second call only switches to the new journal. Returns 0, or -1 with errno
 * set (the journal could not be opened). */
int ph_crash_install(const char *journal_path);

/* The signals (bit 1 << signal) whose handler is no longer the journal's:
 * a plugin replaced it (signal(SIGSEGV, SIG_DFL), say). 0 before install. */
int ph_crash_handlers_replaced(void);

/* Installs the journal's handlers again (after a plugin replaced them). */
void ph_crash_restore_handlers(void);

/* ph_crash_journal_hang's answer when no frame was in a plugin library but the
 * thread's in-flight record named the plugin it was calling. */
#define PH_CRASH_RECORDED (-3)

/* Which registered plugin library holds `address`: its index, or -1. */
int ph_crash_lookup(uintptr_t address);

/* Journals a hang of `thread`, stuck in a plugin call: a signal
 * (ph_crash_hang_signal) runs a handler on that thread, which writes a line
 * like a crash's with signal=HANG, attributed from that thread's own frames,
 * and the thread carries on. Needs ph_crash_install first. Returns the
 * culprit library's index, PH_CRASH_RECORDED when only the thread's in-flight
 * record named a plugin, -1 when neither did, or -2 when the thread did not
 * answer within five seconds. One caller at a time. */
int ph_crash_journal_hang(pthread_t thread);

/* The real-time signal ph_crash_journal_hang uses. */
int ph_crash_hang_signal(void);

/* Unblocks ph_crash_hang_signal on the calling thread (threads made by
 * libdispatch, and the threads they start, block every signal). Cheap after
 * the first call on a thread: call it before each plugin call that may hang. */
void ph_crash_allow_sampling(void);

/* The comma-separated aliases of library `index`, or NULL. */
const char *ph_crash_library_aliases(int index);

#ifdef __cplusplus
}
#endif

#endif
