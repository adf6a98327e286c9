/* Test fixture: a real shared library that is not a plugin (no entry symbol). */
__attribute__((visibility("default"))) int add(int a, int b) { return a + b; }
