/* The libffi type of each ph_type_t, for the worker's closures and the plugin process's calls. */
#pragma once

#include <ffi.h>
#include <plughost/http.h>

/** The C type `type` passes as (a BYTES or JSON parameter is a pointer, then a length), or NULL
 *  for a type the host cannot call. */
ffi_type *ph_ffi_type(ph_type_t type);
