import Foundation
@_spi(Fuzzing) @testable import PluginRuntime
@_spi(Fuzzing) import PluginHTTPExtension
import PluginTestSupport
import Testing

/// The fuzz targets' seeds and the inputs the fuzzers found, run in-process
/// through the same `FuzzEntryPoints` that `make fuzz` drives, so that every
/// `make test` exercises them without libFuzzer.
@Suite("Fuzzing: corpus replay and regressions")
struct FuzzRegressionTests {
    static let corpus = Fixtures.repositoryRoot + "/Fuzz/Corpus"

    static func target(_ name: String) -> FuzzEntryPoints.Target {
        HTTPFuzzEntryPoints.allTargets.first { $0.name == name }!
    }

    @Test("Fuzz/Corpus has one folder per fuzz target, no more, no fewer")
    func corpusFolders() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).filter { !$0.hasPrefix(".") }
        #expect(Set(folders) == Set(HTTPFuzzEntryPoints.allTargets.map(\.name)))
    }

    @Test("Every seed runs through its target without a crash or a broken invariant",
          arguments: HTTPFuzzEntryPoints.allTargets.map(\.name))
    func replay(name: String) throws {
        let folder = Self.corpus + "/" + name
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted()
        #expect(!files.isEmpty, "no seeds in \(folder)")
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + file)))
            let problem = Self.target(name).run(bytes)
            #expect(problem == nil, "Fuzz/Corpus/\(name)/\(file): \(problem ?? "")")
        }
    }

    @Test("The ELF seeds are real shared objects, so the elf target starts past the header checks")
    func elfSeedsAreSharedObjects() throws {
        func image(_ name: String) throws -> ELFImage {
            try ELFImage.inspect(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/elf/" + name))))
        }
        let noop = try image("noop.elf")
        #expect(noop.neededLibraries.contains("libc.so.6") && !noop.needsSwiftRuntime)
        #expect(try image("swift-needed.elf").needsSwiftRuntime)
    }
}
