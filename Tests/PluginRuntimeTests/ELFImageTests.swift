@testable import PluginRuntime
import Testing

@Suite("ELF headers of a would-be plugin")
struct ELFImageTests {
    /// A 64-bit little-endian ELF header of a shared object for this machine, with `patch` applied.
    private func header(_ patch: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 256)
        bytes[0...5] = [0x7F, 0x45, 0x4C, 0x46, 2, 1]
        bytes[16] = 3  // ET_DYN
        #if arch(x86_64)
        bytes[18] = 62
        #elseif arch(arm64)
        bytes[18] = 183
        #endif
        bytes[54] = 56  // e_phentsize
        patch(&bytes)
        return bytes
    }

    private func store(_ value: UInt64, at offset: Int, in bytes: inout [UInt8]) {
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }

    @Test("a program header offset beyond Int.max is refused")
    func hugeProgramHeaderOffset() {
        let bytes = header { bytes in
            for index in 32..<40 { bytes[index] = 0xFF }
            bytes[56] = 1
        }
        #expect(throws: ELFImage.Problem.self) { try ELFImage.inspect(bytes: bytes) }
    }

    @Test("program headers past the end of the file are refused")
    func truncatedProgramHeaders() {
        let bytes = header { bytes in
            bytes[32] = 64
            bytes[56] = 0xFF
            bytes[57] = 0xFF
        }
        #expect(throws: ELFImage.Problem.self) { try ELFImage.inspect(bytes: bytes) }
    }

    @Test("a dynamic section whose offset and size overflow is refused")
    func overflowingDynamicSection() {
        let bytes = header { bytes in
            bytes[32] = 64  // e_phoff
            bytes[56] = 1  // e_phnum
            bytes[64] = 2  // PT_DYNAMIC
            store(UInt64.max - 8, at: 64 + 8, in: &bytes)  // p_offset
            store(64, at: 64 + 32, in: &bytes)  // p_filesz
        }
        #expect(throws: ELFImage.Problem.self) { try ELFImage.inspect(bytes: bytes) }
    }

    @Test("a segment whose address range overflows, and a needed-library name past the file, are survived")
    func overflowingStringTable() throws {
        let bytes = header { bytes in
            bytes[32] = 64
            bytes[56] = 2
            // PT_LOAD covering a huge range, so vaddr + size overflows.
            bytes[64] = 1
            store(UInt64.max - 4, at: 64 + 16, in: &bytes)  // p_vaddr
            store(UInt64.max, at: 64 + 32, in: &bytes)  // p_filesz
            // PT_DYNAMIC at 184 with DT_STRTAB = UInt64.max - 2 and a DT_NEEDED.
            bytes[120] = 2
            store(184, at: 120 + 8, in: &bytes)
            store(48, at: 120 + 32, in: &bytes)
            store(1, at: 184, in: &bytes)
            store(UInt64.max, at: 192, in: &bytes)
            store(5, at: 200, in: &bytes)
            store(UInt64.max - 2, at: 208, in: &bytes)
        }
        // Before the checks this trapped on `vaddr + size`; now the bogus name is simply not read.
        #expect(try ELFImage.inspect(bytes: bytes).neededLibraries.isEmpty)
    }
}
