/* plughost-plugin-process: hosts one isolated plugin for the plughost worker that starts it
 * ([isolation.ALIAS] mode = "process"). Not meant to be run by hand. */
#include <isolation.h>

int main(int argc, char **argv) { return ph_plugin_process_main(argc, argv); }
