import CCallRecord
import CChainBaseline
import CPluginABI
import Foundation

/// What the in-flight record of plugin calls costs on the two hottest paths,
/// each as a ratio to the same work without it, measured in the same run:
/// - event dispatch to 10 subscribers: the store per subscriber and the save and
///   restore around the loop, against the same loop of direct calls without them;
/// - the wrapper chain (10 pass-through wrappers): the host's C walk against a copy
///   of it built without the record (Benchmarks/CChainBaseline).
enum CallRecordBench {
    static func run(fixtures: String) throws -> [Figure] {
        let image = dlopen(fixtures + "/libnoop.so", RTLD_NOW | RTLD_LOCAL)!
        defer { dlclose(image) }
        let tick = unsafeBitCast(dlsym(image, "noop_tick")!, to: ph_event_fn.self)
        let states = (0..<10).map { _ in UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8) }
        defer { states.forEach { $0.deallocate() } }
        let subscribers = ContiguousArray(states.map { (tick, Optional($0), ph_call_what(PH_CALL_EVENT, 1)) })
        var event = ph_event_t(struct_size: UInt32(MemoryLayout<ph_event_t>.size), id: 1, name: nil, source: nil, payload: nil, payload_length: 0)
        let iterations = 2_000_000
        var plains: [Double] = []
        var recordeds: [Double] = []
        withUnsafePointer(to: &event) { event in
            for _ in 0..<7 {
                plains.append(Measure.nanoseconds(iterations: iterations) { count in
                    for _ in 0..<count { for (function, state, _) in subscribers { function(state, event) } }
                })
                recordeds.append(Measure.nanoseconds(iterations: iterations) { count in
                    for _ in 0..<count {
                        let record = ph_call_slot()!
                        let previous = record.pointee.what
                        record.pointee.detail = 1
                        for (function, state, what) in subscribers {
                            record.pointee.what = what
                            function(state, event)
                        }
                        record.pointee.what = previous
                    }
                })
            }
        }
        var walkPlains: [Double] = []
        var walkRecordeds: [Double] = []
        for _ in 0..<7 {
            walkPlains.append(ph_bench_chain_walk(10, 0, 2_000_000))
            walkRecordeds.append(ph_bench_chain_walk(10, 1, 2_000_000))
        }
        // The fastest of each (the least disturbed); the spread is of the per-round ratio.
        let (plain, recorded) = (plains.min()!, recordeds.min()!)
        let (walkPlain, walkRecorded) = (walkPlains.min()!, walkRecordeds.min()!)
        let eventRatio = recorded / plain
        let chainRatio = walkRecorded / walkPlain
        return [
            Figure(name: "in-flight record: one event to 10 subscribers (vs the same calls without the record)", value: recorded,
                   baseline: plain, unit: "ns", target: "≤ 1.05×", met: eventRatio <= 1.05,
                   spread: .of(zip(recordeds, plains).map { $0 / $1 }, ratio: true)),
            Figure(name: "in-flight record: the wrapper chain walk, 10 wrappers (vs the walk built without it)", value: walkRecorded,
                   baseline: walkPlain, unit: "ns", target: "≤ 1.05×", met: chainRatio <= 1.05,
                   spread: .of(zip(walkRecordeds, walkPlains).map { $0 / $1 }, ratio: true)),
        ]
    }
}
