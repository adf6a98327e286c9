/* The wrapper-chain walk with and without the in-flight record of calls, for
 * `make bench`: the same walk (Sources/CPluginChain) built twice, over the same
 * pass-through wrappers, so the record's cost is a ratio measured in one run. */
#pragma once

#include <stdint.h>

/* Nanoseconds per request through `wrappers` pass-through wrappers and an
 * endpoint that does nothing, walked `iterations` times; `recorded` picks the
 * walk that keeps the in-flight record (the host's) or the copy without it. */
double ph_bench_chain_walk(int wrappers, int recorded, long iterations);
