@_spi(Fuzzing) import PluginHTTPExtension

/// libFuzzer's entry: one input through the `typedvalue` target (see `HTTPFuzzEntryPoints`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    HTTPFuzzEntryPoints.fuzz("typedvalue", data, count)
}
