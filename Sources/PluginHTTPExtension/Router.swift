#if canImport(Glibc)
import Glibc
#endif

/// Finds a route from a request's method and path bytes: one tree of path
/// segments per method, as Hummingbird's trie router does, walked over the
/// path's UTF-8 without making a `String` or an array.
///
/// - Empty segments are ignored (`//a`, `/a//b` and `/a/` are `/a` and `/a/b`,
///   as nginx's `merge_slashes`), by the match and the 405 check alike.
/// - A literal segment is tried before a capture at the same depth, and the walk
///   backs up when the literal leads nowhere: `/users/me` wins over `/users/:id`,
///   and of `/a/:x/c` and `/a/b/:y`, the path `/a/b/c` goes to `/a/b/:y`
///   (the more specific segment further left wins), whatever the registration order.
/// - Captures are not decoded here: a route knows which segments it captures,
///   and the request decodes them when they are read.
final class Router<Target: AnyObject>: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; the flat tables are freed in deinit,
    // when no request can be matching any more.

    /// What a request's method and path lead to.
    enum Match {
        /// The route serving them.
        case found(Target)
        /// Routes serve the path, with these other methods only (in registration order).
        case methodNotAllowed([String])
        /// Nothing serves the path.
        case notFound
    }

    /// One segment position in a method's tree, as the walk reads it: plain
    /// integers into the flat tables, so matching touches no reference count.
    struct Node {
        /// The node's literal children: `literals[firstLiteral ..< firstLiteral + literalCount]`.
        var firstLiteral: Int32 = 0
        var literalCount: Int32 = 0
        /// The child for any segment (a `:name` capture), or -1.
        var capture: Int32 = -1
        /// Index into `targets` of the route that ends here, or -1.
        var target: Int32 = -1
    }

    /// A literal child: its segment's bytes in `bytes`, and the node it leads to.
    struct Literal {
        var offset: Int32
        var length: Int32
        var child: Int32
    }

    private let nodes: UnsafeMutableBufferPointer<Node>
    private let literals: UnsafeMutableBufferPointer<Literal>
    private let bytes: UnsafeMutableBufferPointer<UInt8>
    private let targets: ContiguousArray<Target>
    /// Method trees (root node index) in the order their methods were first registered.
    private let methods: [(method: String, root: Int32)]
    /// The most segments any route has; longer paths match nothing.
    private let depth: Int

    /// Builds the trees; `routes` must not hold two of the same method and shape
    /// (the endpoint table resolves conflicts first; a later duplicate is ignored).
    init(_ routes: [(method: String, pattern: PathPattern, target: Target)]) {
        let builder = TreeBuilder()
        var methods: [(method: String, root: Int)] = []
        var targets = ContiguousArray<Target>()
        var depth = 0
        for (method, pattern, target) in routes {
            var node: Int
            if let existing = methods.first(where: { $0.method == method }) {
                node = existing.root
            } else {
                node = builder.newNode()
                methods.append((method, node))
            }
            for segment in pattern.segments {
                switch segment {
                case .literal(let text): node = builder.literalChild(of: node, Array(text.utf8))
                case .capture: node = builder.captureChild(of: node)
                }
            }
            if builder.targets[node] == nil {
                builder.targets[node] = targets.count
                targets.append(target)
            }
            depth = max(depth, pattern.segments.count)
        }
        // Flatten: each node's literal children stored together.
        let nodeCount = builder.literalChildren.count
        nodes = .allocate(capacity: max(nodeCount, 1))
        let literalCount = builder.literalChildren.reduce(0) { $0 + $1.count }
        literals = .allocate(capacity: max(literalCount, 1))
        bytes = .allocate(capacity: max(builder.literalChildren.reduce(0) { $0 + $1.reduce(0) { $0 + $1.bytes.count } }, 1))
        var nextLiteral = 0
        var nextByte = 0
        for index in 0..<nodeCount {
            let node = Node(firstLiteral: Int32(nextLiteral), literalCount: Int32(builder.literalChildren[index].count),
                            capture: Int32(builder.captureChildren[index] ?? -1), target: Int32(builder.targets[index] ?? -1))
            for (segment, child) in builder.literalChildren[index] {
                _ = UnsafeMutableBufferPointer(rebasing: bytes[nextByte..<(nextByte + segment.count)]).initialize(from: segment)
                literals.initializeElement(at: nextLiteral, to: Literal(offset: Int32(nextByte), length: Int32(segment.count), child: Int32(child)))
                nextLiteral += 1
                nextByte += segment.count
            }
            nodes.initializeElement(at: index, to: node)
        }
        self.targets = targets
        self.methods = methods.map { ($0.method, Int32($0.root)) }
        self.depth = depth
    }

    deinit {
        nodes.deallocate()
        literals.deallocate()
        bytes.deallocate()
    }

    /// The route for `method` and `path` (the path without its query, not decoded).
    func match(method: String, path: String) -> Match {
        let root = rootIndex(of: method)
        let match = { (bytes: UnsafeBufferPointer<UInt8>) -> Match in
            PathSegments.withSegments(of: bytes, atMost: self.depth) { segments in
                guard let segments else { return .notFound }
                if root >= 0 {
                    let target = self.walk(root, segments, bytes, 0)
                    if target >= 0 { return .found(self.targets[Int(target)]) }
                }
                let allowed = self.methods.filter { self.walk($0.root, segments, bytes, 0) >= 0 }.map(\.method)
                return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed)
            }
        }
        // A native string's UTF-8 is read in place; any other is copied once.
        return path.utf8.withContiguousStorageIfAvailable(match) ?? Array(path.utf8).withUnsafeBufferPointer(match)
    }

    /// The root node of `method`'s tree, or -1.
    @inline(__always)
    private func rootIndex(of method: String) -> Int32 {
        for index in methods.indices where methods[index].method == method { return methods[index].root }
        return -1
    }

    /// Depth-first from node `index`: the literal child first, then the capture child.
    /// Returns an index into `targets`, or -1.
    private func walk(_ index: Int32, _ segments: UnsafeBufferPointer<Range<Int>>, _ path: UnsafeBufferPointer<UInt8>,
                      _ depth: Int) -> Int32 {
        let node = nodes[Int(index)]
        if depth == segments.count { return node.target }
        let range = segments[depth]
        let length = range.count
        var literal = Int(node.firstLiteral)
        let end = literal + Int(node.literalCount)
        while literal < end {
            let candidate = literals[literal]
            if Int(candidate.length) == length,
               memcmp(bytes.baseAddress! + Int(candidate.offset), path.baseAddress! + range.lowerBound, length) == 0 {
                let found = walk(candidate.child, segments, path, depth + 1)
                if found >= 0 { return found }
                break  // literals of one node are distinct: no other can match
            }
            literal += 1
        }
        return node.capture >= 0 ? walk(node.capture, segments, path, depth + 1) : -1
    }

    /// The tree while it is built: one entry per node in each array.
    private final class TreeBuilder {
        var literalChildren: [[(bytes: [UInt8], child: Int)]] = []
        var captureChildren: [Int?] = []
        var targets: [Int?] = []

        func newNode() -> Int {
            literalChildren.append([])
            captureChildren.append(nil)
            targets.append(nil)
            return targets.count - 1
        }

        func literalChild(of node: Int, _ segment: [UInt8]) -> Int {
            if let child = literalChildren[node].first(where: { $0.bytes == segment })?.child { return child }
            let child = newNode()
            literalChildren[node].append((segment, child))
            return child
        }

        func captureChild(of node: Int) -> Int {
            if let child = captureChildren[node] { return child }
            let child = newNode()
            captureChildren[node] = child
            return child
        }
    }
}

/// The non-empty segments of a path, as byte ranges.
enum PathSegments {
    /// Calls `body` with the ranges of `path`'s non-empty segments, or with nil
    /// when there are more than `limit` of them (no route can match).
    static func withSegments<R>(of path: UnsafeBufferPointer<UInt8>, atMost limit: Int,
                                _ body: (UnsafeBufferPointer<Range<Int>>?) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: limit + 1) { storage in
            var count = 0
            var start = 0
            while let range = next(in: path, from: &start) {
                guard count < limit else { return body(nil) }
                storage.initializeElement(at: count, to: range)
                count += 1
            }
            return body(UnsafeBufferPointer(rebasing: storage[..<count]))
        }
    }

    /// The range of non-empty segment number `position` of `path`, if it has one.
    static func segment(_ position: Int, of path: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        var start = 0
        var seen = 0
        while let range = next(in: path, from: &start) {
            if seen == position { return range }
            seen += 1
        }
        return nil
    }

    /// The next non-empty segment at or after `start`, which moves past it.
    @inline(__always)
    private static func next(in path: UnsafeBufferPointer<UInt8>, from start: inout Int) -> Range<Int>? {
        guard let base = path.baseAddress else { return nil }
        let count = path.count
        while start < count && base[start] == UInt8(ascii: "/") { start += 1 }
        guard start < count else { return nil }
        var end = start + 1
        while end < count && base[end] != UInt8(ascii: "/") { end += 1 }
        defer { start = end }
        return start..<end
    }
}
