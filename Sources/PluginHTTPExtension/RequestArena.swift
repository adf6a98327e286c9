#if canImport(Glibc)
import Glibc
#endif

/// Bytes handed to plugins during one request: a bump allocator over malloc'd
/// chunks, all freed together when the request ends.
///
/// Every span an accessor returns (`path_param`, `query`, `header`, `body`, …)
/// lives here, so an accessor call costs a copy into memory the request already
/// has instead of a `malloc` each, and nothing handed out moves or is freed
/// before the request is answered.
struct RequestArena: ~Copyable {
    /// Size of an ordinary chunk; larger requests get a chunk of their own.
    private static let chunkSize = 1024

    private var chunk: UnsafeMutableRawPointer?
    private var used = 0
    private var capacity = 0
    /// Every chunk allocated so far, the current one included.
    private var chunks: [UnsafeMutableRawPointer] = []

    init() {}

    deinit { chunks.forEach { free($0) } }

    /// `count` uninitialised bytes, 8-byte aligned, valid until the arena is gone.
    mutating func allocate(_ count: Int) -> UnsafeMutableRawPointer {
        let size = max((count + 7) & ~7, 8)
        if size > Self.chunkSize / 2 {
            let own = malloc(size)!
            chunks.append(own)
            return own
        }
        if chunk == nil || used + size > capacity {
            let fresh = malloc(Self.chunkSize)!
            chunks.append(fresh)
            chunk = fresh
            used = 0
            capacity = Self.chunkSize
        }
        let result = chunk! + used
        used += size
        return result
    }

    /// A copy of exactly `bytes` plus one uncounted NUL, so C readers may use it
    /// as a string while the length still describes exactly the bytes given.
    mutating func copy(_ bytes: UnsafeRawBufferPointer) -> ByteSpan {
        let memory = allocate(bytes.count + 1)
        if let base = bytes.baseAddress { memory.copyMemory(from: base, byteCount: bytes.count) }
        memory.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
        return ByteSpan(base: UnsafePointer(memory.assumingMemoryBound(to: UInt8.self)), count: bytes.count)
    }

    /// A copy of `text`'s UTF-8 bytes plus one uncounted NUL.
    mutating func copy(_ text: String) -> ByteSpan {
        var text = text
        return text.withUTF8 { copy(UnsafeRawBufferPointer($0)) }
    }

    /// `bytes` percent-decoded (see ``PercentDecoding``) plus one uncounted NUL.
    mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>, plusIsSpace: Bool) -> ByteSpan {
        // Decoding never makes the text longer.
        let memory = allocate(bytes.count + 1).bindMemory(to: UInt8.self, capacity: bytes.count + 1)
        let count = PercentDecoding.decode(bytes, plusIsSpace: plusIsSpace, into: memory)
        memory[count] = 0
        return ByteSpan(base: UnsafePointer(memory), count: count)
    }
}

/// Bytes in request storage: a pointer and an exact length, followed in memory
/// by one NUL that the length does not count.
struct ByteSpan {
    /// The first byte.
    let base: UnsafePointer<UInt8>
    /// Number of bytes, not counting the trailing NUL.
    let count: Int

    /// The bytes as a buffer.
    var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// The span as the ABI hands out strings.
    var cString: UnsafePointer<CChar> { UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self) }

    /// Whether the bytes equal `other`'s.
    func equals(_ other: UnsafeBufferPointer<UInt8>) -> Bool {
        count == other.count && (count == 0 || memcmp(base, other.baseAddress!, count) == 0)
    }
}
