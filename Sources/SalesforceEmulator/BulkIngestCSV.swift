import NIOCore

/// The column delimiters a Bulk API 2.0 job may name, by their `columnDelimiter` value.
enum BulkColumnDelimiter: String, Sendable, CaseIterable {
    case backquote = "BACKQUOTE"
    case caret = "CARET"
    case comma = "COMMA"
    case pipe = "PIPE"
    case semicolon = "SEMICOLON"
    case tab = "TAB"

    var byte: UInt8 {
        switch self {
        case .backquote: return UInt8(ascii: "`")
        case .caret: return UInt8(ascii: "^")
        case .comma: return UInt8(ascii: ",")
        case .pipe: return UInt8(ascii: "|")
        case .semicolon: return UInt8(ascii: ";")
        case .tab: return UInt8(ascii: "\t")
        }
    }
}

/// A job's `lineEnding`: what ends a row outside quotes. With `LF`, a CR is data (as in Salesforce,
/// CRLF data in an LF job leaves a CR at the end of each row's last value).
enum BulkLineEnding: String, Sendable, CaseIterable {
    case lf = "LF"
    case crlf = "CRLF"

    var bytes: [UInt8] {
        switch self {
        case .lf: return [UInt8(ascii: "\n")]
        case .crlf: return [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
        }
    }
}

/// Why an upload's CSV could not be read as a whole (the job fails with it).
struct BulkCSVFailure: Error {
    let message: String
}

/// The emulator's reading and writing of Bulk CSV (RFC 4180 with the job's delimiter and line ending).
enum BulkIngestCSV {
    /// All rows of an upload, the header first. Quoted cells may hold delimiters, quotes (doubled)
    /// and line breaks; a quote in the middle of an unquoted cell, or text after a closing quote, is refused.
    static func rows(
        _ data: ByteBuffer, delimiter: BulkColumnDelimiter, lineEnding: BulkLineEnding
    ) throws(BulkCSVFailure) -> [[String]] {
        let separator = delimiter.byte
        let crlf = lineEnding == .crlf
        let quote = UInt8(ascii: "\"")
        var rows: [[String]] = []
        var row: [String] = []
        var cell: [UInt8] = []
        var inQuotes = false
        var afterQuote = false
        var cellStarted = false
        var line = 1
        let bytes = Array(data.readableBytesView)
        var index = bytes.startIndex
        // UTF-8 byte order mark, as spreadsheets write it.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index += 3 }

        func endCell() {
            row.append(String(decoding: cell, as: UTF8.self))
            cell.removeAll(keepingCapacity: true)
            afterQuote = false
            cellStarted = false
        }
        func endRow() {
            endCell()
            if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
            row = []
        }

        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            if inQuotes {
                if byte == quote {
                    if index < bytes.endIndex, bytes[index] == quote {
                        cell.append(quote)
                        index += 1
                    } else {
                        inQuotes = false
                        afterQuote = true
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    cell.append(byte)
                }
                continue
            }
            let endsLine = crlf
                ? byte == UInt8(ascii: "\r") && index < bytes.endIndex && bytes[index] == UInt8(ascii: "\n")
                : byte == UInt8(ascii: "\n")
            if endsLine {
                if crlf { index += 1 }
                endRow()
                line += 1
            } else if byte == separator {
                endCell()
            } else if byte == quote {
                guard !cellStarted else {
                    throw BulkCSVFailure(message: "InvalidBatch : Invalid quote in an unquoted field at line \(line)")
                }
                inQuotes = true
                cellStarted = true
            } else {
                guard !afterQuote else {
                    throw BulkCSVFailure(message: "InvalidBatch : Unexpected text after a closing quote at line \(line)")
                }
                cell.append(byte)
                cellStarted = true
            }
        }
        if inQuotes {
            throw BulkCSVFailure(message: "InvalidBatch : A quoted field is not closed before the end of the data")
        }
        if cellStarted || !row.isEmpty { endRow() }
        return rows
    }

    /// A result CSV: every cell quoted, as Salesforce writes them.
    static func write(
        header: [String], rows: [[String]], delimiter: BulkColumnDelimiter, lineEnding: BulkLineEnding
    ) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64 + rows.count * 64)
        func writeRow(_ cells: [String]) {
            for (index, text) in cells.enumerated() {
                if index > 0 { buffer.writeInteger(delimiter.byte) }
                buffer.writeInteger(UInt8(ascii: "\""))
                if text.utf8.contains(UInt8(ascii: "\"")) {
                    for byte in text.utf8 {
                        if byte == UInt8(ascii: "\"") { buffer.writeInteger(byte) }
                        buffer.writeInteger(byte)
                    }
                } else {
                    buffer.writeString(text)
                }
                buffer.writeInteger(UInt8(ascii: "\""))
            }
            buffer.writeBytes(lineEnding.bytes)
        }
        writeRow(header)
        for row in rows { writeRow(row) }
        return buffer
    }
}
