@_spi(Fuzzing) import PluginRuntime

/// libFuzzer's entry: one input through the `route` target (see `FuzzEntryPoints`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    FuzzEntryPoints.fuzz("route", data, count)
}
