import NIOCore

/// Reads CSV as it arrives, chunk by chunk: RFC 4180 quoting (doubled quotes, delimiters and line
/// breaks inside quotes), LF or CRLF line endings, blank lines skipped. One row at a time is held.
struct BulkCSVReader {
    /// A single cell longer than this is refused (Salesforce's own cap is 131,072 characters).
    static let maxCellBytes = 4 * 1024 * 1024

    private enum State {
        case cellStart, unquoted, quoted, quoteInQuoted
    }

    let delimiter: UInt8
    private var state = State.cellStart
    private var cell: [UInt8] = []
    private var row: [String] = []
    private var skipLineFeed = false

    init(delimiter: UInt8 = UInt8(ascii: ",")) {
        self.delimiter = delimiter
    }

    /// Feeds the next bytes; `emit` gets each complete row.
    mutating func feed(_ bytes: ByteBuffer, emit: ([String]) throws -> Void) throws {
        try bytes.withUnsafeReadableBytes { raw in
            for byte in raw { try self.consume(byte, emit: emit) }
        }
    }

    /// Ends the input: the last row when it has no line ending; an open quote is an error.
    mutating func finish(emit: ([String]) throws -> Void) throws {
        switch self.state {
        case .quoted:
            throw SalesforceError.invalidResponse("the result CSV ends inside a quoted cell", httpStatus: nil)
        case .cellStart where self.row.isEmpty:
            return
        default:
            try self.endRow(emit: emit)
        }
    }

    private mutating func consume(_ byte: UInt8, emit: ([String]) throws -> Void) throws {
        if self.skipLineFeed {
            self.skipLineFeed = false
            if byte == UInt8(ascii: "\n") { return }
        }
        switch self.state {
        case .quoted:
            if byte == UInt8(ascii: "\"") { self.state = .quoteInQuoted } else { try self.append(byte) }
        case .cellStart, .unquoted, .quoteInQuoted:
            if byte == self.delimiter {
                self.endCell()
            } else if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                self.skipLineFeed = byte == UInt8(ascii: "\r")
                try self.endRow(emit: emit)
            } else if byte == UInt8(ascii: "\""), self.state == .cellStart {
                self.state = .quoted
            } else if byte == UInt8(ascii: "\""), self.state == .quoteInQuoted {
                try self.append(byte)
                self.state = .quoted
            } else {
                // A stray quote inside an unquoted cell, or text after a closing quote: kept as is.
                try self.append(byte)
                self.state = .unquoted
            }
        }
    }

    private mutating func append(_ byte: UInt8) throws {
        guard self.cell.count < Self.maxCellBytes else {
            throw SalesforceError.invalidResponse("a result CSV cell exceeds \(Self.maxCellBytes) bytes", httpStatus: nil)
        }
        self.cell.append(byte)
    }

    private mutating func endCell() {
        self.row.append(String(decoding: self.cell, as: UTF8.self))
        self.cell.removeAll(keepingCapacity: true)
        self.state = .cellStart
    }

    private mutating func endRow(emit: ([String]) throws -> Void) throws {
        let blank = self.row.isEmpty && self.cell.isEmpty && self.state == .cellStart
        self.endCell()
        let complete = self.row
        self.row.removeAll(keepingCapacity: true)
        if !blank { try emit(complete) }
    }
}

/// Turns the rows of a result CSV into ``BulkResultRow``s, finding its columns by name in the header
/// (Salesforce puts `sf__Id` and `sf__Created`/`sf__Error` first, but nothing here relies on the order).
struct BulkResultParser {
    let kind: BulkResultKind
    let keyColumn: String
    private var reader = BulkCSVReader()
    private var columns: (key: Int, id: Int?, created: Int?, error: Int?)?
    private(set) var rows: [BulkResultRow] = []

    init(kind: BulkResultKind, keyColumn: String) {
        self.kind = kind
        self.keyColumn = keyColumn
    }

    mutating func feed(_ bytes: ByteBuffer) throws {
        var reader = self.reader
        try reader.feed(bytes) { try self.take($0) }
        self.reader = reader
    }

    /// Ends the input and answers every row. An answer without even a header is no rows.
    mutating func finish() throws -> [BulkResultRow] {
        var reader = self.reader
        try reader.finish { try self.take($0) }
        self.reader = reader
        return self.rows
    }

    private mutating func take(_ cells: [String]) throws {
        guard let columns = self.columns else {
            self.columns = try self.locate(header: cells)
            return
        }
        func cell(_ index: Int?) -> String? {
            guard let index, index < cells.count else { return nil }
            return cells[index]
        }
        guard let key = cell(columns.key) else {
            throw SalesforceError.invalidResponse(
                "a \(self.kind.pathComponent) row has \(cells.count) cells, no '\(self.keyColumn)' cell", httpStatus: nil
            )
        }
        var row = BulkResultRow(key: key)
        if let id = cell(columns.id), !id.isEmpty { row.salesforceId = id }
        if let created = cell(columns.created) { row.created = created.lowercased() == "true" }
        if let error = cell(columns.error) {
            let (code, message) = Self.splitError(error)
            row.errorCode = code
            row.errorMessage = message
        }
        self.rows.append(row)
    }

    private func locate(header rawHeader: [String]) throws -> (key: Int, id: Int?, created: Int?, error: Int?) {
        var header = rawHeader
        if let first = header.first, first.hasPrefix("\u{FEFF}") { header[0] = String(first.dropFirst()) }
        func index(of name: String) -> Int? {
            header.firstIndex(of: name) ?? header.firstIndex { $0.lowercased() == name.lowercased() }
        }
        guard let key = index(of: self.keyColumn) else {
            throw SalesforceError.invalidResponse(
                "the \(self.kind.pathComponent) CSV has no '\(self.keyColumn)' column (it has \(header.prefix(8).joined(separator: ", ")))",
                httpStatus: nil
            )
        }
        switch self.kind {
        case .successful:
            return (key, index(of: "sf__Id"), index(of: "sf__Created"), nil)
        case .failed:
            return (key, index(of: "sf__Id"), nil, index(of: "sf__Error"))
        case .unprocessed:
            return (key, nil, nil, nil)
        }
    }

    /// `sf__Error` is `CODE:message`, and Salesforce usually appends the blamed fields and ` --`
    /// (`REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --`): that tail is
    /// dropped from the message. A text without a code prefix is all message, code `UNKNOWN_EXCEPTION`.
    static func splitError(_ text: String) -> (code: String, message: String) {
        var code = "UNKNOWN_EXCEPTION"
        var message = Substring(text)
        if let colon = text.firstIndex(of: ":") {
            let prefix = text[..<colon]
            if !prefix.isEmpty, prefix.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") }) {
                code = String(prefix)
                message = text[text.index(after: colon)...]
            }
        }
        if message.hasSuffix("--") {
            var body = message.dropLast(2)
            while body.last == " " { body = body.dropLast() }
            if let colon = body.lastIndex(of: ":"),
               body[body.index(after: colon)...].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "," || $0 == " ") }) {
                body = body[..<colon]
            }
            message = body
        }
        return (code, String(message))
    }
}
