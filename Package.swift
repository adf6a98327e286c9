// swift-tools-version: 6.1
import PackageDescription

// MARK: - Settings shared by every target

let swiftSettings: [SwiftSetting] = [
    // SE-0335: spell existential types `any P`.
    .enableUpcomingFeature("ExistentialAny"),
    // SE-0444: a file sees only the modules it imports itself.
    .enableUpcomingFeature("MemberImportVisibility"),
    // SE-0409: imports are internal unless declared public.
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// MARK: - Dependencies

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let httpTypes = Target.Dependency.product(name: "HTTPTypes", package: "swift-http-types")
let nioHTTPTypes = Target.Dependency.product(name: "NIOHTTPTypes", package: "swift-nio-extras")
let nioHTTPTypesHTTP1 = Target.Dependency.product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let nioExtras = Target.Dependency.product(name: "NIOExtras", package: "swift-nio-extras")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let hummingbirdCore = Target.Dependency.product(name: "HummingbirdCore", package: "hummingbird")
let hummingbirdTesting = Target.Dependency.product(name: "HummingbirdTesting", package: "hummingbird")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")

let package = Package(
    name: "plughost",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "plughost", targets: ["plughost"]),
        .executable(name: "plughost-plugin-process", targets: ["plughost-plugin-process"]),
        .library(name: "PluginRuntime", targets: ["PluginRuntime"]),
        .library(name: "PluginSDK", targets: ["PluginSDK"]),
        .library(name: "PluginHTTPExtension", targets: ["PluginHTTPExtension"]),
        .library(name: "PluginHTTP", targets: ["PluginHTTP"]),
        .library(name: "PluginSupervisor", targets: ["PluginSupervisor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0" ..< "5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // MARK: SDK: the C header and the thin Swift layer plugin authors use
        .target(
            name: "CPluginABI",
            path: "PluginSDK",
            exclude: ["Swift", "rust", "plugin.mk", "README.md"],
            sources: ["c"],
            publicHeadersPath: "include"
        ),
        .target(
            name: "PluginSDK",
            dependencies: ["CPluginABI"],
            path: "PluginSDK/Swift",
            swiftSettings: swiftSettings
        ),

        // MARK: Runtime and host
        .systemLibrary(
            name: "CFFI",
            pkgConfig: "libffi",
            providers: [.apt(["libffi-dev"])]
        ),
        // Host-side C, a target per job; plugins never see these headers.
        // Sealed in-memory files (memfd_create, sealing): shadow copies, committed builds.
        .target(name: "CMemoryFile"),
        // The in-flight record of plugin calls, in memory the supervisor reads after a worker's death.
        // Descriptor numbers kept above the ones a worker inherits.
        .target(name: "CDescriptor"),
        .target(name: "CCallRecord", dependencies: ["CDescriptor", "CPluginABI"]),
        // The crash journal's signal handler and the hang sampler.
        .target(name: "CCrashJournal", dependencies: ["CCallRecord"]),
        // The guard in front of each instance's ph_host_t.
        .target(name: "CHostGuard"),
        // Event and verdict counters in thread-local memory.
        .target(name: "CEventCounters"),
        // The host cache every worker shares: a table in shared memory under a robust lock.
        .target(name: "CSharedCache", dependencies: ["CDescriptor"]),
        // The supervisor's system calls: sockets it owns, workers it spawns, signals, descriptor passing.
        .target(name: "CProcessControl", dependencies: ["CDescriptor"]),
        // The plugin process's sandbox: rlimits, no new privileges, Landlock, a seccomp allow-list.
        .target(name: "CSandbox", exclude: ["generate_syscall_names.sh"]),
        // Isolated plugins: the worker's proxy and the plugin process, talking over Unix sockets.
        .target(
            name: "CIsolation",
            dependencies: ["CPluginABI", "CSandbox", "CFFI"],
            linkerSettings: [.linkedLibrary("ffi")]
        ),
        // The program an isolated plugin runs in.
        .executableTarget(
            name: "plughost-plugin-process",
            dependencies: ["CIsolation"],
            path: "Sources/PluginProcess"
        ),
        .target(
            name: "PluginRuntime",
            dependencies: ["CPluginABI", "CMemoryFile", "CCallRecord", "CCrashJournal", "CHostGuard", "CEventCounters", "CSharedCache", "CIsolation",
                           logging, crypto, metrics],
            swiftSettings: swiftSettings
        ),
        // The wrapper-chain walk in C, so call_next never goes through Swift.
        .target(
            name: "CPluginChain",
            dependencies: ["CPluginABI", "CCallRecord"]
        ),
        // The conformance tests of `plughost validate`: a recording host of its own, in C.
        .target(
            name: "CPluginValidator",
            dependencies: ["CPluginABI", "CFFI"]
        ),
        // The plughost.http/1 extension: endpoint table, wrapper chains, typed invoker,
        // request accessors. No Hummingbird: any HTTP server can drive it.
        .target(
            name: "PluginHTTPExtension",
            dependencies: ["PluginRuntime", "CPluginABI", "CPluginChain", "CFFI", logging, metrics, nioCore, nioPosix],
            swiftSettings: swiftSettings
        ),
        // The Hummingbird adapter on top of the extension, and the admin endpoints.
        .target(
            name: "PluginHTTP",
            dependencies: ["PluginRuntime", "PluginHTTPExtension", "CProcessControl", hummingbird, hummingbirdCore, nioCore, nioPosix, nioExtras, nioHTTPTypes,
                           nioHTTPTypesHTTP1, nioHTTP1, httpTypes, logging, serviceLifecycle, metrics, prometheus],
            // The admin page, as a file (embedded: one self-contained executable).
            resources: [.embedInCode("Resources/admin.html")],
            swiftSettings: swiftSettings
        ),
        // The process model: the supervisor's state machine and its I/O loop, the worker's
        // side of the link, reload rounds, the one message type between them. No HTTP.
        .target(
            name: "PluginSupervisor",
            dependencies: ["PluginRuntime", "CProcessControl", "CDescriptor", "CCallRecord", "CMemoryFile", logging],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "plughost",
            dependencies: ["PluginRuntime", "PluginHTTPExtension", "PluginHTTP", "PluginSupervisor", "CPluginValidator", "CProcessControl",
                           "CCrashJournal", "CCallRecord", argumentParser, logging, serviceLifecycle, unixSignals, hummingbird, metrics, prometheus],
            // `plughost new`'s templates, as files (embedded: one self-contained executable).
            resources: [.embedInCode("Templates/cargoToml.template"),
                        .embedInCode("Templates/gitignoreNative.template"),
                        .embedInCode("Templates/gitignoreRust.template"),
                        .embedInCode("Templates/makefileC.template"),
                        .embedInCode("Templates/makefileRust.template"),
                        .embedInCode("Templates/makefileSwift.template"),
                        .embedInCode("Templates/manifest.template"),
                        .embedInCode("Templates/readmeFilesC.template"),
                        .embedInCode("Templates/readmeFilesRust.template"),
                        .embedInCode("Templates/readmeFilesSwift.template"),
                        .embedInCode("Templates/readmeHead.template"),
                        .embedInCode("Templates/readmeTail.template"),
                        .embedInCode("Templates/rustLib.template"),
                        .embedInCode("Templates/sourceC.template"),
                        .embedInCode("Templates/sourceSwift.template")],
            swiftSettings: swiftSettings
        ),

        // MARK: Benchmarks (`make bench`, release build)
        .target(
            name: "CMallocCounter",
            path: "Benchmarks/CMallocCounter"
        ),
        .target(
            name: "CCorePlacement",
            path: "Benchmarks/CCorePlacement"
        ),
        // The wrapper-chain walk built a second time without the in-flight record, for its cost.
        .target(
            name: "CChainBaseline",
            dependencies: ["CPluginChain", "CCallRecord"],
            path: "Benchmarks/CChainBaseline"
        ),
        .executableTarget(
            name: "plughost-bench",
            dependencies: ["PluginRuntime", "PluginHTTPExtension", "PluginHTTP", "CPluginABI", "CFFI", "CMallocCounter", "CCorePlacement", "CChainBaseline", "CCallRecord",
                           "PluginTestSupport", "CEventCounters", "CProcessControl", logging, hummingbird, metrics, prometheus],
            path: "Benchmarks/plughost-bench",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests (they build real plugins from Tests/Fixtures)
        .target(
            name: "PluginTestSupport",
            dependencies: ["PluginRuntime"],
            path: "Tests/PluginTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PluginRuntimeTests",
            dependencies: ["PluginRuntime", "PluginHTTPExtension", "PluginTestSupport", "CPluginABI"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PluginHTTPExtensionTests",
            dependencies: ["PluginHTTPExtension", "PluginRuntime", "PluginTestSupport", "CPluginABI"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PluginHTTPTests",
            dependencies: ["PluginHTTP", "PluginHTTPExtension", "PluginRuntime", "PluginTestSupport", hummingbird, hummingbirdTesting, httpTypes, nioCore],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PluginSupervisorTests",
            dependencies: ["PluginSupervisor", "PluginRuntime", "PluginTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PluginSDKTests",
            dependencies: ["PluginSDK", "PluginHTTPExtension"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "plughostTests",
            dependencies: ["plughost", "PluginTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
