/// What the runtime needs to know of a shared library before `dlopen`:
/// that it is an ELF shared object for this machine, and which libraries it needs.
///
/// Checking this first turns "random bytes named .so" or an empty file into a
/// clear message, and tells Swift plugins (which need `libswiftCore.so`) from
/// C plugins: Swift images must never be unloaded.
struct ELFImage {
    /// The `DT_NEEDED` entries, e.g. `libswiftCore.so`.
    let neededLibraries: [String]

    /// Whether the library links the Swift runtime (and so must never be `dlclose`d).
    var needsSwiftRuntime: Bool {
        neededLibraries.contains { $0.hasPrefix("libswiftCore") }
    }

    /// Why a file is not a loadable shared library.
    struct Problem: Error, CustomStringConvertible {
        /// The reason in words.
        let description: String
    }

    #if arch(x86_64)
    private static let hostMachine: UInt16 = 62  // EM_X86_64
    #elseif arch(arm64)
    private static let hostMachine: UInt16 = 183  // EM_AARCH64
    #else
    private static let hostMachine: UInt16 = 0
    #endif

    /// Reads and checks the ELF headers of the file at `path`.
    static func inspect(path: String) throws(Problem) -> ELFImage {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path)
        } catch {
            throw Problem(description: "cannot read: \(error)")
        }
        return try inspect(bytes: bytes)
    }

    /// Checks ELF headers held in memory.
    static func inspect(bytes: [UInt8]) throws(Problem) -> ELFImage {
        guard !bytes.isEmpty else { throw Problem(description: "file is empty") }
        guard bytes.count >= 64, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw Problem(description: "not an ELF file (no ELF magic number)")
        }
        guard bytes[4] == 2, bytes[5] == 1 else {
            throw Problem(description: "not a 64-bit little-endian ELF file")
        }
        let reader = Reader(bytes: bytes)
        let truncated = Problem(description: "ELF headers point past the end of the file (corrupt or truncated)")
        guard reader.u16(16) == 3 else { throw Problem(description: "ELF file is not a shared object (ET_DYN)") }
        let machine = reader.u16(18)
        guard hostMachine == 0 || machine == hostMachine else {
            throw Problem(description: "built for \(Self.machineName(machine)), this host is \(Self.machineName(hostMachine)): rebuild the plugin for this machine")
        }
        // Every offset and size below comes from the file: convert and add only with checks.
        let phentsize = Int(reader.u16(54))
        let phnum = Int(reader.u16(56))
        guard phentsize >= 56, let phoff = reader.offset(reader.u64(32), length: phentsize * phnum), phoff > 0 else {
            throw Problem(description: "ELF program headers are missing or truncated")
        }

        var loads: [(vaddr: UInt64, offset: UInt64, size: UInt64)] = []
        var dynamic: (offset: Int, size: Int)?
        for index in 0..<phnum {
            let base = phoff + index * phentsize
            let type = reader.u32(base)
            if type == 1 {  // PT_LOAD
                loads.append((reader.u64(base + 16), reader.u64(base + 8), reader.u64(base + 32)))
            } else if type == 2 {  // PT_DYNAMIC
                let size = reader.u64(base + 32)
                guard size <= UInt64(bytes.count), let offset = reader.offset(reader.u64(base + 8), length: Int(size)) else { throw truncated }
                dynamic = (offset, Int(size))
            }
        }
        guard let dynamic else { throw Problem(description: "ELF file has no dynamic section") }

        var neededOffsets: [UInt64] = []
        var stringTableAddress: UInt64?
        var cursor = dynamic.offset
        while cursor + 16 <= dynamic.offset + dynamic.size {
            let tag = reader.u64(cursor)
            let value = reader.u64(cursor + 8)
            if tag == 0 { break }  // DT_NULL
            if tag == 1 { neededOffsets.append(value) }  // DT_NEEDED
            if tag == 5 { stringTableAddress = value }  // DT_STRTAB
            cursor += 16
        }
        guard let stringTableAddress,
              let segment = loads.first(where: { stringTableAddress >= $0.vaddr && stringTableAddress - $0.vaddr < $0.size }),
              case let (fileOffset, overflow) = (stringTableAddress - segment.vaddr).addingReportingOverflow(segment.offset), !overflow,
              let stringTable = reader.offset(fileOffset, length: 0)
        else {
            throw Problem(description: "ELF dynamic string table not found")
        }
        let needed = neededOffsets.compactMap { offset -> String? in
            guard offset < UInt64(bytes.count) else { return nil }
            return reader.cString(at: stringTable + Int(offset))
        }
        return ELFImage(neededLibraries: needed)
    }

    private struct Reader {
        let bytes: [UInt8]

        func u16(_ offset: Int) -> UInt16 {
            UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
        }

        func u32(_ offset: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
        }

        func u64(_ offset: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        }

        /// `value` as an offset into the file with `length` bytes after it, or nil when they do not fit.
        func offset(_ value: UInt64, length: Int) -> Int? {
            guard value <= UInt64(bytes.count), Int(value) + length <= bytes.count else { return nil }
            return Int(value)
        }

        func cString(at offset: Int) -> String? {
            guard offset >= 0, offset < bytes.count else { return nil }
            guard let end = bytes[offset...].firstIndex(of: 0) else { return nil }
            return String(decoding: bytes[offset..<end], as: UTF8.self)
        }
    }
}

extension ELFImage {
    /// An ELF `e_machine` as people name it ("x86-64 (ELF machine 62)").
    static func machineName(_ machine: UInt16) -> String {
        let names: [UInt16: String] = [3: "x86", 40: "ARM", 62: "x86-64", 183: "AArch64", 243: "RISC-V", 21: "PowerPC64", 22: "S/390"]
        return names[machine].map { "\($0) (ELF machine \(machine))" } ?? "ELF machine \(machine)"
    }
}
