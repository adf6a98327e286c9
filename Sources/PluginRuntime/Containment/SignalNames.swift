/// Signal names as the journal writes them.
public enum SignalNames {
    /// "SIGSEGV", "SIGKILL", …; "signal N" for others.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case 1: "SIGHUP"
        case 2: "SIGINT"
        case 4: "SIGILL"
        case 5: "SIGTRAP"
        case 6: "SIGABRT"
        case 7: "SIGBUS"
        case 8: "SIGFPE"
        case 9: "SIGKILL"
        case 11: "SIGSEGV"
        case 13: "SIGPIPE"
        case 15: "SIGTERM"
        case 31: "SIGSYS"
        default: "signal \(signal)"
        }
    }
}
