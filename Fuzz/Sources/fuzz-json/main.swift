@_spi(Fuzzing) import PluginHTTPExtension

/// libFuzzer's entry: one input through the `json` target (see `HTTPFuzzEntryPoints`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    HTTPFuzzEntryPoints.fuzz("json", data, count)
}
