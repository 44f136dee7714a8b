import CMariaDB
import TributarySQL

/// One MariaDB Connector/C connection. Every call blocks, so callers run it on a
/// thread pool and never use it from two threads at once (`MySQLDatabase` holds a lock).
final class MariaDBConnection: @unchecked Sendable {
    private let handle: UnsafeMutablePointer<MYSQL>

    /// `mysql_library_init` is a C macro Swift cannot see; this is what it calls.
    private static let libraryReady: Bool = mysql_server_init(0, nil, nil) == 0

    init(_ endpoint: DatabaseURL.Endpoint) throws {
        guard Self.libraryReady, let handle = mysql_init(nil) else {
            throw DatabaseError(.connection, "cannot initialise the MariaDB client library")
        }
        self.handle = handle
        mysql_optionsv_charset(handle)
        var timeout: UInt32 = 10
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &timeout)
        // "localhost" would mean the Unix socket; a URL names a TCP endpoint.
        let host = endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host
        guard mysql_real_connect(handle, host, endpoint.user, endpoint.password, endpoint.database,
                                 UInt32(endpoint.port), nil, UInt(CLIENT_MULTI_STATEMENTS)) != nil else {
            let message = String(cString: mysql_error(handle))
            mysql_close(handle)
            throw DatabaseError(.connection, "cannot connect to MariaDB at \(host):\(endpoint.port)/\(endpoint.database): \(message)")
        }
        try runText("SET time_zone = '+00:00'")
    }

    deinit { mysql_close(handle) }

    var lastError: String { String(cString: mysql_error(handle)) }

    /// Runs text without binds through the text protocol: DDL, trigger bodies and scripts
    /// of several statements, which prepared statements cannot carry.
    @discardableResult
    func runText(_ text: String) throws -> Int {
        guard mysql_real_query(handle, text, UInt(text.utf8.count)) == 0 else {
            throw DatabaseError(.statement, "MariaDB \(mysql_errno(handle)): \(lastError)", sql: text)
        }
        var affected = 0
        while true {
            if let result = mysql_store_result(handle) {
                mysql_free_result(result)
            } else if mysql_field_count(handle) != 0 {
                throw DatabaseError(.statement, "MariaDB \(mysql_errno(handle)): \(lastError)", sql: text)
            } else {
                affected += Int(truncatingIfNeeded: mysql_affected_rows(handle))
            }
            let next = mysql_next_result(handle)
            if next > 0 { throw DatabaseError(.statement, "MariaDB \(mysql_errno(handle)): \(lastError)", sql: text) }
            if next < 0 { return affected }
        }
    }

    /// Runs one prepared statement with binds; returns the rows when it produces any.
    func run(_ text: String, _ values: [SQLValue]) throws -> (affected: Int, rows: [Row]?) {
        guard let statement = mysql_stmt_init(handle) else { throw DatabaseError(.statement, lastError, sql: text) }
        defer { mysql_stmt_close(statement) }
        func failure() -> DatabaseError {
            DatabaseError(.statement, "MariaDB \(mysql_stmt_errno(statement)): \(String(cString: mysql_stmt_error(statement)))", sql: text)
        }
        guard mysql_stmt_prepare(statement, text, UInt(text.utf8.count)) == 0 else { throw failure() }
        let parameters = MariaDBParameters(values)
        if !values.isEmpty, mysql_stmt_bind_param(statement, parameters.binds) != 0 { throw failure() }
        guard mysql_stmt_execute(statement) == 0 else { throw failure() }
        guard let metadata = mysql_stmt_result_metadata(statement) else {
            return (Int(truncatingIfNeeded: mysql_stmt_affected_rows(statement)), nil)
        }
        defer { mysql_free_result(metadata) }
        var updateMaxLength: my_bool = 1
        mysql_stmt_attr_set(statement, STMT_ATTR_UPDATE_MAX_LENGTH, &updateMaxLength)
        guard mysql_stmt_store_result(statement) == 0 else { throw failure() }
        defer { mysql_stmt_free_result(statement) }

        let count = Int(mysql_num_fields(metadata))
        let fields = UnsafeBufferPointer(start: mysql_fetch_fields(metadata), count: count)
        let results = MariaDBResultBuffers(fields: fields)
        guard mysql_stmt_bind_result(statement, results.binds) == 0 else { throw failure() }
        let columns = fields.map { String(cString: $0.name) }
        var rows: [Row] = []
        while true {
            let status = mysql_stmt_fetch(statement)
            if status == MYSQL_NO_DATA { break }
            if status != 0 && status != MYSQL_DATA_TRUNCATED { throw failure() }
            var values: [SQLValue] = []
            values.reserveCapacity(count)
            for column in 0..<count {
                values.append(try results.value(at: column, statement: statement))
            }
            rows.append(Row(columns: columns, values: values))
        }
        return (rows.count, rows)
    }
}

/// Sets utf8mb4 before connecting, so 4-byte characters survive.
private func mysql_optionsv_charset(_ handle: UnsafeMutablePointer<MYSQL>) {
    _ = "utf8mb4".withCString { mysql_options(handle, MYSQL_SET_CHARSET_NAME, $0) }
}
