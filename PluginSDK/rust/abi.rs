//! Hand-written bindings to the plughost plugin ABI, version 1.3.
//!
//! Mirrors `PluginSDK/include/plughost/plugin.h` and `PluginSDK/include/plughost/http.h`
//! (PH_ABI_MAJOR 1, PH_ABI_MINOR 3), the only contract between host and plugin.
//! Only what this plugin uses is bound, but every struct that is bound is bound
//! whole, member for member in header order, so that its size and offsets are the
//! C ones. Function pointers whose argument types are not bound here (wrappers)
//! are declared with `*const c_void` for those arguments: same layout, and this
//! plugin never calls them.
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
//!
//! Besides the bindings, two helpers for typed endpoints that answer JSON (PH_TYPE_JSON,
//! ABI 1.3), with std only: [`JsonWriter`] builds the document and [`keep_json_result`]
//! keeps it alive for the host as the header requires.

#![allow(non_camel_case_types, dead_code)]

use core::cell::Cell;
use core::ffi::{c_char, c_void, CStr};
use core::fmt::Write as _;
use core::mem::{offset_of, size_of};
use core::ptr;
use std::ffi::CString;

// ---------------------------------------------------------------------------
// plugin.h: versioning
// ---------------------------------------------------------------------------

/// PH_ABI_MAJOR: a host refuses a plugin whose major differs.
pub const PH_ABI_MAJOR: u32 = 1;
/// PH_ABI_MINOR: the minor these bindings mirror (1.3: JSON in typed endpoints).
pub const PH_ABI_MINOR: u32 = 3;

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

/// `ph_type_t`: the value type of a typed-endpoint parameter, a result or a request property.
pub type ph_type_t = u32;
/// PH_TYPE_VOID: result only, the function returns nothing (answered `null`).
pub const PH_TYPE_VOID: ph_type_t = 0;
/// PH_TYPE_BOOL: C `bool`; from "true"/"false"/"1"/"0", in any case.
pub const PH_TYPE_BOOL: ph_type_t = 1;
/// PH_TYPE_INT32: C `int32_t` (as a property or `param` value: 8 bytes, an `int64_t`).
pub const PH_TYPE_INT32: ph_type_t = 2;
/// PH_TYPE_INT64: C `int64_t`.
pub const PH_TYPE_INT64: ph_type_t = 3;
/// PH_TYPE_UINT64: C `uint64_t`.
pub const PH_TYPE_UINT64: ph_type_t = 4;
/// PH_TYPE_DOUBLE: C `double`; finite values only (a NaN or infinite result is answered `null`).
pub const PH_TYPE_DOUBLE: ph_type_t = 5;
/// PH_TYPE_STRING: `*const c_char`, NUL-terminated UTF-8, valid during the call. As a result:
/// plugin-owned, valid until the function's thread calls into the plugin again.
pub const PH_TYPE_STRING: ph_type_t = 6;
/// PH_TYPE_BYTES: two C arguments, `data: *const u8, length: usize` (never NULL). Not a result type.
pub const PH_TYPE_BYTES: ph_type_t = 7;
/// PH_TYPE_JSON (ABI 1.3): a JSON document. As a parameter (from PH_SOURCE_BODY only): two C
/// arguments, `json: *const c_char, length: usize`, the body's exact bytes plus one uncounted NUL,
/// already checked by the host to be well-formed (and valid against `body_schema`). As a result:
/// `*const c_char`, a NUL-terminated JSON document with the lifetime of a STRING result (see
/// [`keep_json_result`]); NULL, or a document that is not well-formed or fails `result_schema`,
/// is answered 500.
pub const PH_TYPE_JSON: ph_type_t = 8;

/// PH_JSON_MAX_DEPTH: how deep arrays and objects may nest before the host refuses a document.
pub const PH_JSON_MAX_DEPTH: usize = 64;

/// `ph_source_t`: where a typed parameter's value comes from.
pub type ph_source_t = u32;
/// PH_SOURCE_PATH: a `:name` segment of the path pattern.
pub const PH_SOURCE_PATH: ph_source_t = 1;
/// PH_SOURCE_QUERY: the query parameter `name`.
pub const PH_SOURCE_QUERY: ph_source_t = 2;
/// PH_SOURCE_HEADER: the request header `name` (case-insensitive).
pub const PH_SOURCE_HEADER: ph_source_t = 3;
/// PH_SOURCE_BODY: the whole request body (not trimmed).
pub const PH_SOURCE_BODY: ph_source_t = 4;
/// PH_SOURCE_PLUGIN: the request property `name` a wrapper set; missing is a 500.
pub const PH_SOURCE_PLUGIN: ph_source_t = 5;

/// `ph_param_t`: one parameter of a typed endpoint.
#[repr(C)]
pub struct ph_param_t {
    /// Path segment, query key, header or property key.
    pub name: *const c_char,
    /// Where the value comes from (PH_SOURCE_*).
    pub source: ph_source_t,
    /// Its C type (PH_TYPE_*, never PH_TYPE_VOID); `type` in C, a Rust keyword.
    pub kind: ph_type_t,
}

/// `ph_handler_fn`: a raw endpoint handler. Non-zero answers 500 with `error`'s message.
pub type ph_handler_fn =
    unsafe extern "C" fn(user_data: *mut c_void, request: *mut ph_http_request_t, error: *mut ph_message_t) -> ph_status_t;

/// PH_MAY_DEFER (ABI 1.2), in `ph_endpoint_t.flags` (and, ABI 1.3, in a handler-form
/// `ph_typed_endpoint_t.flags`): the handler may answer PH_PENDING.
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

/// `ph_typed_endpoint_t`: a typed endpoint, copied by the host at registration (strings and
/// schemas included). Either `function`, a plain C function whose parameters are the C types
/// of `params` in order (PH_TYPE_BYTES and PH_TYPE_JSON take two) and whose return type is
/// `result`, transmuted to `unsafe extern "C" fn()`; or (ABI 1.3) `handler`, of the raw
/// endpoint's shape, with `function` None. http.h has the rules (schemas: the JSON Schema
/// subset the host checks).
#[repr(C)]
pub struct ph_typed_endpoint_t {
    /// `size_of::<ph_typed_endpoint_t>()`; members past it are taken as absent
    /// (PH_TYPED_ENDPOINT_SIZE_1_0 before ABI 1.3).
    pub struct_size: u32,
    /// "GET", "POST", ...
    pub method: *const c_char,
    /// Path pattern, as for raw endpoints.
    pub path: *const c_char,
    /// The C function, cast to `void (*)(void)`. Required unless `handler` is set (ABI 1.3).
    pub function: Option<unsafe extern "C" fn()>,
    /// Its parameters, in order; plugin-owned, read during registration.
    pub params: *const ph_param_t,
    /// Number of `params`, at most 16.
    pub param_count: usize,
    /// Its return type.
    pub result: ph_type_t,
    // ---- ABI 1.3: absent when struct_size ends before them ----
    /// Status of a successful answer, 200-299; 0 is 200. 204 answers no body.
    pub status: u32,
    /// PH_MAY_DEFER (handler form only), or 0.
    pub flags: u32,
    /// Content-Type of a successful answer; NULL is "application/json". A PH_TYPE_JSON
    /// result needs a JSON one.
    pub content_type: *const c_char,
    /// JSON Schema (as JSON text) of the PH_TYPE_JSON body parameter; NULL accepts any JSON.
    pub body_schema: *const c_char,
    /// JSON Schema (as JSON text) of a PH_TYPE_JSON result; NULL for any JSON.
    pub result_schema: *const c_char,
    /// One line describing the endpoint, for the OpenAPI document; NULL for none.
    pub summary: *const c_char,
    /// The handler form, with `function` None; `result` must be PH_TYPE_JSON or PH_TYPE_VOID.
    pub handler: Option<ph_handler_fn>,
    /// Passed to `handler`; plugin-owned, valid until destroy.
    pub user_data: *mut c_void,
}

/// PH_TYPED_ENDPOINT_SIZE_1_0: the size of a typed endpoint before ABI 1.3.
pub const PH_TYPED_ENDPOINT_SIZE_1_0: usize = offset_of!(ph_typed_endpoint_t, result) + size_of::<ph_type_t>();

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
    /// [create] only. PH_ERR_UNSUPPORTED (with the reason) for a signature the host cannot call.
    pub register_typed_endpoint: Option<
        unsafe extern "C" fn(host: *const ph_host_t, endpoint: *const ph_typed_endpoint_t, error: *mut ph_message_t) -> ph_status_t,
    >,
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
// Helpers for PH_TYPE_JSON results (not part of the C ABI; std only, no crates)
// ---------------------------------------------------------------------------

/// What a [`JsonWriter`] container is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum JsonContainer {
    Object,
    Array,
}

/// Builds one JSON document (RFC 8259) in a `String`, compactly, with no panicking path.
///
/// Call the methods in document order; each returns `&mut Self`, so calls chain:
///
/// ```ignore
/// let mut json = JsonWriter::new();
/// json.begin_object().key("text").string("héllo").key("length").i64(5).end_object();
/// let text: Option<String> = json.finish(); // Some(r#"{"text":"héllo","length":5}"#)
/// ```
///
/// The writer puts in the commas and colons and escapes strings. It also tracks the
/// structure: a value in an object without a key first, a key outside an object, an `end_*`
/// that closes the wrong container (or none), or a second top-level value makes
/// [`finish`](Self::finish) answer `None` instead of a malformed document. It does not
/// refuse duplicate keys (the host does: the result is then answered 500) nor nesting
/// deeper than [`PH_JSON_MAX_DEPTH`] (the host refuses that too).
pub struct JsonWriter {
    /// The text so far.
    out: String,
    /// The open containers, innermost last, each with whether it has a member yet.
    open: Vec<(JsonContainer, bool)>,
    /// A key was written and its value is due.
    after_key: bool,
    /// A top-level value was started.
    started: bool,
    /// No call so far broke the structure.
    valid: bool,
}

impl Default for JsonWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonWriter {
    /// An empty writer.
    pub fn new() -> Self {
        JsonWriter { out: String::new(), open: Vec::new(), after_key: false, started: false, valid: true }
    }

    /// Writes what comes before a value (a comma in an array) and checks a value may come here.
    fn before_value(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        match self.open.last_mut() {
            None => {
                // A document holds one top-level value.
                if self.started {
                    self.valid = false;
                }
                self.started = true;
            }
            Some((JsonContainer::Array, has_member)) => {
                if *has_member {
                    self.out.push(',');
                }
                *has_member = true;
            }
            // A value in an object needs a key first.
            Some((JsonContainer::Object, _)) => self.valid = false,
        }
    }

    /// Opens a container (after what comes before a value).
    fn begin(&mut self, container: JsonContainer, bracket: char) -> &mut Self {
        self.before_value();
        self.open.push((container, false));
        self.out.push(bracket);
        self
    }

    /// Closes the innermost container, which must be `container` and not wait for a value.
    fn end(&mut self, container: JsonContainer, bracket: char) -> &mut Self {
        if self.after_key || self.open.pop().map(|(open, _)| open) != Some(container) {
            self.valid = false;
        }
        self.after_key = false;
        self.out.push(bracket);
        self
    }

    /// Opens an object: `{`. Its members follow as [`key`](Self::key) then a value each.
    pub fn begin_object(&mut self) -> &mut Self {
        self.begin(JsonContainer::Object, '{')
    }

    /// Closes the innermost container, which must be an object: `}`.
    pub fn end_object(&mut self) -> &mut Self {
        self.end(JsonContainer::Object, '}')
    }

    /// Opens an array: `[`. Its elements follow as values.
    pub fn begin_array(&mut self) -> &mut Self {
        self.begin(JsonContainer::Array, '[')
    }

    /// Closes the innermost container, which must be an array: `]`.
    pub fn end_array(&mut self) -> &mut Self {
        self.end(JsonContainer::Array, ']')
    }

    /// Writes a member's key (escaped, as [`string`](Self::string) does) and its colon; the
    /// next call writes its value. Only directly inside an object.
    pub fn key(&mut self, key: &str) -> &mut Self {
        match self.open.last_mut() {
            Some((JsonContainer::Object, has_member)) if !self.after_key => {
                if *has_member {
                    self.out.push(',');
                }
                *has_member = true;
            }
            _ => self.valid = false,
        }
        self.push_string(key);
        self.out.push(':');
        self.after_key = true;
        self
    }

    /// Writes a string value, quoted and escaped as RFC 8259 requires: `"` and `\` with a
    /// backslash, the control characters U+0000 to U+001F as `\b`, `\f`, `\n`, `\r`, `\t`
    /// or `\u00XX`; everything else as its UTF-8 (a `&str` holds no lone surrogate, which
    /// the host would refuse).
    pub fn string(&mut self, value: &str) -> &mut Self {
        self.before_value();
        self.push_string(value);
        self
    }

    /// Writes a signed integer value, in decimal (exact: the host answers it unchanged).
    pub fn i64(&mut self, value: i64) -> &mut Self {
        self.before_value();
        let _ = write!(self.out, "{value}");
        self
    }

    /// Writes a number value in its shortest round-trip form (e.g. `0.1`, `1.0`, `1e300`);
    /// a NaN or an infinity, which JSON cannot hold, as `null`.
    pub fn f64(&mut self, value: f64) -> &mut Self {
        self.before_value();
        if value.is_finite() {
            // Debug is Rust's shortest round-trip form; it is valid JSON for finite values.
            let _ = write!(self.out, "{value:?}");
        } else {
            self.out.push_str("null");
        }
        self
    }

    /// Writes `true` or `false`.
    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.before_value();
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// Writes `null`.
    pub fn null(&mut self) -> &mut Self {
        self.before_value();
        self.out.push_str("null");
        self
    }

    /// The document: `Some` when exactly one top-level value was written, every container
    /// closed and no call broke the structure; else `None`.
    pub fn finish(self) -> Option<String> {
        (self.valid && self.started && self.open.is_empty() && !self.after_key).then_some(self.out)
    }

    /// Appends `text` as a quoted, escaped JSON string.
    fn push_string(&mut self, text: &str) {
        self.out.reserve(text.len() + 2);
        self.out.push('"');
        for c in text.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '\u{08}' => self.out.push_str("\\b"),
                '\u{0C}' => self.out.push_str("\\f"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(self.out, "\\u{:04x}", c as u32);
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

thread_local! {
    /// This thread's last result handed to the host: a `CString` turned into its raw pointer
    /// (`CString::into_raw`), or null. A raw pointer rather than a `CString` on purpose: a
    /// thread-local that needs dropping registers a destructor with glibc
    /// (`__cxa_thread_atexit_impl`), which keeps the library mapped after `dlclose` for as
    /// long as the thread lives, so a reload could never unload the old build. This one needs
    /// no destructor; the last result of a thread that exits stays allocated (one per thread).
    static JSON_RESULT: Cell<*mut c_char> = const { Cell::new(ptr::null_mut()) };
}

/// Keeps `text` alive as this thread's JSON result and returns it as the NUL-terminated
/// `*const c_char` a PH_TYPE_JSON (or PH_TYPE_STRING) typed endpoint returns. The pointer
/// stays valid until the next `keep_json_result` call on the same thread, which frees it:
/// longer than the header asks (until the thread calls into the plugin again), as long as
/// the endpoint function calls this last, once, just before it returns.
///
/// Returns null, which the host answers 500, when `text` holds a NUL (a document from
/// [`JsonWriter`] never does: it escapes U+0000) or when this thread's storage is gone
/// (the thread is exiting).
pub fn keep_json_result(text: String) -> *const c_char {
    let Ok(owned) = CString::new(text) else { return ptr::null() };
    let raw = owned.into_raw();
    match JSON_RESULT.try_with(|slot| slot.replace(raw)) {
        Ok(previous) => {
            if !previous.is_null() {
                // SAFETY: `previous` came from CString::into_raw in an earlier call on this
                // thread and was taken out of the slot, so it is freed once; the host read it
                // before this thread called into the plugin again.
                drop(unsafe { CString::from_raw(previous) });
            }
            raw
        }
        Err(_) => {
            // SAFETY: `raw` came from CString::into_raw just above and was handed to no one.
            drop(unsafe { CString::from_raw(raw) });
            ptr::null()
        }
    }
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
    assert!(size_of::<ph_param_t>() == 16);
    assert!(offset_of!(ph_param_t, source) == 8);
    assert!(offset_of!(ph_param_t, kind) == 12);
    assert!(PH_TYPED_ENDPOINT_SIZE_1_0 == 52, "typed endpoint size before 1.3 is frozen");
    assert!(offset_of!(ph_typed_endpoint_t, function) == 24);
    assert!(offset_of!(ph_typed_endpoint_t, params) == 32);
    assert!(offset_of!(ph_typed_endpoint_t, param_count) == 40);
    assert!(offset_of!(ph_typed_endpoint_t, result) == 48);
    assert!(offset_of!(ph_typed_endpoint_t, status) == 52, "1.3 typed endpoint members follow the 1.0 ones");
    assert!(offset_of!(ph_typed_endpoint_t, flags) == 56);
    assert!(offset_of!(ph_typed_endpoint_t, content_type) == 64, "1.3 typed endpoint strings start at 64");
    assert!(offset_of!(ph_typed_endpoint_t, body_schema) == 72);
    assert!(offset_of!(ph_typed_endpoint_t, result_schema) == 80);
    assert!(offset_of!(ph_typed_endpoint_t, summary) == 88);
    assert!(offset_of!(ph_typed_endpoint_t, handler) == 96);
    assert!(offset_of!(ph_typed_endpoint_t, user_data) == 104);
    assert!(size_of::<ph_typed_endpoint_t>() == 112, "1.3 typed endpoint size is frozen");
    // An Option of a function pointer is a nullable C function pointer.
    assert!(size_of::<Option<ph_handler_fn>>() == size_of::<*const c_void>());
};
