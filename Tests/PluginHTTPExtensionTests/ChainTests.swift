#if canImport(Glibc)
import Glibc
#endif
import CPluginABI
import Logging
@testable import PluginHTTPExtension
import PluginRuntime
import Testing

/// The C chain walk behind `http->call_next`, without plugins: wrappers and
/// endpoints are Swift closures with C calling conventions, around one raw
/// endpoint `GET /x`. Pins what the fixture-based WrapperTests do not reach:
/// misplaced call_next calls, failures after the endpoint answered, message
/// buffers of nested wrappers, and the plugin lock.
@Suite("The wrapper chain walk")
struct ChainTests {
    typealias Call = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, OpaquePointer?,
                                     UnsafeMutablePointer<ph_message_t>?) -> ph_status_t

    static var http: ph_http_t { HTTPExtension.table.pointee }

    private static let logger: Logger = {
        var logger = Logger(label: "chain-test")
        logger.logLevel = .critical
        return logger
    }()

    private static func owner(_ alias: String, lock: PluginLock? = nil) -> PluginOwner {
        PluginOwner(alias: alias, libraryPath: "\(alias).so", logger: logger, lock: lock)
    }

    private func wrapper(_ alias: String, _ call: Call, phase: Int32 = PH_WRAP_PRE, lock: PluginLock? = nil,
                         userData: UnsafeMutableRawPointer? = nil) -> WrapperRegistration {
        var raw = ph_wrapper_t()
        raw.struct_size = UInt32(MemoryLayout<ph_wrapper_t>.size)
        raw.phase = UInt32(phase)
        raw.user_data = userData
        raw.call = call
        return WrapperRegistration(raw: raw, name: alias, match: .all, owner: Self.owner(alias, lock: lock))
    }

    private func serve(_ wrappers: [WrapperRegistration], endpoint: ph_handler_fn = Self.answer) -> PluginHTTPResponse {
        let registration = EndpointRegistration(method: "GET", pattern: try! PathPattern.parse("/x").get(),
                                                kind: .raw(handler: endpoint, userData: nil), owner: Self.owner("ep"))
        let table = EndpointTable(endpoints: [registration], wrappers: wrappers)
        defer { table.release() }
        return table.handle(PluginHTTPRequest(method: "GET", path: "/x"))
    }

    private static func set(_ request: OpaquePointer?, _ name: String, _ value: String) {
        _ = http.set_header(request, name, value)
    }

    // MARK: Endpoints and wrappers

    private static let answer: ph_handler_fn = { _, request, _ in
        http.set_body(request, "ok", 2)
    }

    private static let nextFromEndpoint: ph_handler_fn = { _, request, _ in
        set(request, "X-Endpoint-Next", "\(http.call_next(request))")
        return http.set_body(request, "ok", 2)
    }

    private static let pass: Call = { _, _, request, _ in http.call_next(request) }

    private static let twice: Call = { _, _, request, _ in
        let first = http.call_next(request)
        let second = http.call_next(request)
        set(request, "X-Next", "\(first),\(second)")
        return first
    }

    private static let block: Call = { _, _, request, _ in
        _ = http.set_status(request, 418)
        return http.set_body(request, "blocked", 7)
    }

    /// Calls next, then records what it returned and the status the response has by then.
    private static let observe: Call = { _, _, request, _ in
        let status = http.call_next(request)
        set(request, "X-Seen", "\(status) \(http.status(request))")
        return PH_OK
    }

    private static let lateFail: Call = { _, _, request, error in
        _ = http.call_next(request)
        ph_message_copy(error, "late failure", 12)
        return PH_ERR_FAILED
    }

    private static let innerFail: Call = { _, _, _, error in
        ph_message_copy(error, "inner exploded", 14)
        return PH_ERR_FAILED
    }

    /// Writes its message before continuing, then fails.
    private static let failEarly: Call = { _, _, request, error in
        ph_message_copy(error, "written early", 13)
        _ = http.call_next(request)
        return PH_ERR_FAILED
    }

    private static let deny: Call = { _, _, request, _ in
        _ = http.set_status(request, 403)
        _ = http.set_body(request, "denied", 6)
        return PH_ERR_FAILED
    }

    private static let failQuietly: Call = { _, _, _, _ in PH_ERR_FAILED }

    /// Records whether its plugin lock (user_data) is held, as another thread finds it.
    private static let probeLock: Call = { userData, _, request, _ in
        let mutex = userData!.assumingMemoryBound(to: pthread_mutex_t.self)
        set(request, "X-Lock", ChainTests.heldElsewhere(mutex) ? "held" : "free")
        return http.call_next(request)
    }

    /// Whether another thread finds `mutex` locked (a recursive mutex always yields to its own holder).
    static func heldElsewhere(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) -> Bool {
        final class Probe { let mutex: UnsafeMutablePointer<pthread_mutex_t>; var busy = false; init(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) { self.mutex = mutex } }
        let probe = Probe(mutex)
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            let probe = Unmanaged<Probe>.fromOpaque(argument!).takeUnretainedValue()
            if pthread_mutex_trylock(probe.mutex) == 0 { pthread_mutex_unlock(probe.mutex) } else { probe.busy = true }
            return nil
        }, Unmanaged.passUnretained(probe).toOpaque())
        precondition(created == 0, "pthread_create failed")
        pthread_join(thread, nil)
        return probe.busy
    }

    private func header(_ response: PluginHTTPResponse, _ name: String) -> String? {
        response.headers.first { $0.0 == name }?.1
    }

    // MARK: Tests

    @Test("call_next answers PH_ERR_STATE when called twice, and from the endpoint")
    func callNextOnce() {
        let response = serve([wrapper("twice", Self.twice)], endpoint: Self.nextFromEndpoint)
        #expect(header(response, "X-Next") == "\(PH_OK),\(PH_ERR_STATE)")
        #expect(header(response, "X-Endpoint-Next") == "\(PH_ERR_STATE)")
        #expect(response.status == 200 && response.body == Array("ok".utf8))
        // No wrappers: the endpoint's call_next is refused all the same.
        #expect(header(serve([], endpoint: Self.nextFromEndpoint), "X-Endpoint-Next") == "\(PH_ERR_STATE)")
    }

    @Test("an outer wrapper cannot continue the chain again after an inner one answered without it")
    func noNextAfterShortCircuit() {
        let response = serve([wrapper("twice", Self.twice), wrapper("gate", Self.block)])
        #expect(header(response, "X-Next") == "\(PH_OK),\(PH_ERR_STATE)")
        #expect(response.status == 418 && response.body == Array("blocked".utf8))
    }

    @Test("a post-wrapper failing after the endpoint answered turns the response into a 500 the outer wrappers see")
    func lateFailure() {
        let response = serve([wrapper("outer", Self.observe), wrapper("late", Self.lateFail, phase: PH_WRAP_POST)])
        #expect(response.status == 500)
        #expect(response.body == Array(#"{"error":"plugin failed","plugin":"late","message":"late failure"}"#.utf8))
        #expect(header(response, "X-Seen") == "\(PH_ERR_FAILED) 500")
    }

    @Test("each wrapper has its own message buffer: one that passes an inner failure on is not blamed for it")
    func nestedMessages() {
        let response = serve([wrapper("outer", Self.pass), wrapper("inner", Self.innerFail)])
        #expect(response.status == 500)
        #expect(response.body == Array(#"{"error":"plugin failed","plugin":"inner","message":"inner exploded"}"#.utf8))
    }

    @Test("a message written before call_next survives the failures of the steps inside")
    func earlyMessage() {
        let response = serve([wrapper("early", Self.failEarly), wrapper("inner", Self.innerFail)])
        #expect(response.status == 500)
        #expect(response.body == Array(#"{"error":"plugin failed","plugin":"early","message":"written early"}"#.utf8))
    }

    @Test("a failure without a message keeps an error response the wrapper wrote; otherwise it is a 500 naming the status")
    func failureWithoutMessage() {
        let denied = serve([wrapper("guard", Self.deny)])
        #expect(denied.status == 403 && denied.body == Array("denied".utf8))
        let quiet = serve([wrapper("quiet", Self.failQuietly)])
        #expect(quiet.status == 500)
        #expect(quiet.body == Array(#"{"error":"plugin failed","plugin":"quiet","message":"status \#(PH_ERR_FAILED)"}"#.utf8))
    }

    @Test("a wrapper of a plugin that is not thread-safe runs under its plugin lock, released afterwards")
    func pluginLock() {
        let lock = PluginLock()
        let serial = serve([wrapper("serial", Self.probeLock, lock: lock, userData: UnsafeMutableRawPointer(lock.mutex))])
        #expect(header(serial, "X-Lock") == "held" && serial.body == Array("ok".utf8))
        #expect(!Self.heldElsewhere(lock.mutex))
        // A thread-safe plugin's wrapper takes no lock, and the probe tells a free mutex from a held one.
        let unused = PluginLock()
        let safe = serve([wrapper("safe", Self.probeLock, userData: UnsafeMutableRawPointer(unused.mutex))])
        #expect(header(safe, "X-Lock") == "free")
    }
}
