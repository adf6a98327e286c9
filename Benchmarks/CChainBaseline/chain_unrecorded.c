/* The chain walk without the in-flight record: Sources/CPluginChain/plugin_chain.c
 * built once more with PH_CHAIN_NO_RECORD, its symbols renamed. Bench only. */
#define PH_CHAIN_NO_RECORD 1
#define ph_chain_serve ph_chain_serve_unrecorded
#define ph_chain_serve_in ph_chain_serve_in_unrecorded
#define ph_chain_call_next ph_chain_call_next_unrecorded
#include "../../Sources/CPluginChain/plugin_chain.c"
