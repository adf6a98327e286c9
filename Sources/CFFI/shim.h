/* libffi as a Swift module; the typed-endpoint invoker calls through it. */
#pragma once
#include <ffi.h>
