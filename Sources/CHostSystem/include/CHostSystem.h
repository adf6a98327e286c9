/* Host-side C: system calls Swift's Glibc module does not expose, the crash
 * journal's signal handler, and worker processes. Plugins never see these. */
#include "host_system.h"
#include "crash_journal.h"
#include "worker_process.h"
#include "host_guard.h"
#include "event_counters.h"
