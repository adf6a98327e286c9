import Logging
/// Questions for the whole host's figures and listings: the supervisor asks
/// every live worker (draining ones too) and answers with the merge.
extension SupervisorStateMachine {
    /// One question under way.
    struct Collection: Sendable {
        /// The worker that asked, and its own number for the question.
        let asker: Int32
        let request: Int
        var waiting: Set<Int32>
        var received: [Int32: WorkerSnapshot] = [:]
        let deadline: Instant
    }

    /// Worker `asker` asks for the whole host (`request` is its number for the question).
    mutating func collect(for asker: Int32, request: Int, at now: Instant) -> [Action] {
        nextCollection += 1
        let id = nextCollection
        let live = Set(workerPIDs + Array(retiring.keys))
        collections[id] = Collection(asker: asker, request: request, waiting: live, deadline: now + configuration.collectTimeout)
        guard !live.isEmpty else { return answer(id) }
        return live.sorted().map { .send(.collect(request: id), to: $0) }
    }

    /// Worker `pid` answered question `id`.
    mutating func collected(_ snapshot: WorkerSnapshot, from pid: Int32, request id: Int, at now: Instant) -> [Action] {
        lastSnapshots[pid] = snapshot
        guard collections[id] != nil else { return [] }
        collections[id]!.received[pid] = snapshot
        collections[id]!.waiting.remove(pid)
        return collections[id]!.waiting.isEmpty ? answer(id) : []
    }

    /// Worker `pid` is gone: no question waits for it any more; one it asked is dropped. An answer
    /// it gave is dropped too: its figures are among the ended workers' totals now, once.
    mutating func collectionLost(_ pid: Int32, at now: Instant) -> [Action] {
        var actions: [Action] = []
        for id in collections.keys.sorted() {
            if collections[id]?.asker == pid {
                collections[id] = nil
                continue
            }
            collections[id]?.received.removeValue(forKey: pid)
            guard collections[id]?.waiting.remove(pid) != nil else { continue }
            if collections[id]!.waiting.isEmpty { actions += answer(id) }
        }
        return actions
    }

    /// Questions past their deadline are answered with what came.
    mutating func collectionsDue(at now: Instant) -> [Action] {
        collections.filter { $0.value.deadline <= now }.keys.sorted().flatMap { answer($0) }
    }

    /// A dead worker's last figures join the ended workers' totals.
    mutating func foldSnapshot(of pid: Int32) {
        guard let last = lastSnapshots.removeValue(forKey: pid) else { return }
        MetricsMerge.fold(last.metrics, into: &retiredMetrics)
    }

    /// Answers question `id`: a worker that did not answer in time counts with its last figures.
    private mutating func answer(_ id: Int) -> [Action] {
        guard let collection = collections.removeValue(forKey: id) else { return [] }
        var snapshots = collection.received
        for pid in collection.waiting { if let last = lastSnapshots[pid] { snapshots[pid] = last } }
        let metrics = MetricsMerge.merge(workers: snapshots.map { ($0.key, $0.value.metrics) }, retired: retiredMetrics,
                                         supervisor: MetricsMerge.supervisorFigures(view))
        let host = HostSnapshot(workers: snapshots.values.sorted { $0.pid < $1.pid }, metrics: metrics,
                                missing: collection.waiting.sorted())
        return [.send(.host(request: collection.request, host), to: collection.asker)]
    }
}
