/// The files `plughost new` writes, and the names it derives from the plugin's name.
///
/// Each template is a raw string literal whose `@@TOKEN@@` placeholders
/// ``files(name:language:sdkPath:directory:)`` replaces in one pass (a value is
/// never scanned again). Every name is derived from the plugin's name, which is
/// also its alias, so that C, Swift and Rust plugins agree (for `my-plugin`):
///
/// | token | value | example |
/// |---|---|---|
/// | `NAME` | the name, as given: the alias, the manifest `my-plugin.toml`, the path `/my-plugin/hello` | `my-plugin` |
/// | `IDENT` | lower-cased, `-` as `_`: the Swift module and the Rust crate | `my_plugin` |
/// | `LIBRARY` | `lib` + IDENT + `.so` | `libmy_plugin.so` |
/// | `SYMBOL` | IDENT + `_entry`: the exported entry function | `my_plugin_entry` |
/// | `TYPE` | the Swift class: CamelCase + `Plugin` | `MyPlugin` |
/// | `SDK` | the PluginSDK folder, absolute | `/src/plughost/PluginSDK` |
/// | `DIR`, `FOLDER` | the plugins folder and the plugin's folder, as given, for the README | `plugins`, `plugins/my-plugin` |
/// | `TAB` | a tab (Makefile recipes) | |
///
/// No template holds a tab, a `"""` or a backslash followed by `#`.
enum PluginTemplates {
    /// The languages a plugin can be written in.
    enum Language: String, CaseIterable, Sendable {
        case c, swift, rust

        /// The language's name in prose.
        var displayName: String {
            switch self {
            case .c: "C"
            case .swift: "Swift"
            case .rust: "Rust"
            }
        }
    }

    /// The longest plugin name accepted (it names files and symbols).
    static let maxNameLength = 64

    /// The rule ``isValidName(_:)`` checks, for messages.
    static let nameRule = "1 to \(maxNameLength) letters, digits, '-' and '_', starting with a letter"

    /// Whether `name` can name a plugin: a valid alias (`[A-Za-z0-9_-]+`, the
    /// manifest's rule) that starts with an ASCII letter, so that the entry
    /// symbol, the Swift module and the Rust crate derived from it are identifiers.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first), name.utf8.count <= maxNameLength else { return false }
        return name.utf8.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// The name lower-cased with `-` as `_`: the library's stem, the entry
    /// symbol's prefix, the Swift module's and the Rust crate's name.
    /// Lower case keeps a Swift module from shadowing `Swift` or `PluginSDK`,
    /// and a Rust crate name snake_case.
    static func identifier(for name: String) -> String {
        String(decoding: name.utf8.map { byte -> UInt8 in
            if byte == UInt8(ascii: "-") { return UInt8(ascii: "_") }
            return byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
        }, as: UTF8.self)
    }

    /// The library file: `lib` + identifier + `.so`.
    static func library(for name: String) -> String { "lib\(identifier(for: name)).so" }

    /// The exported entry function the manifest names: identifier + `_entry`.
    static func entrySymbol(for name: String) -> String { "\(identifier(for: name))_entry" }

    /// The Swift class: the name's parts (split at `-` and `_`) capitalised and
    /// joined, plus `Plugin` unless it ends so already (`my-plugin`: `MyPlugin`,
    /// `greeter`: `GreeterPlugin`, `plugin`: `PluginPlugin`). The suffix keeps it
    /// from clashing with a type of the SDK or the standard library (`Plugin`, `String`).
    static func typeName(for name: String) -> String {
        let camel = name.split(whereSeparator: { $0 == "-" || $0 == "_" })
            .map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined()
        return camel.hasSuffix("Plugin") && camel != "Plugin" ? camel : camel + "Plugin"
    }

    /// The file the plugin's code is in, relative to its folder.
    static func sourceFile(for name: String, language: Language) -> String {
        switch language {
        case .c: "\(name).c"
        case .swift: "\(typeName(for: name)).swift"
        case .rust: ".crate/src/lib.rs"
        }
    }

    /// The files of plugin `name`, with paths relative to its folder (`directory/name`):
    /// README.md, the manifest, the Makefile, .gitignore and the sources.
    /// - Parameters:
    ///   - name: A name ``isValidName(_:)`` accepts.
    ///   - sdkPath: The PluginSDK folder, absolute, as the Makefile's default `PLUGHOST_SDK`.
    ///   - directory: The plugins folder as the user named it, for the commands in the README.
    static func files(name: String, language: Language, sdkPath: String, directory: String = "plugins")
        -> [(path: String, contents: String, executable: Bool)]
    {
        precondition(isValidName(name), "invalid plugin name '\(name)'")
        let folder = directory == "/" ? "/" + name : directory + "/" + name
        let values = [
            "NAME": name,
            "IDENT": identifier(for: name),
            "LIBRARY": library(for: name),
            "SYMBOL": entrySymbol(for: name),
            "TYPE": typeName(for: name),
            "SDK": sdkPath,
            "DIR": shellWord(directory),
            "FOLDER": shellWord(folder),
            "LANG": language.rawValue,
            "LANGUAGE": language.displayName,
            "TAB": "\t",
        ]
        func file(_ path: String, _ template: String) -> (path: String, contents: String, executable: Bool) {
            (path, render(template, values), false)
        }
        let readmeFiles: String
        let makefile: String
        let gitignore: String
        let sources: [(path: String, contents: String, executable: Bool)]
        switch language {
        case .c:
            readmeFiles = readmeFilesC
            makefile = makefileC
            gitignore = gitignoreNative
            sources = [file(sourceFile(for: name, language: .c), sourceC)]
        case .swift:
            readmeFiles = readmeFilesSwift
            makefile = makefileSwift
            gitignore = gitignoreNative
            sources = [file(sourceFile(for: name, language: .swift), sourceSwift)]
        case .rust:
            readmeFiles = readmeFilesRust
            makefile = makefileRust
            gitignore = gitignoreRust
            sources = [file(".crate/Cargo.toml", cargoToml), file(".crate/src/lib.rs", rustLib)]
        }
        return [
            file("README.md", [readmeHead, readmeFiles, readmeTail].joined(separator: "\n\n")),
            file("\(name).toml", manifest),
            file("Makefile", makefile),
            file(".gitignore", gitignore),
        ] + sources
    }

    /// `template` with each `@@TOKEN@@` replaced by its value, and a final newline.
    static func render(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        for (index, piece) in template.split(separator: "@@", omittingEmptySubsequences: false).enumerated() {
            if index % 2 == 0 {
                out += piece
            } else {
                guard let value = values[String(piece)] else { preconditionFailure("template token @@\(piece)@@ has no value") }
                out += value
            }
        }
        return out + "\n"
    }

    /// `text` as one shell word: as it is when it holds only characters no shell
    /// treats specially, else in single quotes.
    static func shellWord(_ text: String) -> String {
        let plain = !text.isEmpty && text.utf8.allSatisfy { byte in
            isLetter(byte) || (byte >= 0x30 && byte <= 0x39) || "/._-+,:@%=".utf8.contains(byte) || byte >= 0x80
        }
        if plain { return text }
        var quoted = "'"
        for character in text {
            quoted += character == "'" ? "'\\''" : String(character)
        }
        return quoted + "'"
    }

    // MARK: - Templates shared by every language

    /// README.md, first part: build, check, load and reload; what the plugin does.
    static let readmeHead = #"""
    # @@NAME@@: a plughost plugin in @@LANGUAGE@@

    - Build: `make -C @@FOLDER@@` (writes `@@LIBRARY@@` beside the manifest `@@NAME@@.toml`)
    - Check: `plughost check @@FOLDER@@` (loads it as the host would, without serving)
    - Load: add `"@@NAME@@"` to `enabled` under `[host]` in the host config, then serve the folder it is in: `plughost serve --plugins @@DIR@@ --config plughost.toml`
    - Reload after each build: `plughost reload` (or `kill -HUP $(cat plughost.pid)`); the running host swaps in the new library while it keeps serving

    ```toml
    # plughost.toml (keep it outside the plugins folder: every *.toml there is read as a manifest)
    [host]
    enabled = ["@@NAME@@"]   # with your other plugins, in priority order

    [plugin.@@NAME@@]
    greeting = "Hello"       # optional
    ```

    Written by `plughost new @@NAME@@ --lang @@LANG@@`.

    ## What it does

    `GET /@@NAME@@/hello` answers JSON:

        {"plugin":"@@NAME@@","message":"Hello from @@NAME@@!","requests_seen":3,"hellos":1}

    - `requests_seen`: the `plughost.request-received` events its subscriber counted (every
      request the host served since the instance was created, this one included).
    - `hellos`: calls of this endpoint.

    `greeting` in `[plugin.@@NAME@@]` is optional: a string of 1 to 64 bytes without
    control characters. Any other key is refused when the host loads the config
    (`plughost check @@FOLDER@@ --config plughost.toml` shows it beforehand).

    The plugin declares `PH_PLUGIN_THREAD_SAFE` (its two counters are atomics) and
    `PH_PLUGIN_NEVER_BLOCKS` (nothing in it waits): the host calls it from its connection
    threads, concurrently. Drop the second flag before adding anything that blocks.
    """#

    /// README.md, last part: where to read more.
    static let readmeTail = #"""
    ## Read more

    - `@@SDK@@/include/plughost/plugin.h` and `http.h`: the ABI, the only contract
      between host and plugin; each rule is written next to its declaration.
    - `docs/REFERENCE.md` in the plughost repository: what the host does at each step
      (lifecycle and event order, config keys, messages, errors and what to change).
    - `@@SDK@@/README.md`: what else the SDK holds (the Swift layer, plugin.mk).

    The host refuses plugin files and folders that other users can write (`plughost new`
    writes them 0644 and 0755; `make` installs the library writable by its owner only).
    """#

    /// NAME.toml: the manifest.
    static let manifest = #"""
    # Manifest of the plughost plugin @@NAME@@ (written by `plughost new`).
    # The host reads every *.toml file in a plugin's folder as a manifest like this.
    [plugin]
    name = "@@NAME@@"
    version = "0.1.0"

    # ALIAS = "LIBRARY:SYMBOL". The alias names the plugin in the host config
    # ([host] enabled, [plugin.@@NAME@@]), in logs and in /_plughost/plugins; the
    # library is relative to this file; the symbol is its exported entry function.
    [entry-points."plughost.plugins"]
    @@NAME@@ = "@@LIBRARY@@:@@SYMBOL@@"
    """#

    /// .gitignore of a C or Swift plugin.
    static let gitignoreNative = #"""
    # Build output of the plughost plugin @@NAME@@ (`make` makes them again).
    *.so
    *.tmp
    *.sig
    # The Swift SDK archive plugin.mk builds for a Swift plugin
    .build/
    """#

    // MARK: - C

    /// README.md, the files of a C plugin.
    static let readmeFilesC = #"""
    ## Files

    - `@@NAME@@.c`: the plugin: its descriptor, parse_config, create and destroy, the subscriber, the endpoint.
    - `@@NAME@@.toml`: its manifest, alias `@@NAME@@ = "@@LIBRARY@@:@@SYMBOL@@"`.
    - `Makefile`: builds `@@LIBRARY@@` with PluginSDK's `plugin.mk` (`PLUGHOST_SDK` names the SDK folder).
    - `@@LIBRARY@@`: built by make, not committed (`.gitignore`).
    """#

    /// Makefile of a C plugin.
    static let makefileC = #"""
    # Builds the plughost plugin @@NAME@@: `make` in this folder, or `make -C @@FOLDER@@`.
    #
    # PLUGHOST_SDK is the PluginSDK folder (include/plughost/*.h and plugin.mk) of the
    # plughost that wrote this file; elsewhere run `make PLUGHOST_SDK=/path/to/PluginSDK`.
    # plugin.mk compiles to a temporary name, makes the library writable by its owner
    # only and renames it into place, so a running host never sees half a library.
    # With PLUGHOST_SIGNING_KEY=KEYFILE (from `plughost keygen`) it signs it too.
    PLUGHOST_SDK ?= @@SDK@@

    # The first rule is the default goal: a plain `make` builds the plugin.
    all: @@LIBRARY@@

    ifeq ($(wildcard $(PLUGHOST_SDK)/plugin.mk),)
    $(error no plugin.mk in PLUGHOST_SDK=$(PLUGHOST_SDK): run make PLUGHOST_SDK=/path/to/PluginSDK)
    endif
    include $(PLUGHOST_SDK)/plugin.mk

    @@LIBRARY@@: @@NAME@@.c $(PH_SDK_HEADER)
    @@TAB@@$(PH_BUILD_C_PLUGIN)

    clean:
    @@TAB@@rm -f @@LIBRARY@@ @@LIBRARY@@.tmp @@LIBRARY@@.sig

    .PHONY: all clean
    """#

    /// NAME.c.
    static let sourceC = #"""
    /*
     * @@NAME@@ — a plughost plugin in C, generated by `plughost new`.
     *
     *   GET /@@NAME@@/hello   answers JSON:
     *       {"plugin":"@@NAME@@","message":"Hello from @@NAME@@!","requests_seen":N,"hellos":M}
     *
     * - `requests_seen` counts the host's `plughost.request-received` events: every
     *   HTTP request the host served since this instance was created, this one
     *   included (the host publishes the event before it runs the endpoint).
     * - `hellos` counts the calls of the endpoint.
     *
     * Config (`[plugin.@@NAME@@]` in the host config), checked by parse_config:
     *   greeting = "Hello"   optional string, 1 to 64 bytes, no control characters;
     *                        any other key is refused.
     *
     * The whole contract between host and plugin is PluginSDK/include/plughost/plugin.h
     * (lifecycle, events, config) and http.h (endpoints); every rule is written next to
     * its declaration there. docs/REFERENCE.md has what the host does at each step, and
     * PluginSDK/README.md what else the SDK holds.
     */
    #include <plughost/http.h>

    #include <stdatomic.h>
    #include <stdlib.h>
    #include <string.h>

    /* The greeting when the config sets none, and the longest one accepted. */
    #define DEFAULT_GREETING "Hello"
    #define MAX_GREETING 64

    /* One instance, made by create and freed by destroy. The endpoint handler and
     * the event callback may run on any thread at once (the plugin declares
     * PH_PLUGIN_THREAD_SAFE below): after create, only the two atomics change. */
    typedef struct {
        const ph_host_t *host;      /* valid until destroy */
        const ph_http_t *http;      /* the host's HTTP extension, valid until destroy */
        char greeting[MAX_GREETING + 1];
        atomic_uint_least64_t requests_seen;
        atomic_uint_least64_t hellos;
    } instance_t;

    /* ------------------------------------------------------------------------ */
    /* Config                                                                   */
    /* ------------------------------------------------------------------------ */

    /* Reads `greeting` into `out` (the default when absent). Writes the reason into
     * `error` and returns PH_ERR_INVALID when it is not an acceptable string. */
    static ph_status_t read_greeting(const ph_config_t *config, char out[MAX_GREETING + 1], ph_message_t *error) {
        const char *value = NULL;
        size_t length = 0;
        ph_status_t status = config->get_string(config, "greeting", &value, &length);
        if (status == PH_ERR_NOT_FOUND) {
            memcpy(out, DEFAULT_GREETING, sizeof DEFAULT_GREETING);
            return PH_OK;
        }
        if (status == PH_ERR_TYPE) {
            ph_message_printf(error, "key 'greeting' must be a string, e.g. greeting = \"Hello\"");
            return PH_ERR_INVALID;
        }
        if (status != PH_OK) {
            ph_message_printf(error, "key 'greeting' could not be read (status %d)", (int)status);
            return PH_ERR_INVALID;
        }
        /* A config string is exactly `length` bytes: a TOML "\u0000" puts a NUL inside. */
        if (length == 0 || length > MAX_GREETING) {
            ph_message_printf(error, "key 'greeting' must be 1 to %d bytes, found %zu", MAX_GREETING, length);
            return PH_ERR_INVALID;
        }
        for (size_t i = 0; i < length; i++) {
            unsigned char byte = (unsigned char)value[i];
            if (byte < 0x20 || byte == 0x7f) {
                ph_message_printf(error, "key 'greeting' must not contain control characters (a NUL, a newline, ...)");
                return PH_ERR_INVALID;
            }
        }
        memcpy(out, value, length);
        out[length] = 0;
        return PH_OK;
    }

    /* [control] Validates `[plugin.@@NAME@@]` before anything starts. A plugin with a
     * parse_config refuses unknown keys itself (without one, the host refuses every
     * key). Keys are dotted paths: a table `[plugin.@@NAME@@.limits]` arrives as
     * "limits.max", an array as "names.0", "names.1". */
    static ph_status_t plugin_parse_config(const ph_plugin_t *plugin, const ph_config_t *config, ph_message_t *error) {
        (void)plugin;
        for (size_t i = 0; i < config->key_count; i++) {
            const char *key = config->key_at(config, i);
            if (key != NULL && strcmp(key, "greeting") != 0) {
                ph_message_printf(error, "unknown key '%s' (known: greeting)", key);
                return PH_ERR_INVALID;
            }
        }
        char greeting[MAX_GREETING + 1];
        return read_greeting(config, greeting, error);
    }

    /* ------------------------------------------------------------------------ */
    /* The event subscriber and the endpoint                                    */
    /* ------------------------------------------------------------------------ */

    /* Called for every `plughost.request-received` (payload "METHOD PATH", valid
     * only during the call). Any thread, possibly concurrently; never blocks. */
    static void on_request_received(void *user_data, const ph_event_t *event) {
        (void)event;
        instance_t *self = user_data;
        atomic_fetch_add_explicit(&self->requests_seen, 1, memory_order_relaxed);
    }

    /* Writes `text` as a JSON string literal, quotes included, into `out` (room for
     * `capacity` bytes, NUL included). Returns its length, or 0 when it does not fit. */
    static size_t json_string(char *out, size_t capacity, const char *text) {
        size_t length = 0;
        if (capacity < 3) return 0;
        out[length++] = '"';
        for (const unsigned char *c = (const unsigned char *)text; *c != 0; c++) {
            char piece[8];
            size_t count = 1;
            if (*c == '"' || *c == '\\') {
                piece[0] = '\\';
                piece[1] = (char)*c;
                count = 2;
            } else if (*c < 0x20) {
                count = (size_t)snprintf(piece, sizeof piece, "\\u%04x", *c);
            } else {
                piece[0] = (char)*c;
            }
            if (length + count + 2 > capacity) return 0;  /* room for the closing quote and the NUL */
            memcpy(out + length, piece, count);
            length += count;
        }
        out[length++] = '"';
        out[length] = 0;
        return length;
    }

    /* [request] GET /@@NAME@@/hello. Any thread, possibly concurrently. The request
     * and every string an accessor returns are valid only until this returns. A
     * non-zero status answers 500 with the message in `error`: to answer 4xx, set
     * status and body and return PH_OK. */
    static ph_status_t hello(void *user_data, ph_http_request_t *request, ph_message_t *error) {
        instance_t *self = user_data;
        const ph_http_t *http = self->http;
        uint64_t hellos = atomic_fetch_add_explicit(&self->hellos, 1, memory_order_relaxed) + 1;
        uint64_t seen = atomic_load_explicit(&self->requests_seen, memory_order_relaxed);

        char message[256], alias_json[256], message_json[512], body[1024];
        snprintf(message, sizeof message, "%s from %s!", self->greeting, self->host->alias);
        if (json_string(alias_json, sizeof alias_json, self->host->alias) == 0 ||
            json_string(message_json, sizeof message_json, message) == 0) {
            ph_message_printf(error, "alias or greeting too long for the response");
            return PH_ERR_FAILED;
        }
        int length = snprintf(body, sizeof body, "{\"plugin\":%s,\"message\":%s,\"requests_seen\":%llu,\"hellos\":%llu}",
                              alias_json, message_json, (unsigned long long)seen, (unsigned long long)hellos);
        if (length < 0 || (size_t)length >= sizeof body) {
            ph_message_printf(error, "response too long");
            return PH_ERR_FAILED;
        }

        /* The host copies what set_header and set_body get. */
        if (http->set_header(request, "Content-Type", "application/json") != PH_OK ||
            http->set_body(request, body, (size_t)length) != PH_OK) {
            ph_message_printf(error, "could not write the response");
            return PH_ERR_FAILED;
        }
        return PH_OK;
    }

    /* ------------------------------------------------------------------------ */
    /* Lifecycle                                                                */
    /* ------------------------------------------------------------------------ */

    /* [control] Makes an instance. Subscriptions and endpoints can be registered
     * only here (they are [create] functions). A failed create is never destroyed:
     * free what it made. */
    static ph_status_t plugin_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
        (void)plugin;
        const ph_http_t *http = host->get_extension(host, PH_EXT_HTTP);
        if (http == NULL) {
            ph_message_printf(error, "this host serves no HTTP");
            return PH_ERR_UNSUPPORTED;
        }
        instance_t *self = calloc(1, sizeof *self);
        if (self == NULL) {
            ph_message_printf(error, "out of memory");
            return PH_ERR_FAILED;
        }
        self->host = host;
        self->http = http;
        atomic_init(&self->requests_seen, 0);
        atomic_init(&self->hellos, 0);
        /* host->config is the table parse_config accepted. */
        ph_status_t status = read_greeting(host->config, self->greeting, error);
        if (status != PH_OK) {
            free(self);
            return status;
        }

        /* The host copies the endpoint struct (and its strings) at registration;
         * user_data must stay valid until destroy. */
        const ph_endpoint_t endpoint = {
            .struct_size = sizeof(ph_endpoint_t), .method = "GET", .path = "/@@NAME@@/hello",
            .handler = hello, .user_data = self,
        };
        status = http->register_endpoint(host, &endpoint, error);
        if (status != PH_OK) {  /* the host wrote the reason into `error` */
            free(self);
            return status;
        }
        status = host->subscribe(host, PH_EVENT_REQUEST_RECEIVED, PH_PRIORITY_DEFAULT, on_request_received, self);
        if (status != PH_OK) {
            ph_message_printf(error, "could not subscribe to plughost.request-received (status %d)", (int)status);
            free(self);
            return status;
        }
        char line[MAX_GREETING + 64];
        snprintf(line, sizeof line, "greeting is '%s'; serving GET /@@NAME@@/hello", self->greeting);
        host->log(host, PH_LOG_INFO, line);
        *instance = self;
        return PH_OK;
    }

    /* [control] Frees the instance; nothing of it is called afterwards. */
    static void plugin_destroy(void *instance) {
        free(instance);
    }

    /* ------------------------------------------------------------------------ */
    /* The descriptor and the entry function the manifest names                */
    /* ------------------------------------------------------------------------ */

    /* Static: the host reads it for as long as the library is loaded.
     * PH_PLUGIN_THREAD_SAFE: the host may call in from several threads at once.
     * PH_PLUGIN_NEVER_BLOCKS: no call sleeps or waits, so the host runs the endpoint
     * and the callback inline on its connection threads. Drop it before adding
     * anything that blocks (a file read, a lock held for long, a network call).
     * A reload (after `make`, `plughost reload`) creates a new instance, so the
     * counters start again from 0; `save_state` and `restore_state` (plugin.h,
     * ABI 1.1) would hand them over. */
    static const ph_plugin_t descriptor = {
        .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
        .flags = PH_PLUGIN_THREAD_SAFE | PH_PLUGIN_NEVER_BLOCKS,
        .id = "com.example.@@NAME@@", .version = "0.1.0",
        .description = "GET /@@NAME@@/hello answers JSON with a request counter",
        .parse_config = plugin_parse_config, .create = plugin_create, .destroy = plugin_destroy,
    };

    /* The entry (`@@NAME@@ = "@@LIBRARY@@:@@SYMBOL@@"` in @@NAME@@.toml): the only
     * exported symbol (-fvisibility=hidden, PH_EXPORT). It must not have side
     * effects: `plughost check` calls it too. A host of the same major speaks every
     * member used here, whatever its minor. */
    PH_EXPORT const ph_plugin_t *@@SYMBOL@@(uint32_t host_abi_major, uint32_t host_abi_minor) {
        (void)host_abi_minor;
        return host_abi_major == PH_ABI_MAJOR ? &descriptor : NULL;
    }
    """#

    // MARK: - Swift

    /// README.md, the files of a Swift plugin.
    static let readmeFilesSwift = #"""
    ## Files

    - `@@TYPE@@.swift`: the plugin, a class conforming to PluginSDK's `Plugin`, exported by the C function `@@SYMBOL@@` (`@_cdecl`).
    - `@@NAME@@.toml`: its manifest, alias `@@NAME@@ = "@@LIBRARY@@:@@SYMBOL@@"`.
    - `Makefile`: builds `@@LIBRARY@@` (Swift module `@@IDENT@@`) with PluginSDK's `plugin.mk`, which first compiles the SDK's Swift layer once into a static archive (`PLUGHOST_SDK` names the SDK folder).
    - `@@LIBRARY@@`: built by make, not committed (`.gitignore`).
    """#

    /// Makefile of a Swift plugin: the plugin is the first rule, so a plain `make` builds it (and the SDK archive it needs).
    static let makefileSwift = #"""
    # Builds the plughost plugin @@NAME@@: `make` in this folder, or `make -C @@FOLDER@@`.
    #
    # PLUGHOST_SDK is the PluginSDK folder (include/plughost/*.h, Swift/ and plugin.mk)
    # of the plughost that wrote this file; elsewhere run `make PLUGHOST_SDK=/path/to/PluginSDK`.
    # plugin.mk compiles the SDK's Swift layer once into a static archive,
    # $(PH_SWIFT_SDK), that every Swift plugin links; then this plugin, to a
    # temporary name, made writable by its owner only and renamed into place, so a
    # running host never sees half a library. With PLUGHOST_SIGNING_KEY=KEYFILE
    # (from `plughost keygen`) it signs it too.
    PLUGHOST_SDK ?= @@SDK@@

    # The first rule is the default goal: a plain `make` builds the plugin (and the
    # SDK archive it needs), not only the archive.
    all: @@LIBRARY@@

    ifeq ($(wildcard $(PLUGHOST_SDK)/plugin.mk),)
    $(error no plugin.mk in PLUGHOST_SDK=$(PLUGHOST_SDK): run make PLUGHOST_SDK=/path/to/PluginSDK)
    endif
    include $(PLUGHOST_SDK)/plugin.mk

    # The module is named after the library (lib@@IDENT@@.so: @@IDENT@@).
    @@LIBRARY@@: @@TYPE@@.swift $(PH_SWIFT_SDK)
    @@TAB@@$(PH_BUILD_SWIFT_PLUGIN)

    clean:
    @@TAB@@rm -f @@LIBRARY@@ @@LIBRARY@@.tmp @@LIBRARY@@.sig

    .PHONY: all clean
    """#

    /// TYPE.swift.
    static let sourceSwift = #"""
    // @@NAME@@ — a plughost plugin in Swift, generated by `plughost new`.
    //
    //   GET /@@NAME@@/hello   answers JSON:
    //       {"plugin":"@@NAME@@","message":"Hello from @@NAME@@!","requests_seen":N,"hellos":M}
    //
    // - `requests_seen` counts the host's `plughost.request-received` events: every
    //   HTTP request the host served since this instance was created, this one
    //   included (the host publishes the event before it runs the endpoint).
    // - `hellos` counts the calls of the endpoint.
    //
    // Config (`[plugin.@@NAME@@]` in the host config), checked by validate(config:):
    //   greeting = "Hello"   optional string, 1 to 64 bytes, no control characters;
    //                        any other key is refused.
    //
    // PluginSDK turns this class into the C ABI of PluginSDK/include/plughost/plugin.h
    // and http.h (no Swift type crosses into the host); read the `Plugin` protocol in
    // PluginSDK/Swift/Plugin.swift and PluginSDK/Swift/PluginSDK.docc/WritingAPlugin.md.
    // docs/REFERENCE.md has what the host does at each step, PluginSDK/README.md what
    // else the SDK holds.

    import PluginSDK
    import Synchronization

    final class @@TYPE@@: Plugin {
        // The descriptor's facts. isThreadSafe: the host may call in from several
        // threads at once (only the atomics below change after init). neverBlocks
        // (PH_PLUGIN_NEVER_BLOCKS): no call sleeps or waits, so the host runs the
        // endpoint and the subscriber inline on its connection threads; set it to
        // false before adding anything that blocks (file or network I/O, a long lock).
        // A reload (after `make`, `plughost reload`) creates a new instance, so the
        // counters start again from 0; saveState() and restoreState(_:from:) would hand them over.
        static let info = PluginInfo(
            id: "com.example.@@NAME@@", version: "0.1.0",
            description: "GET /@@NAME@@/hello answers JSON with a request counter",
            isThreadSafe: true, neverBlocks: true)

        /// The greeting when the config sets none, and the longest one accepted (in bytes).
        static let defaultGreeting = "Hello"
        static let maxGreeting = 64

        /// Validates `[plugin.@@NAME@@]` before anything starts (the ABI's parse_config);
        /// throwing refuses the config with the error's text. Keys are dotted paths: a
        /// table `[plugin.@@NAME@@.limits]` arrives as "limits.max", an array as "names.0".
        static func validate(config: PluginConfig) throws {
            for key in config.keys where key != "greeting" {
                throw PluginFailure("unknown key '\(key)' (known: greeting)")
            }
            _ = try greeting(in: config)
        }

        /// The config's `greeting`, checked; the default when absent.
        static func greeting(in config: PluginConfig) throws -> String {
            let value: String?
            do {
                value = try config.string("greeting")
            } catch {
                throw PluginFailure("key 'greeting' must be a string, e.g. greeting = \"Hello\"")
            }
            guard let greeting = value else { return defaultGreeting }
            guard (1...maxGreeting).contains(greeting.utf8.count) else {
                throw PluginFailure("key 'greeting' must be 1 to \(maxGreeting) bytes, found \(greeting.utf8.count)")
            }
            guard !greeting.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw PluginFailure("key 'greeting' must not contain control characters (a NUL, a newline, ...)")
            }
            return greeting
        }

        private let host: PluginHost
        private let greeting: String
        private let requestsSeen = Atomic<Int>(0)
        private let hellos = Atomic<Int>(0)

        /// Creates the instance (the ABI's create). Subscriptions and endpoints can be
        /// registered only here; the handlers stay registered until the instance is released.
        init(host: PluginHost) throws {
            self.host = host
            self.greeting = try Self.greeting(in: host.config)
            guard let http = host.http else { throw PluginFailure("this host serves no HTTP") }

            // Any thread, possibly concurrently; the event (payload "METHOD PATH") is valid only during the call.
            try host.subscribe(to: "plughost.request-received") { [unowned self] _ in
                self.requestsSeen.add(1, ordering: .relaxed)
            }
            // Any thread, possibly concurrently; the exchange is valid only during the call.
            // Throwing answers 500 with the error's text; to answer 4xx, set `status` and the body.
            try http.endpoint("GET", "/@@NAME@@/hello") { [unowned self] exchange in
                self.hello(exchange)
            }
            host.log(.info, "greeting is '\(greeting)'; serving GET /@@NAME@@/hello")
        }

        private func hello(_ exchange: HTTPExchange) {
            let hellos = self.hellos.add(1, ordering: .relaxed).newValue
            let seen = requestsSeen.load(ordering: .relaxed)
            let message = "\(greeting) from \(host.alias)!"
            exchange.setHeader("Content-Type", "application/json")
            exchange.setBody("{\"plugin\":\(Self.json(host.alias)),\"message\":\(Self.json(message)),"
                + "\"requests_seen\":\(seen),\"hellos\":\(hellos)}")
        }

        /// `text` as a JSON string literal, quotes included.
        static func json(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
    }

    /// The entry (`@@NAME@@ = "@@LIBRARY@@:@@SYMBOL@@"` in @@NAME@@.toml): a C function
    /// returning the descriptor PluginSDK builds. It must not have side effects:
    /// `plughost check` calls it too.
    @_cdecl("@@SYMBOL@@")
    public func pluginEntry(_ hostABIMajor: UInt32, _ hostABIMinor: UInt32) -> UnsafeRawPointer? {
        exportPlugin(@@TYPE@@.self, hostABIMajor: hostABIMajor)
    }
    """#

    // MARK: - Rust

    /// README.md, the files of a Rust plugin.
    static let readmeFilesRust = #"""
    ## Files

    - `.crate/Cargo.toml`: the crate (a `cdylib`, no dependencies, `panic = "abort"`).
    - `.crate/src/abi.rs`: the SDK's hand-written `#[repr(C)]` bindings to plugin.h and http.h (PluginSDK/rust/abi.rs, with layout asserts), copied here by make (not committed).
    - `.crate/src/lib.rs`: the plugin: its descriptor, parse_config, create and destroy, the subscriber, the endpoint.
    - `@@NAME@@.toml`: its manifest, alias `@@NAME@@ = "@@LIBRARY@@:@@SYMBOL@@"`.
    - `Makefile`: runs cargo (`make CARGO=...`, `make CARGO_FLAGS=` to allow the network) and installs `@@LIBRARY@@` the way PluginSDK's `plugin.mk` installs C and Swift plugins.
    - `@@LIBRARY@@`: built by make, not committed (`.gitignore`); cargo builds in `target/`.

    The crate is in `.crate/`, a folder whose name starts with '.', because the host reads
    every `*.toml` in a plugin's folder, and in the folders right below it except those, as a
    plugin manifest: a `Cargo.toml` there would be refused.
    """#

    /// Makefile of a Rust plugin: cargo, then the install plugin.mk does for C and Swift.
    static let makefileRust = #"""
    # Builds the plughost plugin @@NAME@@: `make` in this folder, or `make -C @@FOLDER@@`.
    #
    # cargo builds the crate in .crate/ (in target/); the library is then installed
    # the way PluginSDK/plugin.mk installs C and Swift plugins: copied to a temporary
    # name, made writable by its owner only, signed when PLUGHOST_SIGNING_KEY=KEYFILE
    # is set (a key from `plughost keygen`), and renamed into place, so a running
    # host never sees half a library.
    #
    # PLUGHOST_SDK is the PluginSDK folder of the plughost that wrote this file (its
    # plugin.mk, and the Rust bindings rust/abi.rs, copied to .crate/src/abi.rs); elsewhere run
    # `make PLUGHOST_SDK=/path/to/PluginSDK`.
    PLUGHOST_SDK ?= @@SDK@@
    CARGO ?= cargo
    # The crate has no dependencies, so it builds without network. Once you add some,
    # fetch them first (cargo fetch --manifest-path .crate/Cargo.toml) or run `make CARGO_FLAGS=`.
    CARGO_FLAGS ?= --offline

    # The first rule is the default goal: a plain `make` builds the plugin.
    all: @@LIBRARY@@

    ifeq ($(wildcard $(PLUGHOST_SDK)/plugin.mk),)
    $(error no plugin.mk in PLUGHOST_SDK=$(PLUGHOST_SDK): run make PLUGHOST_SDK=/path/to/PluginSDK)
    endif
    include $(PLUGHOST_SDK)/plugin.mk

    CRATE_SOURCES := .crate/Cargo.toml $(wildcard .crate/Cargo.lock) $(shell find .crate/src -name '*.rs') .crate/src/abi.rs

    # The bindings come with the SDK, like plugin.h does for C: a newer SDK brings newer ones.
    .crate/src/abi.rs: $(PLUGHOST_SDK)/rust/abi.rs
    @@TAB@@@cp $< $@.tmp && mv $@.tmp $@

    @@LIBRARY@@: $(CRATE_SOURCES)
    @@TAB@@@$(CARGO) build --release --quiet $(CARGO_FLAGS) --manifest-path .crate/Cargo.toml --target-dir target \
    @@TAB@@  && cp target/release/@@LIBRARY@@ $@.tmp && chmod go-w $@.tmp $(PH_SIGN) && mv $@.tmp $@ && echo "  built $@"

    clean:
    @@TAB@@rm -f @@LIBRARY@@ @@LIBRARY@@.tmp @@LIBRARY@@.sig .crate/src/abi.rs
    @@TAB@@rm -rf target

    .PHONY: all clean
    """#

    /// .gitignore of a Rust plugin.
    static let gitignoreRust = #"""
    # Build output of the plughost plugin @@NAME@@ (`make` makes them again).
    *.so
    *.tmp
    *.sig
    target/
    # Copied from the SDK by make
    .crate/src/abi.rs
    """#

    /// .crate/Cargo.toml. The crate is in a folder whose name starts with '.': the host reads every *.toml in a plugin folder and in the folders below it (but those) as a manifest.
    static let cargoToml = #"""
    # The Rust crate of the plughost plugin @@NAME@@, built by ../Makefile (`make`):
    #   cargo build --release --offline --manifest-path .crate/Cargo.toml --target-dir target
    # then target/release/@@LIBRARY@@ is installed beside @@NAME@@.toml.
    #
    # It lives in .crate/ on purpose: the host reads every *.toml file in a plugin's
    # folder, and in each folder below it whose name does not start with '.', as a
    # plugin manifest, and would refuse this one ("unknown top-level key 'package'").

    [package]
    name = "@@IDENT@@"
    version = "0.1.0"
    edition = "2021"
    # c"..." literals and offset_of! (1.77), extern "C" functions that abort instead of unwinding (1.81).
    rust-version = "1.81"
    publish = false

    [lib]
    # A C-ABI shared library: target/release/lib@@IDENT@@.so.
    name = "@@IDENT@@"
    crate-type = ["cdylib"]
    path = "src/lib.rs"

    [dependencies]
    # None: the bindings to plugin.h and http.h are hand-written (the SDK's rust/abi.rs, copied to src/abi.rs by make).

    # A panic must never unwind into the host's C frames: abort the process instead
    # (plughost's workers and crash journal deal with a plugin that takes its process down).
    [profile.release]
    panic = "abort"
    # The prebuilt std carries megabytes of debug info; drop it, keep the symbol table.
    strip = "debuginfo"

    [profile.dev]
    panic = "abort"
    """#

    /// .crate/src/lib.rs.
    static let rustLib = #"""
    //! @@NAME@@ — a plughost plugin in Rust, generated by `plughost new`. It is written
    //! against the C ABI alone (bindings in abi.rs), with no crates.
    //!
    //!   GET /@@NAME@@/hello   answers JSON:
    //!       {"plugin":"@@NAME@@","message":"Hello from @@NAME@@!","requests_seen":N,"hellos":M}
    //!
    //! - `requests_seen` counts the host's `plughost.request-received` events: every HTTP
    //!   request the host served since this instance was created, this one included (the
    //!   host publishes the event before it runs the endpoint);
    //! - `hellos` counts the calls of the endpoint.
    //!
    //! Config (`[plugin.@@NAME@@]` in the host config), checked by `parse_config`:
    //!   greeting = "Hello"   optional string, 1 to 64 bytes, no control characters;
    //!                        any other key is refused.
    //!
    //! The contract is PluginSDK/include/plughost/plugin.h (lifecycle, events, config) and
    //! http.h (endpoints): every rule is written next to its declaration there.
    //! docs/REFERENCE.md has what the host does at each step, PluginSDK/README.md what else
    //! the SDK holds, and plugins/hello-rust/README.md (in the plughost repository) how
    //! the bindings map the C types.
    //!
    //! Every function the host calls is an `extern "C"` function, and a panic must never
    //! unwind into the host: the crate is built with `panic = "abort"` (Cargo.toml), and
    //! since Rust 1.81 a panic reaching an `extern "C"` boundary aborts anyway. The code
    //! avoids panicking paths: failures become a `ph_status_t` and a message.

    #![deny(unsafe_op_in_unsafe_fn)]

    mod abi;

    use abi::*;
    use core::ffi::{c_char, c_void, CStr};
    use core::fmt::Write as _;
    use core::mem::{offset_of, size_of};
    use core::ptr;
    use core::sync::atomic::{AtomicU64, Ordering};
    use std::ffi::CString;

    /// The endpoint's path.
    const PATH: &CStr = c"/@@NAME@@/hello";
    /// The greeting when the config sets none.
    const DEFAULT_GREETING: &str = "Hello";
    /// Longest `greeting` accepted, in bytes.
    const MAX_GREETING: usize = 64;

    // ---------------------------------------------------------------------------
    // The descriptor and the entry function the manifest names
    // ---------------------------------------------------------------------------

    /// The descriptor holds raw pointers, which are not `Sync`; it is immutable static
    /// data that the host only reads, so sharing it between threads is sound.
    #[repr(transparent)]
    struct Descriptor(ph_plugin_t);
    // SAFETY: never mutated; every pointer in it points at static data or code.
    unsafe impl Sync for Descriptor {}

    /// Static: the host reads it for as long as the library is loaded.
    /// PH_PLUGIN_THREAD_SAFE: the host may call in from several threads at once (after
    /// `create` only the instance's atomics change). PH_PLUGIN_NEVER_BLOCKS: no call
    /// sleeps or waits, so the host runs the endpoint and the subscriber inline on its
    /// connection threads; drop it before adding anything that blocks (file or network
    /// I/O, a lock held for long). A reload (after `make`, `plughost reload`) creates a new
    /// instance, so the counters start again from 0; `save_state` and `restore_state`
    /// (plugin.h, ABI 1.1) would hand them over.
    static DESCRIPTOR: Descriptor = Descriptor(ph_plugin_t {
        abi_major: PH_ABI_MAJOR,
        abi_minor: PH_ABI_MINOR,
        struct_size: size_of::<ph_plugin_t>() as u32,
        flags: PH_PLUGIN_THREAD_SAFE | PH_PLUGIN_NEVER_BLOCKS,
        id: c"com.example.@@NAME@@".as_ptr(),
        version: c"0.1.0".as_ptr(),
        description: c"GET /@@NAME@@/hello answers JSON with a request counter".as_ptr(),
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

    /// The entry (`@@NAME@@ = "@@LIBRARY@@:@@SYMBOL@@"` in @@NAME@@.toml), the only symbol a
    /// cdylib exports. No side effects: `plughost check` calls it too. A host of the same
    /// major speaks every member used here, whatever its minor.
    #[no_mangle]
    pub extern "C" fn @@SYMBOL@@(host_abi_major: u32, _host_abi_minor: u32) -> *const ph_plugin_t {
        if host_abi_major == PH_ABI_MAJOR {
            &DESCRIPTOR.0
        } else {
            ptr::null()
        }
    }

    // The entry has exactly the type plugin.h's ph_entry_fn names.
    const _: ph_entry_fn = @@SYMBOL@@;

    // ---------------------------------------------------------------------------
    // Small helpers over the C types
    // ---------------------------------------------------------------------------

    /// Writes `text` into a host-owned message buffer, truncated to fit (at a character
    /// boundary) and NUL-terminated: plugin.h's `ph_message_copy`, a `static inline` C
    /// function that Rust cannot call.
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

    /// The validated `greeting` of `config`, or the message to refuse the config with.
    fn greeting_from(config: &ph_config_t) -> Result<String, String> {
        let Some(get_string) = config.get_string else { return Err("the host's config lacks get_string".to_owned()) };
        let mut value: *const c_char = ptr::null();
        let mut length: usize = 0;
        // SAFETY: the host's function, called with the config it belongs to and valid out-pointers.
        let bytes: &[u8] = match unsafe { get_string(config, c"greeting".as_ptr(), &mut value, &mut length) } {
            PH_OK if value.is_null() || length == 0 => &[],
            // SAFETY: host-owned, exactly `length` bytes (a TOML "\u0000" puts a NUL inside),
            // valid as long as the config.
            PH_OK => unsafe { core::slice::from_raw_parts(value.cast::<u8>(), length) },
            PH_ERR_NOT_FOUND => return Ok(DEFAULT_GREETING.to_owned()),
            PH_ERR_TYPE => return Err("key 'greeting' must be a string, e.g. greeting = \"Hello\"".to_owned()),
            status => return Err(format!("key 'greeting' could not be read (status {status})")),
        };
        let text = core::str::from_utf8(bytes).map_err(|_| "key 'greeting' must be UTF-8".to_owned())?;
        if text.is_empty() || text.len() > MAX_GREETING {
            return Err(format!("key 'greeting' must be 1 to {MAX_GREETING} bytes, found {}", text.len()));
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
    // The instance and the lifecycle
    // ---------------------------------------------------------------------------

    /// One plugin instance, shared by the endpoint handler and the event callback, which
    /// the host may call on any thread at once: after `create` only the atomics change.
    struct Instance {
        /// The host's HTTP extension; valid until destroy.
        http: *const ph_http_t,
        /// This instance's alias (copied).
        alias: String,
        /// From the config (copied).
        greeting: String,
        /// `plughost.request-received` events seen.
        requests_seen: AtomicU64,
        /// Calls of GET /@@NAME@@/hello.
        hellos: AtomicU64,
    }

    /// [control] Validates `[plugin.@@NAME@@]` before anything starts. A plugin with a
    /// parse_config refuses unknown keys itself (without one, the host refuses every key).
    /// Keys are dotted paths: a table `[plugin.@@NAME@@.limits]` arrives as "limits.max",
    /// an array as "names.0", "names.1".
    unsafe extern "C" fn parse_config(
        _plugin: *const ph_plugin_t,
        config: *const ph_config_t,
        error: *mut ph_message_t,
    ) -> ph_status_t {
        // SAFETY: the host passes its config view, valid during this call.
        let Some(config) = (unsafe { config.as_ref() }) else { return PH_OK };
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

    /// [control] Makes an instance. Subscriptions and endpoints can be registered only
    /// here (they are [create] functions). A failed create is never destroyed: free what
    /// it made.
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
        // host_api.config is the table parse_config accepted, valid until destroy.
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
            String::from("@@NAME@@")
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

        // The host copies the struct (and its method and path) at registration;
        // user_data must stay valid until destroy.
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

    /// [control] Frees the instance; nothing of it is called afterwards.
    unsafe extern "C" fn destroy(instance: *mut c_void) {
        if !instance.is_null() {
            // SAFETY: the pointer create made with Box::into_raw, handed back once.
            drop(unsafe { Box::from_raw(instance.cast::<Instance>()) });
        }
    }

    // ---------------------------------------------------------------------------
    // The event subscriber and the endpoint
    // ---------------------------------------------------------------------------

    /// Called for every `plughost.request-received` (payload "METHOD PATH", valid only
    /// during the call). Any thread, possibly concurrently; never blocks.
    unsafe extern "C" fn on_request_received(user_data: *mut c_void, _event: *const ph_event_t) {
        // SAFETY: the instance subscribed with itself; it lives until destroy.
        let me = unsafe { &*user_data.cast::<Instance>() };
        me.requests_seen.fetch_add(1, Ordering::Relaxed);
    }

    /// [request] GET /@@NAME@@/hello. Any thread, possibly concurrently. The request and
    /// every value an accessor returns are valid only until this returns. A non-zero
    /// status answers 500 with the message in `error`: to answer 4xx, set status and body
    /// and return PH_OK.
    unsafe extern "C" fn hello(user_data: *mut c_void, request: *mut ph_http_request_t, error: *mut ph_message_t) -> ph_status_t {
        // SAFETY: the instance registered itself as user_data; it lives until destroy.
        let me = unsafe { &*user_data.cast::<Instance>() };
        // SAFETY: checked in create (the members used are present), valid until destroy.
        let http = unsafe { &*me.http };
        let (Some(set_header), Some(set_body)) = (http.set_header, http.set_body) else {
            // SAFETY: `error` is the host's message buffer for this call.
            unsafe { write_message(error, "the host's HTTP extension lacks set_header/set_body") };
            return PH_ERR_UNSUPPORTED;
        };
        let hellos = me.hellos.fetch_add(1, Ordering::Relaxed) + 1;
        let requests_seen = me.requests_seen.load(Ordering::Relaxed);
        let message = format!("{} from {}!", me.greeting, me.alias);
        let body = format!(
            "{{\"plugin\":{},\"message\":{},\"requests_seen\":{requests_seen},\"hellos\":{hellos}}}",
            json_string(&me.alias),
            json_string(&message)
        );

        // SAFETY: the host's accessors with the request it lent us; the header strings are
        // NUL-terminated statics, and the host copies the header and the body.
        let results = unsafe {
            [
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
    """#
}
