import Foundation

/// The process's peak resident set (VmHWM), in KB, and a way to start measuring it afresh
/// (Linux: writing 5 to /proc/self/clear_refs resets the peak), so a phase is measured alone.
public enum PeakRSS {
    public static func kilobytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    public static func reset() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}
