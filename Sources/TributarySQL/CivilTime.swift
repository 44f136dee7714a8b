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
        return dateText(year: y, month: m, day: d)
    }

    /// `YYYY-MM-DD`. Written digit by digit: `String(format:)` cost a few µs per value, paid for
    /// every date of every row extracted.
    public static func dateText(year: Int64, month: Int64, day: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(10)
        digits(year, 4, &out); out.append(UInt8(ascii: "-")); digits(month, 2, &out); out.append(UInt8(ascii: "-")); digits(day, 2, &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `HH:MM:SS`, then `.ffffff` trimmed of trailing zeros when there is a fraction.
    public static func timeText(hour: Int64, minute: Int64, second: Int64, microsecond: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(15)
        digits(hour, 2, &out); out.append(UInt8(ascii: ":")); digits(minute, 2, &out); out.append(UInt8(ascii: ":")); digits(second, 2, &out)
        if microsecond != 0 {
            out.append(UInt8(ascii: "."))
            digits(microsecond, 6, &out)
            while out.last == UInt8(ascii: "0") { out.removeLast() }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// At least `width` decimal digits, zero-padded.
    static func digits(_ value: Int64, _ width: Int, _ out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")); digits(-value, width, &out); return }
        var text = Array(String(value).utf8)
        if text.count < width { text.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - text.count), at: 0) }
        out.append(contentsOf: text)
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
        return timeText(hour: seconds / 3600, minute: (seconds / 60) % 60, second: seconds % 60, microsecond: microseconds % 1_000_000)
    }
}
