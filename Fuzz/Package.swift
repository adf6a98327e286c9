// swift-tools-version: 5.4
import PackageDescription

// libFuzzer targets for plughost's parsers of hostile bytes (`make fuzz`).
//
// A package of its own so that the root package never sees `-sanitize` flags
// or fuzzer-only executables: this one is built only by `make fuzz`, with
// `-Xswiftc -sanitize=fuzzer,address` on the command line (the flags must
// reach PluginRuntime too, for coverage, and a target's own settings would
// not). Each target lives in `Sources/fuzz-NAME/` and feeds its input to
// `FuzzEntryPoints` (in PluginRuntime, `@_spi(Fuzzing)`), so the replay test
// in the main suite runs the corpus through the very same code.
//
// Tools version 5.4 on purpose: from 5.5 on, SwiftPM on Linux renames an
// executable's `main` to `<module>_main` and links `--defsym main=<module>_main`,
// which fails here (undefined symbol) because a fuzzer's `main` is libFuzzer's.

let targetNames = ["manifest", "hostconfig", "route", "typedvalue", "json", "elf"]

let package = Package(
    name: "plughost-fuzz",
    platforms: [.macOS(.v10_15)],
    dependencies: [
        .package(name: "plughost", path: ".."),
    ],
    targets: targetNames.map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: [
                .product(name: "PluginRuntime", package: "plughost"),
                .product(name: "PluginHTTPExtension", package: "plughost"),
            ],
            // libFuzzer brings `main`; the file only defines LLVMFuzzerTestOneInput,
            // so it must not be compiled as a script with top-level code. Tools
            // 5.4 cannot say Swift 6 mode, hence `-swift-version 6` here.
            swiftSettings: [.unsafeFlags(["-parse-as-library", "-swift-version", "6"])]
        )
    }
)
