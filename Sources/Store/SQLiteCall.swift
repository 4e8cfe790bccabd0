import GRDB
import GRDBSQLite

/// One of GRDB's cached statements driven through SQLite's C API: bind by position, step, read
/// columns by index. The store's hot paths (ingest, claim, complete run a dozen statements per
/// record) spent about half of the writer's time in the general-purpose layer around
/// `sqlite3_step` (argument boxing, row copies, by-name column lookup, statement-cache hashing);
/// this does none of that. Errors are GRDB's `DatabaseError`, so callers map them as before.
struct SQLiteCall {
    let statement: Statement
    private let handle: OpaquePointer
    private let connection: OpaquePointer?

    init(_ db: Database, _ sql: String) throws {
        self.statement = try db.cachedStatement(sql: sql)
        self.handle = self.statement.sqliteStatement
        self.connection = db.sqliteConnection
    }

    /// Starts a new use: previous results and bindings are dropped.
    func reset() {
        sqlite3_reset(self.handle)
        sqlite3_clear_bindings(self.handle)
    }

    func bind(_ index: Int32, _ value: String?) {
        guard let value else {
            sqlite3_bind_null(self.handle, index)
            return
        }
        var text = value
        text.withUTF8 { bytes in
            if let base = bytes.baseAddress, bytes.count > 0 {
                _ = UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: bytes.count) { chars in
                    sqlite3_bind_text(self.handle, index, chars, Int32(bytes.count), sqliteTransient)
                }
            } else {
                sqlite3_bind_text(self.handle, index, "", 0, sqliteTransient)
            }
        }
    }

    /// UTF-8 bytes bound as text.
    func bind(_ index: Int32, text bytes: [UInt8]?) {
        guard let bytes else {
            sqlite3_bind_null(self.handle, index)
            return
        }
        bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress, raw.count > 0 {
                _ = sqlite3_bind_text(self.handle, index, base.assumingMemoryBound(to: CChar.self), Int32(raw.count), sqliteTransient)
            } else {
                sqlite3_bind_text(self.handle, index, "", 0, sqliteTransient)
            }
        }
    }

    /// Bytes bound as a blob.
    func bind(_ index: Int32, blob bytes: [UInt8]?) {
        guard let bytes else {
            sqlite3_bind_null(self.handle, index)
            return
        }
        bytes.withUnsafeBytes { raw in
            _ = sqlite3_bind_blob(self.handle, index, raw.baseAddress, Int32(raw.count), sqliteTransient)
        }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(self.handle, index, value) } else { sqlite3_bind_null(self.handle, index) }
    }

    func bind(_ index: Int32, _ value: Int?) {
        self.bind(index, value.map(Int64.init))
    }

    func bind(_ index: Int32, _ value: Double?) {
        if let value { sqlite3_bind_double(self.handle, index, value) } else { sqlite3_bind_null(self.handle, index) }
    }

    /// Steps once: true when a row is available to read, false when the statement is done.
    func step() throws -> Bool {
        switch sqlite3_step(self.handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw self.failure()
        }
    }

    /// Runs a statement that returns no rows, then resets it.
    func run() throws {
        defer { self.reset() }
        while try self.step() {}
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(self.handle, column) == SQLITE_NULL
    }

    func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(self.handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(self.handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// The column's bytes, blob or text, valid only inside `body` (nil for NULL).
    func withBytes<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer?) -> T) -> T {
        guard !self.isNull(column) else { return body(nil) }
        let start = sqlite3_column_blob(self.handle, column)
        return body(UnsafeRawBufferPointer(start: start, count: Int(sqlite3_column_bytes(self.handle, column))))
    }

    func int64(_ column: Int32) -> Int64? {
        self.isNull(column) ? nil : sqlite3_column_int64(self.handle, column)
    }

    func int(_ column: Int32) -> Int? {
        self.int64(column).map(Int.init)
    }

    func double(_ column: Int32) -> Double? {
        self.isNull(column) ? nil : sqlite3_column_double(self.handle, column)
    }

    private func failure() -> DatabaseError {
        let code = self.connection.map { sqlite3_extended_errcode($0) } ?? SQLITE_ERROR
        let message = self.connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        self.reset()
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: self.statement.sql)
    }
}

/// SQLite copies the bound bytes (the C macro `SQLITE_TRANSIENT`, which Swift does not import).
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
