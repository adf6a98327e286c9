//! hello-rust — a plughost plugin written in Rust against the C ABI, with no crates.
//!
//!   GET /rust/hello?name=NAME   answers JSON:
//!       {"plugin":"hello-rust","message":"Hello, NAME!","requests_seen":N,"hellos":M}
//!
//! - `requests_seen` counts `plughost.request-received` events (every HTTP request the
//!   host served since this instance was created, this one included: the host
//!   publishes the event before it runs the endpoint);
//! - `hellos` counts the calls of this endpoint.
//!
//! Config (`[plugin.hello-rust]` in the host config), validated by `parse_config`:
//!   greeting = "Hello"   optional string, 1 to 64 bytes, no control characters.
//!
//! Both counters are atomics and nothing else is shared or mutated after `create`,
//! so the plugin declares PH_PLUGIN_THREAD_SAFE. No call sleeps, waits or takes a
//! lock (the allocator aside, as in the C examples), so it declares
//! PH_PLUGIN_NEVER_BLOCKS too.
//!
//! Every function the host calls is an `extern "C"` function: a panic can never
//! unwind into the host. The crate is built with `panic = "abort"` (Cargo.toml), and
//! since Rust 1.81 a panic reaching an `extern "C"` boundary aborts anyway.

#![deny(unsafe_op_in_unsafe_fn)]

// The SDK's hand-written bindings to plugin.h and http.h (PluginSDK/rust/abi.rs), one module.
#[path = "../../../../PluginSDK/rust/abi.rs"]
mod abi;

use abi::*;
use core::ffi::{c_char, c_void, CStr};
use core::fmt::Write as _;
use core::mem::{offset_of, size_of};
use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering};
use std::ffi::CString;

/// The endpoint's path.
const PATH: &CStr = c"/rust/hello";
/// The greeting when the config sets none.
const DEFAULT_GREETING: &str = "Hello";
/// Longest `greeting` accepted, in bytes.
const MAX_GREETING: usize = 64;
/// Longest `name` query parameter accepted, in bytes.
const MAX_NAME: usize = 64;

// ---------------------------------------------------------------------------
// The descriptor and the entry function
// ---------------------------------------------------------------------------

/// The descriptor holds raw pointers, which are not `Sync`; it is immutable static
/// data that the host only reads, so sharing it between threads is sound.
#[repr(transparent)]
struct Descriptor(ph_plugin_t);
// SAFETY: never mutated; every pointer in it points at static data or code.
unsafe impl Sync for Descriptor {}

static DESCRIPTOR: Descriptor = Descriptor(ph_plugin_t {
    abi_major: PH_ABI_MAJOR,
    abi_minor: PH_ABI_MINOR,
    struct_size: size_of::<ph_plugin_t>() as u32,
    flags: PH_PLUGIN_THREAD_SAFE | PH_PLUGIN_NEVER_BLOCKS,
    id: c"dev.plughost.examples.hello-rust".as_ptr(),
    version: c"1.0.0".as_ptr(),
    description: c"Rust example: GET /rust/hello?name=... answers JSON with a request counter".as_ptr(),
    plugin_data: ptr::null_mut(),
    parse_config: Some(parse_config),
    create: Some(create),
    start: None,
    stop: None,
    destroy: Some(destroy),
    get_extension: None,
    save_state: None,
    restore_state: None,
});

/// The entry the manifest names (`hello-rust = "libhellorust.so:hello_rust_entry"`).
/// No side effects: `plughost check` calls it too.
#[no_mangle]
pub extern "C" fn hello_rust_entry(host_abi_major: u32, _host_abi_minor: u32) -> *const ph_plugin_t {
    // A host of the same major with an older minor still has every member this
    // plugin uses (they are all 1.0); a newer minor only adds members at the end.
    if host_abi_major == PH_ABI_MAJOR {
        &DESCRIPTOR.0
    } else {
        ptr::null()
    }
}

// The entry has exactly the type plugin.h's ph_entry_fn names.
const _: ph_entry_fn = hello_rust_entry;

// ---------------------------------------------------------------------------
// Small helpers over the C types
// ---------------------------------------------------------------------------

/// Writes `text` into a host-owned message buffer, truncated to fit (at a character
/// boundary) and NUL-terminated: `ph_message_copy` of plugin.h, which is a
/// `static inline` C function and so not exported for Rust to call.
///
/// # Safety
/// `message` is NULL or the `ph_message_t` the host passed to the current call.
unsafe fn write_message(message: *mut ph_message_t, text: &str) {
    // SAFETY: the caller hands in the host's buffer (or NULL), valid during this call.
    let Some(message) = (unsafe { message.as_ref() }) else { return };
    if message.data.is_null() || message.capacity == 0 {
        return;
    }
    let mut length = text.len().min(message.capacity - 1);
    while !text.is_char_boundary(length) {
        length -= 1;
    }
    // SAFETY: `data` has room for `capacity` bytes and `length < capacity`.
    unsafe {
        ptr::copy_nonoverlapping(text.as_ptr(), message.data.cast::<u8>(), length);
        *message.data.add(length) = 0;
    }
}

/// Turns a (pointer, length) span the host handed out into a byte slice.
///
/// # Safety
/// `data` points at `length` readable bytes (or `length` is 0), valid for `'a`.
unsafe fn span<'a>(data: *const c_char, length: usize) -> &'a [u8] {
    if data.is_null() || length == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { core::slice::from_raw_parts(data.cast::<u8>(), length) }
    }
}

/// A string value of the config: `Ok(None)` when absent, `Err(status)` for any other failure
/// (PH_ERR_TYPE: the key holds another type).
fn config_string<'a>(config: &'a ph_config_t, key: &CStr) -> Result<Option<&'a [u8]>, ph_status_t> {
    let get_string = config.get_string.ok_or(PH_ERR_UNSUPPORTED)?;
    let mut value: *const c_char = ptr::null();
    let mut length: usize = 0;
    // SAFETY: the host's function, called with the config it belongs to and valid out-pointers.
    match unsafe { get_string(config, key.as_ptr(), &mut value, &mut length) } {
        // SAFETY: the value is host-owned, `length` bytes long, and valid as long as the config.
        PH_OK => Ok(Some(unsafe { span(value, length) })),
        PH_ERR_NOT_FOUND => Ok(None),
        status => Err(status),
    }
}

/// The validated `greeting` of `config`, or the message to refuse the config with.
fn greeting_from(config: &ph_config_t) -> Result<String, String> {
    let bytes = match config_string(config, c"greeting") {
        Ok(None) => return Ok(DEFAULT_GREETING.to_owned()),
        Ok(Some(bytes)) => bytes,
        Err(PH_ERR_TYPE) => return Err("key 'greeting' must be a string, e.g. greeting = \"Hello\"".to_owned()),
        Err(status) => return Err(format!("key 'greeting' could not be read (status {status})")),
    };
    let text = core::str::from_utf8(bytes).map_err(|_| "key 'greeting' must be UTF-8".to_owned())?;
    if text.is_empty() {
        return Err("key 'greeting' must not be empty".to_owned());
    }
    if text.len() > MAX_GREETING {
        return Err(format!("key 'greeting' is {} bytes long, at most {MAX_GREETING} are allowed", text.len()));
    }
    if text.chars().any(char::is_control) {
        return Err("key 'greeting' must not contain control characters (a NUL, a newline, ...)".to_owned());
    }
    Ok(text.to_owned())
}

/// `text` as a JSON string literal, quotes included.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------
// The instance
// ---------------------------------------------------------------------------

/// One plugin instance, shared by the endpoint handler and the event callback, which
/// the host may call on any thread at once (the plugin is thread-safe): after `create`
/// only the atomics change.
struct Instance {
    /// The host's HTTP extension; valid until destroy.
    http: *const ph_http_t,
    /// This instance's alias (copied).
    alias: String,
    /// From the config (copied).
    greeting: String,
    /// `plughost.request-received` events seen.
    requests_seen: AtomicU64,
    /// Calls of GET /rust/hello.
    hellos: AtomicU64,
}

/// Validates `[plugin.ALIAS]`: only `greeting` is known. [control]
unsafe extern "C" fn parse_config(
    _plugin: *const ph_plugin_t,
    config: *const ph_config_t,
    error: *mut ph_message_t,
) -> ph_status_t {
    // SAFETY: the host passes its config view, valid during this call.
    let Some(config) = (unsafe { config.as_ref() }) else { return PH_OK };
    // With a parse_config of its own, a plugin refuses unknown keys itself.
    if let Some(key_at) = config.key_at {
        for index in 0..config.key_count {
            // SAFETY: the host's function with its own config and an index below key_count.
            let key = unsafe { key_at(config, index) };
            if key.is_null() {
                continue;
            }
            // SAFETY: a NUL-terminated host-owned key, valid as long as the config.
            let key = unsafe { CStr::from_ptr(key) };
            if key != c"greeting" {
                let text = format!("unknown key '{}' (known: greeting)", key.to_string_lossy());
                // SAFETY: `error` is the host's message buffer for this call.
                unsafe { write_message(error, &text) };
                return PH_ERR_INVALID;
            }
        }
    }
    match greeting_from(config) {
        Ok(_) => PH_OK,
        Err(text) => {
            // SAFETY: as above.
            unsafe { write_message(error, &text) };
            PH_ERR_INVALID
        }
    }
}

/// Creates the instance: registers GET /rust/hello and subscribes to request-received. [control]
unsafe extern "C" fn create(
    _plugin: *const ph_plugin_t,
    host: *const ph_host_t,
    instance: *mut *mut c_void,
    error: *mut ph_message_t,
) -> ph_status_t {
    // Fails the create with `text`.
    let fail = |status: ph_status_t, text: &str| {
        // SAFETY: `error` is the host's message buffer for this call.
        unsafe { write_message(error, text) };
        status
    };
    // SAFETY: the host API, valid until destroy.
    let Some(host_api) = (unsafe { host.as_ref() }) else { return fail(PH_ERR_INVALID, "no host API") };
    if (host_api.struct_size as usize) < PH_HOST_SIZE_1_0 {
        return fail(PH_ERR_UNSUPPORTED, "the host API is smaller than ABI 1.0's");
    }
    let (Some(get_extension), Some(subscribe)) = (host_api.get_extension, host_api.subscribe) else {
        return fail(PH_ERR_UNSUPPORTED, "the host lacks get_extension or subscribe");
    };
    // The config parse_config accepted, valid until destroy.
    // SAFETY: host-owned, valid until destroy (or NULL, handled).
    let greeting = match unsafe { host_api.config.as_ref() }.map(greeting_from) {
        None => DEFAULT_GREETING.to_owned(),
        Some(Ok(greeting)) => greeting,
        Some(Err(text)) => return fail(PH_ERR_INVALID, &text),
    };

    // SAFETY: the host's function, called with its own host pointer and a static id.
    let http = unsafe { get_extension(host, PH_EXT_HTTP.as_ptr()) }.cast::<ph_http_t>();
    // SAFETY: host-owned, valid until destroy (or NULL, handled).
    let Some(http_api) = (unsafe { http.as_ref() }) else {
        return fail(PH_ERR_UNSUPPORTED, "this host serves no HTTP");
    };
    // Every member used here is an ABI 1.0 one, up to set_body; a member past the
    // host's struct_size would not exist.
    if (http_api.struct_size as usize) < offset_of!(ph_http_t, set_body) + size_of::<*const c_void>() {
        return fail(PH_ERR_UNSUPPORTED, "the host's HTTP extension is too old");
    }
    let Some(register_endpoint) = http_api.register_endpoint else {
        return fail(PH_ERR_UNSUPPORTED, "the host's HTTP extension lacks register_endpoint");
    };

    let alias = if host_api.alias.is_null() {
        String::from("hello-rust")
    } else {
        // SAFETY: NUL-terminated, host-owned, valid until destroy.
        unsafe { CStr::from_ptr(host_api.alias) }.to_string_lossy().into_owned()
    };
    let log_line = format!("greeting is '{greeting}'; serving GET {}", PATH.to_string_lossy());
    let me = Box::into_raw(Box::new(Instance {
        http,
        alias,
        greeting,
        requests_seen: AtomicU64::new(0),
        hellos: AtomicU64::new(0),
    }));

    // The host copies the struct (and its method and path) at registration.
    let endpoint = ph_endpoint_t {
        struct_size: size_of::<ph_endpoint_t>() as u32,
        method: c"GET".as_ptr(),
        path: PATH.as_ptr(),
        handler: Some(hello),
        user_data: me.cast(),
        flags: 0,
    };
    // SAFETY: the host's function during create, with a valid endpoint and the error buffer.
    let status = unsafe { register_endpoint(host, &endpoint, error) };
    if status != PH_OK {
        // A failed create is never destroyed and its registrations are dropped: free here.
        // SAFETY: `me` came from Box::into_raw above and was handed to no one that outlives this.
        drop(unsafe { Box::from_raw(me) });
        return status; // the host wrote the reason into `error`
    }
    // SAFETY: as above; `me` stays valid until destroy.
    let status = unsafe {
        subscribe(host, PH_EVENT_REQUEST_RECEIVED, PH_PRIORITY_DEFAULT, Some(on_request_received), me.cast())
    };
    if status != PH_OK {
        // SAFETY: as above.
        drop(unsafe { Box::from_raw(me) });
        return fail(status, &format!("could not subscribe to plughost.request-received (status {status})"));
    }

    if let (Some(log), Ok(line)) = (host_api.log, CString::new(log_line)) {
        // SAFETY: the host's function; the line is read during the call only.
        unsafe { log(host, PH_LOG_INFO, line.as_ptr()) };
    }
    // SAFETY: `instance` is the host's out-pointer for this call.
    unsafe { *instance = me.cast() };
    PH_OK
}

/// Frees the instance; nothing of it is called afterwards. [control]
unsafe extern "C" fn destroy(instance: *mut c_void) {
    if !instance.is_null() {
        // SAFETY: the pointer create made with Box::into_raw, handed back once.
        drop(unsafe { Box::from_raw(instance.cast::<Instance>()) });
    }
}

/// Counts `plughost.request-received`. Any thread, possibly concurrently.
unsafe extern "C" fn on_request_received(user_data: *mut c_void, _event: *const ph_event_t) {
    // SAFETY: the instance subscribed with itself; it lives until destroy.
    let me = unsafe { &*user_data.cast::<Instance>() };
    me.requests_seen.fetch_add(1, Ordering::Relaxed);
}

/// GET /rust/hello?name=NAME. [request], any thread, possibly concurrently.
unsafe extern "C" fn hello(user_data: *mut c_void, request: *mut ph_http_request_t, error: *mut ph_message_t) -> ph_status_t {
    // SAFETY: the instance registered itself as user_data; it lives until destroy.
    let me = unsafe { &*user_data.cast::<Instance>() };
    // SAFETY: checked in create (the members used are present), valid until destroy.
    let http = unsafe { &*me.http };
    let (Some(query), Some(set_status), Some(set_header), Some(set_body)) =
        (http.query, http.set_status, http.set_header, http.set_body)
    else {
        // SAFETY: `error` is the host's message buffer for this call.
        unsafe { write_message(error, "the host's HTTP extension lacks query/set_status/set_header/set_body") };
        return PH_ERR_UNSUPPORTED;
    };
    let hellos = me.hellos.fetch_add(1, Ordering::Relaxed) + 1;
    let requests_seen = me.requests_seen.load(Ordering::Relaxed);

    // The value is exactly `length` bytes, percent-decoded: it may hold NULs and need not be UTF-8.
    let mut value: *const c_char = ptr::null();
    let mut length: usize = 0;
    // SAFETY: the host's accessor with the request it lent us and valid out-pointers.
    let name: &[u8] = match unsafe { query(request, c"name".as_ptr(), &mut value, &mut length) } {
        // SAFETY: host-owned bytes, valid until the request ends.
        PH_OK => unsafe { span(value, length) },
        _ => b"world",
    };

    let (status, body) = if name.is_empty() || name.len() > MAX_NAME {
        let reason = format!("name must be 1 to {MAX_NAME} bytes, got {}", name.len());
        (400, format!("{{\"error\":{}}}", json_string(&reason)))
    } else {
        let message = format!("{}, {}!", me.greeting, String::from_utf8_lossy(name));
        let body = format!(
            "{{\"plugin\":{},\"message\":{},\"requests_seen\":{requests_seen},\"hellos\":{hellos}}}",
            json_string(&me.alias),
            json_string(&message)
        );
        (200, body)
    };

    // SAFETY: the host's accessors with the request it lent us; header strings are
    // NUL-terminated statics, the body is copied by set_body.
    let results = unsafe {
        [
            set_status(request, status),
            set_header(request, c"Content-Type".as_ptr(), c"application/json".as_ptr()),
            set_body(request, body.as_ptr().cast(), body.len()),
        ]
    };
    if let Some(&failed) = results.iter().find(|&&status| status != PH_OK) {
        // SAFETY: as above.
        unsafe { write_message(error, &format!("could not write the response (status {failed})")) };
        return PH_ERR_FAILED;
    }
    PH_OK
}
