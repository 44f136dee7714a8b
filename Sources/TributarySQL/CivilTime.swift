import Foundation

/// Calendar arithmetic for dialects that send dates as counts (PostgreSQL's binary
/// format); proleptic Gregorian, no time zones, exact to the microsecond.
public enum CivilTime {
    /// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static let daysFrom1970To2000: Int64 = 10_957

    public static func date(daysSince2000 days: Int64) -> String {
        let (y, m, d) = civil(fromDays: days + daysFrom1970To2000)
        return String(format: "%04lld-%02lld-%02lld", y, m, d)
    }

    public static func datetime(microsecondsSince2000 micros: Int64) -> String {
        let perDay: Int64 = 86_400_000_000
        var days = micros / perDay
        var rest = micros % perDay
        if rest < 0 { rest += perDay; days -= 1 }
        return date(daysSince2000: days) + " " + time(microseconds: rest)
    }

    /// `HH:MM:SS` with `.ffffff` trimmed of trailing zeros when there is a fraction.
    public static func time(microseconds: Int64) -> String {
        let seconds = microseconds / 1_000_000
        var text = String(format: "%02lld:%02lld:%02lld", seconds / 3600, (seconds / 60) % 60, seconds % 60)
        let fraction = microseconds % 1_000_000
        if fraction != 0 {
            var digits = String(format: "%06lld", fraction)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text
    }
}
