#include "ffi_types.h"

ffi_type *ph_ffi_type(ph_type_t type) {
    switch (type) {
    case PH_TYPE_VOID: return &ffi_type_void;
    case PH_TYPE_BOOL: return &ffi_type_uint8;
    case PH_TYPE_INT32: return &ffi_type_sint32;
    case PH_TYPE_INT64: return &ffi_type_sint64;
    case PH_TYPE_UINT64: return &ffi_type_uint64;
    case PH_TYPE_DOUBLE: return &ffi_type_double;
    case PH_TYPE_STRING: case PH_TYPE_BYTES: case PH_TYPE_JSON: return &ffi_type_pointer;
    default: return NULL;
    }
}
