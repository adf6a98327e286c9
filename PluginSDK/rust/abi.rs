//! Hand-written bindings to the plughost plugin ABI, version 1.2.
//!
//! Mirrors `PluginSDK/include/plughost/plugin.h` and `PluginSDK/include/plughost/http.h`
//! (PH_ABI_MAJOR 1, PH_ABI_MINOR 2), the only contract between host and plugin.
//! Only what this plugin uses is bound, but every struct that is bound is bound
//! whole, member for member in header order, so that its size and offsets are the
//! C ones. Function pointers whose argument types are not bound here (typed
//! endpoints, wrappers, ...) are declared with `*const c_void` for those arguments:
//! same layout, and this plugin never calls them.
//!
//! Mapping rules:
//!  - `uint32_t`/`int32_t`/`int64_t`/`size_t`/`bool` -> `u32`/`i32`/`i64`/`usize`/`bool`
//!    (Rust's `bool` is C's `_Bool` on every platform Rust supports).
//!  - `const char *` -> `*const c_char` (NUL-terminated UTF-8 unless the header says
//!    a length comes with it).
//!  - A function pointer the header may leave NULL -> `Option<unsafe extern "C" fn(..)>`:
//!    Rust guarantees that `None` is the null pointer, so the layout is the C one.
//!    The host's function tables are bound the same way, so a member a host leaves
//!    out (past its `struct_size`) cannot be called by mistake.
//!  - Opaque host types (`ph_http_request_t`) -> a zero-sized `#[repr(C)]` struct
//!    that is only ever used behind a pointer (the Rustonomicon's opaque-type pattern).
//!
//! The `const _: () = assert!(..)` lines at the end freeze the x86_64 / aarch64 (LP64)
//! layouts, like `PluginSDK/c/layout_checks.c` does for C.

#![allow(non_camel_case_types, dead_code)]

use core::ffi::{c_char, c_void, CStr};
use core::mem::{offset_of, size_of};

// ---------------------------------------------------------------------------
// plugin.h: versioning
// ---------------------------------------------------------------------------

/// PH_ABI_MAJOR: a host refuses a plugin whose major differs.
pub const PH_ABI_MAJOR: u32 = 1;
/// PH_ABI_MINOR: the minor these bindings mirror.
pub const PH_ABI_MINOR: u32 = 2;

// ---------------------------------------------------------------------------
// plugin.h: status codes, log levels
// ---------------------------------------------------------------------------

/// `ph_status_t`: 0 is success, anything else a failure.
pub type ph_status_t = i32;
pub const PH_OK: ph_status_t = 0;
pub const PH_ERR_INVALID: ph_status_t = 1;
pub const PH_ERR_FAILED: ph_status_t = 2;
pub const PH_ERR_NOT_FOUND: ph_status_t = 3;
pub const PH_ERR_TYPE: ph_status_t = 4;
pub const PH_ERR_UNSUPPORTED: ph_status_t = 6;

/// `ph_log_level_t`.
pub type ph_log_level_t = i32;
pub const PH_LOG_INFO: ph_log_level_t = 2;
pub const PH_LOG_WARNING: ph_log_level_t = 3;

// ---------------------------------------------------------------------------
// plugin.h: events
// ---------------------------------------------------------------------------

/// `ph_event_id_t`.
pub type ph_event_id_t = u32;
/// PH_EVENT_REQUEST_RECEIVED: an HTTP request arrived. Payload: "METHOD PATH".
pub const PH_EVENT_REQUEST_RECEIVED: ph_event_id_t = 10;
/// PH_PRIORITY_DEFAULT.
pub const PH_PRIORITY_DEFAULT: i32 = 0;

/// `ph_event_t`: host-owned, every pointer valid only until the callback returns.
#[repr(C)]
pub struct ph_event_t {
    pub struct_size: u32,
    pub id: ph_event_id_t,
    pub name: *const c_char,
    pub source: *const c_char,
    /// May be NULL when `payload_length` is 0.
    pub payload: *const c_void,
    pub payload_length: usize,
}

// ---------------------------------------------------------------------------
// plugin.h: messages
// ---------------------------------------------------------------------------

/// `ph_message_t`: a host-owned buffer for an error or deny reason, valid during
/// the call that received it. The plugin writes NUL-terminated UTF-8 that fits in
/// `capacity` bytes including the NUL (see `ph_message_copy` in plugin.h, which is a
/// `static inline` C function and so not callable from Rust: lib.rs re-implements it).
#[repr(C)]
pub struct ph_message_t {
    pub data: *mut c_char,
    pub capacity: usize,
}

// ---------------------------------------------------------------------------
// plugin.h: configuration
// ---------------------------------------------------------------------------

/// `ph_config_t`: read-only view of `[plugin.ALIAS]`, host-owned, valid from
/// `parse_config` until `destroy` returns. All functions are thread-safe.
#[repr(C)]
pub struct ph_config_t {
    pub struct_size: u32,
    pub reserved: u32,
    pub host_data: *mut c_void,
    pub key_count: usize,
    pub key_at: Option<unsafe extern "C" fn(config: *const ph_config_t, index: usize) -> *const c_char>,
    /// `*value` gets exactly `*length` bytes plus one uncounted NUL (the value itself may hold NULs).
    pub get_string: Option<
        unsafe extern "C" fn(
            config: *const ph_config_t,
            key: *const c_char,
            value: *mut *const c_char,
            length: *mut usize,
        ) -> ph_status_t,
    >,
    pub get_int: Option<unsafe extern "C" fn(config: *const ph_config_t, key: *const c_char, value: *mut i64) -> ph_status_t>,
    pub get_double: Option<unsafe extern "C" fn(config: *const ph_config_t, key: *const c_char, value: *mut f64) -> ph_status_t>,
    pub get_bool: Option<unsafe extern "C" fn(config: *const ph_config_t, key: *const c_char, value: *mut bool) -> ph_status_t>,
    pub json: *const c_char,
    pub json_length: usize,
}

// ---------------------------------------------------------------------------
// plugin.h: the host API
// ---------------------------------------------------------------------------

/// `ph_event_fn`.
pub type ph_event_fn = unsafe extern "C" fn(user_data: *mut c_void, event: *const ph_event_t);
/// `ph_check_fn` (a `ph_verdict_t` is an `int32_t`).
pub type ph_check_fn =
    unsafe extern "C" fn(user_data: *mut c_void, event: *const ph_event_t, reason: *mut ph_message_t) -> i32;

/// `ph_host_t`: what the host offers one plugin instance; valid until `destroy` returns.
#[repr(C)]
pub struct ph_host_t {
    pub abi_major: u32,
    pub abi_minor: u32,
    pub struct_size: u32,
    pub reserved: u32,
    pub host_data: *mut c_void,
    pub alias: *const c_char,
    pub host_version: *const c_char,
    pub config: *const ph_config_t,
    pub log: Option<unsafe extern "C" fn(host: *const ph_host_t, level: ph_log_level_t, message: *const c_char)>,
    pub event_id: Option<unsafe extern "C" fn(host: *const ph_host_t, name: *const c_char) -> ph_event_id_t>,
    /// [create] only.
    pub subscribe: Option<
        unsafe extern "C" fn(
            host: *const ph_host_t,
            id: ph_event_id_t,
            priority: i32,
            callback: Option<ph_event_fn>,
            user_data: *mut c_void,
        ) -> ph_status_t,
    >,
    pub subscribe_check: Option<
        unsafe extern "C" fn(
            host: *const ph_host_t,
            id: ph_event_id_t,
            priority: i32,
            callback: Option<ph_check_fn>,
            user_data: *mut c_void,
        ) -> ph_status_t,
    >,
    pub publish: Option<
        unsafe extern "C" fn(host: *const ph_host_t, id: ph_event_id_t, payload: *const c_void, payload_length: usize) -> ph_status_t,
    >,
    pub check: Option<
        unsafe extern "C" fn(
            host: *const ph_host_t,
            id: ph_event_id_t,
            payload: *const c_void,
            payload_length: usize,
            reason: *mut ph_message_t,
        ) -> i32,
    >,
    pub provide_service: Option<unsafe extern "C" fn(host: *const ph_host_t, id: *const c_char, service: *const c_void) -> ph_status_t>,
    pub get_service: Option<unsafe extern "C" fn(host: *const ph_host_t, id: *const c_char) -> *const c_void>,
    pub cache_set: Option<
        unsafe extern "C" fn(
            host: *const ph_host_t,
            key: *const c_void,
            key_length: usize,
            value: *const c_void,
            value_length: usize,
            ttl_ms: u64,
        ) -> ph_status_t,
    >,
    pub cache_get: Option<
        unsafe extern "C" fn(
            host: *const ph_host_t,
            key: *const c_void,
            key_length: usize,
            buffer: *mut c_void,
            capacity: usize,
            length: *mut usize,
        ) -> ph_status_t,
    >,
    pub cache_invalidate: Option<unsafe extern "C" fn(host: *const ph_host_t, prefix: *const c_void, prefix_length: usize) -> ph_status_t>,
    pub get_extension: Option<unsafe extern "C" fn(host: *const ph_host_t, id: *const c_char) -> *const c_void>,
}

// ---------------------------------------------------------------------------
// plugin.h: the plugin descriptor
// ---------------------------------------------------------------------------

/// PH_PLUGIN_THREAD_SAFE: every call into the plugin may happen concurrently.
pub const PH_PLUGIN_THREAD_SAFE: u32 = 1 << 0;
/// PH_PLUGIN_NEVER_BLOCKS: no call into the plugin blocks.
pub const PH_PLUGIN_NEVER_BLOCKS: u32 = 1 << 1;

/// `ph_state_write_fn`.
pub type ph_state_write_fn = unsafe extern "C" fn(sink: *mut c_void, bytes: *const c_void, length: usize) -> ph_status_t;

/// `ph_plugin_t`: the descriptor the entry returns; plugin-owned, lives as long as the library.
#[repr(C)]
pub struct ph_plugin_t {
    pub abi_major: u32,
    pub abi_minor: u32,
    pub struct_size: u32,
    pub flags: u32,
    pub id: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub plugin_data: *mut c_void,
    pub parse_config: Option<
        unsafe extern "C" fn(plugin: *const ph_plugin_t, config: *const ph_config_t, error: *mut ph_message_t) -> ph_status_t,
    >,
    /// Required.
    pub create: Option<
        unsafe extern "C" fn(
            plugin: *const ph_plugin_t,
            host: *const ph_host_t,
            instance: *mut *mut c_void,
            error: *mut ph_message_t,
        ) -> ph_status_t,
    >,
    pub start: Option<unsafe extern "C" fn(instance: *mut c_void, error: *mut ph_message_t) -> ph_status_t>,
    pub stop: Option<unsafe extern "C" fn(instance: *mut c_void, error: *mut ph_message_t) -> ph_status_t>,
    /// Required.
    pub destroy: Option<unsafe extern "C" fn(instance: *mut c_void)>,
    pub get_extension: Option<unsafe extern "C" fn(instance: *mut c_void, id: *const c_char) -> *const c_void>,
    // ---- ABI 1.1 ----
    pub save_state: Option<
        unsafe extern "C" fn(
            instance: *mut c_void,
            write: Option<ph_state_write_fn>,
            sink: *mut c_void,
            error: *mut ph_message_t,
        ) -> ph_status_t,
    >,
    pub restore_state: Option<
        unsafe extern "C" fn(
            instance: *mut c_void,
            from_version: *const c_char,
            bytes: *const c_void,
            length: usize,
            error: *mut ph_message_t,
        ) -> ph_status_t,
    >,
}

/// `ph_entry_fn`: the type of the function the manifest names.
pub type ph_entry_fn = unsafe extern "C" fn(host_abi_major: u32, host_abi_minor: u32) -> *const ph_plugin_t;

/// PH_PLUGIN_SIZE_1_0: a host reads no member past it from a 1.0 plugin.
pub const PH_PLUGIN_SIZE_1_0: usize = offset_of!(ph_plugin_t, get_extension) + size_of::<*const c_void>();
/// PH_PLUGIN_SIZE_1_1.
pub const PH_PLUGIN_SIZE_1_1: usize = offset_of!(ph_plugin_t, restore_state) + size_of::<*const c_void>();
/// PH_HOST_SIZE_1_0.
pub const PH_HOST_SIZE_1_0: usize = offset_of!(ph_host_t, get_extension) + size_of::<*const c_void>();

// ---------------------------------------------------------------------------
// http.h
// ---------------------------------------------------------------------------

/// PH_EXT_HTTP: the id for `ph_host_t.get_extension`.
pub const PH_EXT_HTTP: &CStr = c"plughost.http/1";

/// `ph_http_request_t`: one HTTP exchange, opaque and host-owned; only ever behind a pointer.
#[repr(C)]
pub struct ph_http_request_t {
    _opaque: [u8; 0],
    // Not Send, not Sync, not Unpin: a handle the host lends for one call.
    _marker: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// `ph_type_t`.
pub type ph_type_t = u32;

/// `ph_handler_fn`: a raw endpoint handler. Non-zero answers 500 with `error`'s message.
pub type ph_handler_fn =
    unsafe extern "C" fn(user_data: *mut c_void, request: *mut ph_http_request_t, error: *mut ph_message_t) -> ph_status_t;

/// PH_MAY_DEFER (ABI 1.2): the handler may answer PH_PENDING. Not used here.
pub const PH_MAY_DEFER: u32 = 1 << 0;

/// `ph_endpoint_t`: a raw endpoint, copied by the host at registration.
#[repr(C)]
pub struct ph_endpoint_t {
    pub struct_size: u32,
    pub method: *const c_char,
    pub path: *const c_char,
    /// Required.
    pub handler: Option<ph_handler_fn>,
    pub user_data: *mut c_void,
    /// ABI 1.2: PH_MAY_DEFER, or 0.
    pub flags: u32,
}

/// Accessor returning a value as (pointer, length): `*value` points at exactly
/// `*length` bytes followed by one uncounted NUL; the bytes may hold NULs and
/// need not be UTF-8 (see http.h). Used for path_param, query and header.
pub type ph_http_value_fn = unsafe extern "C" fn(
    request: *mut ph_http_request_t,
    name: *const c_char,
    value: *mut *const c_char,
    length: *mut usize,
) -> ph_status_t;

/// `ph_http_t`: the HTTP extension; host-owned, valid until destroy.
#[repr(C)]
pub struct ph_http_t {
    pub struct_size: u32,
    pub reserved: u32,
    /// [create] only.
    pub register_endpoint:
        Option<unsafe extern "C" fn(host: *const ph_host_t, endpoint: *const ph_endpoint_t, error: *mut ph_message_t) -> ph_status_t>,
    /// Takes a `const ph_typed_endpoint_t *` (not bound here).
    pub register_typed_endpoint:
        Option<unsafe extern "C" fn(host: *const ph_host_t, endpoint: *const c_void, error: *mut ph_message_t) -> ph_status_t>,
    /// Takes a `const ph_wrapper_t *` (not bound here).
    pub register_wrapper:
        Option<unsafe extern "C" fn(host: *const ph_host_t, wrapper: *const c_void, error: *mut ph_message_t) -> ph_status_t>,
    pub method: Option<unsafe extern "C" fn(request: *mut ph_http_request_t) -> *const c_char>,
    pub path: Option<unsafe extern "C" fn(request: *mut ph_http_request_t) -> *const c_char>,
    pub path_param: Option<ph_http_value_fn>,
    pub query: Option<ph_http_value_fn>,
    pub header: Option<ph_http_value_fn>,
    pub body: Option<unsafe extern "C" fn(request: *mut ph_http_request_t, data: *mut *const c_void, length: *mut usize) -> ph_status_t>,
    pub set_request_header:
        Option<unsafe extern "C" fn(request: *mut ph_http_request_t, name: *const c_char, value: *const c_char) -> ph_status_t>,
    pub status: Option<unsafe extern "C" fn(request: *mut ph_http_request_t) -> u32>,
    pub set_status: Option<unsafe extern "C" fn(request: *mut ph_http_request_t, status: u32) -> ph_status_t>,
    pub set_header: Option<unsafe extern "C" fn(request: *mut ph_http_request_t, name: *const c_char, value: *const c_char) -> ph_status_t>,
    pub response_body:
        Option<unsafe extern "C" fn(request: *mut ph_http_request_t, data: *mut *const c_void, length: *mut usize) -> ph_status_t>,
    /// Copies the bytes.
    pub set_body: Option<unsafe extern "C" fn(request: *mut ph_http_request_t, data: *const c_void, length: usize) -> ph_status_t>,
    pub call_next: Option<unsafe extern "C" fn(request: *mut ph_http_request_t) -> ph_status_t>,
    pub set_property: Option<
        unsafe extern "C" fn(
            request: *mut ph_http_request_t,
            key: *const c_char,
            kind: ph_type_t,
            value: *const c_void,
            length: usize,
        ) -> ph_status_t,
    >,
    pub get_property: Option<
        unsafe extern "C" fn(
            request: *mut ph_http_request_t,
            key: *const c_char,
            kind: *mut ph_type_t,
            value: *mut *const c_void,
            length: *mut usize,
        ) -> ph_status_t,
    >,
    pub param: Option<
        unsafe extern "C" fn(
            request: *mut ph_http_request_t,
            name: *const c_char,
            kind: *mut ph_type_t,
            value: *mut *const c_void,
            length: *mut usize,
        ) -> ph_status_t,
    >,
    // ---- ABI 1.2: absent when struct_size ends before them ----
    pub resume: Option<unsafe extern "C" fn(request: *mut ph_http_request_t, status: ph_status_t, message: *const c_char) -> ph_status_t>,
    pub on_cancel: Option<
        unsafe extern "C" fn(
            request: *mut ph_http_request_t,
            cancelled: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
            user_data: *mut c_void,
        ) -> ph_status_t,
    >,
}

// ---------------------------------------------------------------------------
// Layout checks (LP64: x86_64, aarch64), as in PluginSDK/c/layout_checks.c
// ---------------------------------------------------------------------------

#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(offset_of!(ph_plugin_t, abi_major) == 0, "descriptor starts with the ABI major");
    assert!(offset_of!(ph_plugin_t, abi_minor) == 4, "then the ABI minor");
    assert!(offset_of!(ph_plugin_t, struct_size) == 8, "then its size");
    assert!(PH_PLUGIN_SIZE_1_0 == 96, "1.0 descriptor size is frozen");
    assert!(PH_PLUGIN_SIZE_1_1 == 112, "1.1 descriptor size is frozen");
    assert!(offset_of!(ph_plugin_t, save_state) == PH_PLUGIN_SIZE_1_0, "1.1 members follow the 1.0 descriptor");
    assert!(size_of::<ph_plugin_t>() == 112);
    assert!(PH_HOST_SIZE_1_0 == 144, "1.0 host API size is frozen");
    assert!(size_of::<ph_host_t>() == 144);
    assert!(offset_of!(ph_host_t, config) == 40);
    assert!(offset_of!(ph_host_t, log) == 48);
    assert!(size_of::<ph_event_t>() == 40, "1.0 event size is frozen");
    assert!(size_of::<ph_message_t>() == 16, "message buffer layout is frozen");
    assert!(size_of::<ph_config_t>() == 80);
    assert!(offset_of!(ph_config_t, key_count) == 16);
    assert!(offset_of!(ph_config_t, json) == 64);
    // http.h (checked against the C compiler's sizeof/offsetof on x86_64).
    assert!(size_of::<ph_endpoint_t>() == 48);
    assert!(offset_of!(ph_endpoint_t, handler) == 24);
    assert!(offset_of!(ph_endpoint_t, flags) == 40);
    assert!(size_of::<ph_http_t>() == 176);
    assert!(offset_of!(ph_http_t, register_endpoint) == 8);
    assert!(offset_of!(ph_http_t, query) == 56);
    assert!(offset_of!(ph_http_t, set_body) == 120);
    assert!(offset_of!(ph_http_t, resume) == 160);
    // An Option of a function pointer is a nullable C function pointer.
    assert!(size_of::<Option<ph_handler_fn>>() == size_of::<*const c_void>());
};
