import Foundation
import TributarySQL

/// Wall-clock time as the canonical datetime text Tributary stores (UTC, microseconds).
public enum Clock {
    public static func nowText(_ date: Date = Date()) -> String {
        let unixMicros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        return CivilTime.datetime(microsecondsSince2000: unixMicros - 946_684_800_000_000)
    }
}
