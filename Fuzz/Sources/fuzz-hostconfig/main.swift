@_spi(Fuzzing) import PluginHTTPExtension

/// libFuzzer's entry: one input through the `hostconfig` target, with the HTTP server's
/// keys declared as `plughost` loads a config (see `HTTPFuzzEntryPoints`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    HTTPFuzzEntryPoints.fuzz("hostconfig", data, count)
}
