import Foundation
@testable import PluginRuntime
import PluginTestSupport
import Testing

/// Reading the crash journal (the lines are written by the C signal handler; the
/// end-to-end tests in plughostTests make real crashes).
@Suite("The crash journal's records")
struct CrashJournalTests {
    private let attributed = #"2026-11-23T23:52:31Z pid=29858 signal=SIGSEGV alias=crashy version=1.0.0 sha256=c13cc980895aec8298aed655fb95ba50801dee7584e36eb68f9dc207d62a4ccb state=loaded note="fault in crashy 1.0.0" address=0x0 pc=crashy+0x1160 frames=0x55c1,crashy+0x1160"#
    private let unattributed = #"2026-11-23T23:53:00Z pid=30000 signal=SIGILL alias=- note="not in a plugin library" address=0x7f00 pc=0x7f00 frames="#

    @Test("a line names the process, the signal, the plugin and its build; '-' is no plugin")
    func fields() throws {
        let record = try #require(CrashRecord(line: attributed))
        #expect(record.time == "2026-11-23T23:52:31Z" && record.pid == 29858 && record.signal == "SIGSEGV")
        #expect(record.alias == "crashy" && record.state == "loaded" && record.sha256?.hasPrefix("c13cc980") == true)
        let other = try #require(CrashRecord(line: unattributed))
        #expect(other.alias == nil && other.sha256 == nil && other.signal == "SIGILL")
    }

    @Test("lines that are not records are skipped: a line cut short by a dying process, text, an empty file")
    func skipsOtherLines() throws {
        let folder = PluginFolder()
        let path = folder.path + "/" + CrashJournal.fileName
        #expect(CrashJournal.records(path: path).isEmpty, "a missing journal has no records")
        folder.write(CrashJournal.fileName, attributed + "\n" + "garbage line\n" + "2026-11-23T23:5\n" + unattributed + "\n" + "2026-11-23T23:59:59Z pid=12")
        #expect(CrashJournal.records(path: path).map(\.pid) == [29858, 30000])
    }
}
