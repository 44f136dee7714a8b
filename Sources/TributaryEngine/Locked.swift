import Foundation

/// A value shared between tasks, read and replaced under a lock.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func set(_ value: Value) { lock.withLock { stored = value } }
    func withLock(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
