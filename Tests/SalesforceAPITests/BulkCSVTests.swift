import Foundation
import NIOCore
import Testing

@testable import SalesforceAPI

@Suite("Bulk API 2.0 CSV: upload encoding")
struct BulkCSVTests {
    private func csv(_ columns: [String], _ rows: [[FieldValue?]]) -> String {
        String(buffer: BulkCSV.encode(columns: columns, rows: rows))
    }

    @Test("header, LF line endings, plain cells unquoted")
    func plain() {
        #expect(self.csv(["Id", "LastName"], [["003A", "Lovelace"], ["003B", "Hopper"]]) == "Id,LastName\n003A,Lovelace\n003B,Hopper\n")
    }

    @Test("cells with commas, quotes, CR or LF are quoted, quotes doubled")
    func quoting() {
        let text = self.csv(["A", "B", "C", "D", "E"], [[
            "Director, Marketing", #"say "hi""#, "two\nlines", "carriage\rreturn", "crlf\r\nend",
        ]])
        #expect(text == "A,B,C,D,E\n\"Director, Marketing\",\"say \"\"hi\"\"\",\"two\nlines\",\"carriage\rreturn\",\"crlf\r\nend\"\n")
    }

    @Test("nil is an empty cell, .null and the empty string are #N/A")
    func emptyAndNull() {
        #expect(self.csv(["A", "B", "C", "D"], [[nil, .null, "", "x"]]) == "A,B,C,D\n,#N/A,#N/A,x\n")
    }

    @Test("numbers without exponents, booleans as true/false")
    func numbersAndBools() {
        let row: [FieldValue?] = [.integer(-42), .number(1.5), .number(100.0), .number(1e20), .number(0.00001), .number(-2.5e-7), .bool(true), .bool(false)]
        #expect(self.csv(Array("ABCDEFGH").map(String.init), [row]) == "A,B,C,D,E,F,G,H\n-42,1.5,100,100000000000000000000,0.00001,-0.00000025,true,false\n")
        #expect(BulkCSV.plainNumber(123456.789) == "123456.789")
        #expect(BulkCSV.plainNumber(1.0e-5) == "0.00001")
        #expect(BulkCSV.plainNumber(.nan) == "NaN")
        #expect(BulkCSV.plainNumber(-.infinity) == "-Infinity")
    }

    @Test("unicode passes through as UTF-8, quoted only when it must be")
    func unicode() {
        let text = self.csv(["LastName"], [["Ðurđević"], ["名前, 姓"], ["🙂"]])
        #expect(text == "LastName\nÐurđević\n\"名前, 姓\"\n🙂\n")
        #expect(Array(BulkCSV.encode(columns: ["LastName"], rows: [["é"]]).readableBytesView) == Array("LastName\né\n".utf8))
    }

    @Test("encodedSize is exactly the bytes encode writes per row")
    func sizes() {
        let columns = ["Id", "LastName", "Email", "Score__c", "Opt__c"]
        let rows: [[FieldValue?]] = [
            ["003A", "Lovelace", nil, .integer(7), .bool(true)],
            ["003B", #"O"Brien, "Jr""#, .null, .number(1e-3), nil],
            ["003C", "名前\n改行", "", .number(2.5), .bool(false)],
            [nil, nil, nil, nil, nil],
        ]
        let whole = BulkCSV.encode(columns: columns, rows: rows).readableBytes
        let summed = BulkCSV.headerSize(columns: columns) + rows.map(BulkCSV.encodedSize).reduce(0, +)
        #expect(whole == summed)
        for row in rows {
            #expect(BulkCSV.encode(columns: columns, rows: [row]).readableBytes == BulkCSV.headerSize(columns: columns) + BulkCSV.encodedSize(row))
        }
    }

    @Test("what encode writes, the result reader reads back cell for cell")
    func roundTrip() throws {
        let rows: [[FieldValue?]] = [["a,b", #"q"q"#], ["line\nbreak", "crlf\r\nx"], ["名", "plain"]]
        var reader = BulkCSVReader()
        var read: [[String]] = []
        try reader.feed(BulkCSV.encode(columns: ["A", "B"], rows: rows)) { read.append($0) }
        try reader.finish { read.append($0) }
        #expect(read == [["A", "B"], ["a,b", #"q"q"#], ["line\nbreak", "crlf\r\nx"], ["名", "plain"]])
    }
}

@Suite("Bulk API 2.0 CSV: result parsing")
struct BulkResultParserTests {
    /// Feeds `text` in chunks of `chunk` bytes, so quotes and line endings fall across chunk edges.
    private func parse(_ text: String, kind: BulkResultKind, key: String, chunk: Int = 3) throws -> [BulkResultRow] {
        var parser = BulkResultParser(kind: kind, keyColumn: key)
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(start + chunk, bytes.count)
            try parser.feed(ByteBuffer(bytes: bytes[start..<end]))
            start = end
        }
        return try parser.finish()
    }

    @Test("successful results: sf__Id, sf__Created, the key column")
    func successful() throws {
        let text = "\"sf__Id\",\"sf__Created\",\"Id\",\"LastName\"\n\"003A\",\"false\",\"003A\",\"Lovelace\"\n\"003B\",\"true\",\"003B\",\"Hopper\"\n"
        for chunk in [1, 2, 5, 1000] {
            let rows = try self.parse(text, kind: .successful, key: "Id", chunk: chunk)
            #expect(rows == [
                BulkResultRow(key: "003A", salesforceId: "003A", created: false),
                BulkResultRow(key: "003B", salesforceId: "003B", created: true),
            ])
        }
    }

    @Test("failed results: sf__Error split into code and message, the fields tail dropped")
    func failed() throws {
        let text = """
        "sf__Id","sf__Error","Ext__c","LastName"
        "","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --","p-1",""
        "003A","STRING_TOO_LONG:Last Name: data value too large: xxx (max length=80):LastName --","p-2","xxx"
        "003B","UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--","p-3","y"
        "","MALFORMED_ID:Contact ID: id value of incorrect type: 001","p-4","z"
        "","something without a code","p-5","w"

        """
        let rows = try self.parse(text, kind: .failed, key: "Ext__c")
        #expect(rows.count == 5)
        #expect(rows[0] == BulkResultRow(key: "p-1", salesforceId: nil, errorCode: "REQUIRED_FIELD_MISSING", errorMessage: "Required fields are missing: [LastName]"))
        #expect(rows[1] == BulkResultRow(key: "p-2", salesforceId: "003A", errorCode: "STRING_TOO_LONG", errorMessage: "Last Name: data value too large: xxx (max length=80)"))
        #expect(rows[2].errorCode == "UNABLE_TO_LOCK_ROW")
        #expect(rows[2].errorMessage == "unable to obtain exclusive access to this record")
        #expect(rows[3] == BulkResultRow(key: "p-4", errorCode: "MALFORMED_ID", errorMessage: "Contact ID: id value of incorrect type: 001"))
        #expect(rows[4] == BulkResultRow(key: "p-5", errorCode: "UNKNOWN_EXCEPTION", errorMessage: "something without a code"))
    }

    @Test("quoted cells with embedded newlines, CRLF, doubled quotes")
    func quotedAndCRLF() throws {
        let text = "\"sf__Id\",\"sf__Error\",\"Id\",\"Title\"\r\n\"003A\",\"INVALID_EMAIL_ADDRESS:Email: invalid email address: a\r\nb:Email --\",\"003A\",\"two\nlines, \"\"quoted\"\"\"\r\n"
        let rows = try self.parse(text, kind: .failed, key: "Id", chunk: 1)
        #expect(rows == [BulkResultRow(
            key: "003A", salesforceId: "003A", errorCode: "INVALID_EMAIL_ADDRESS", errorMessage: "Email: invalid email address: a\r\nb"
        )])
        var reader = BulkCSVReader()
        var cells: [[String]] = []
        try reader.feed(ByteBuffer(string: text)) { cells.append($0) }
        try reader.finish { cells.append($0) }
        #expect(cells.last?.last == "two\nlines, \"quoted\"")
    }

    @Test("columns are found by name whatever their order; unquoted cells and no final newline")
    func headerOrder() throws {
        let text = "LastName,Id,sf__Created,sf__Id\nLovelace,003A,true,003A"
        #expect(try self.parse(text, kind: .successful, key: "Id") == [BulkResultRow(key: "003A", salesforceId: "003A", created: true)])
        let bom = "\u{FEFF}sf__Id,sf__Created,id\n003B,false,003B\n"
        #expect(try self.parse(bom, kind: .successful, key: "Id") == [BulkResultRow(key: "003B", salesforceId: "003B", created: false)])
    }

    @Test("unprocessed records: the key column only; empty answers are no rows")
    func unprocessed() throws {
        let text = "Ext__c,LastName\np-1,Lovelace\n\np-2,Hopper\n"
        #expect(try self.parse(text, kind: .unprocessed, key: "Ext__c") == [BulkResultRow(key: "p-1"), BulkResultRow(key: "p-2")])
        #expect(try self.parse("", kind: .failed, key: "Id").isEmpty)
        #expect(try self.parse("\"sf__Id\",\"sf__Error\",\"Id\"\n", kind: .failed, key: "Id").isEmpty)
    }

    @Test("a missing key column or an unclosed quote is INVALID_RESPONSE")
    func malformed() throws {
        #expect(throws: SalesforceError.self) { try self.parse("sf__Id,sf__Created,LastName\n003A,true,x\n", kind: .successful, key: "Id") }
        do {
            _ = try self.parse("sf__Id,sf__Created,Id\n\"003A,true,003A\n", kind: .successful, key: "Id")
            Issue.record("an unclosed quote was accepted")
        } catch let error as SalesforceError {
            #expect(error.code == "INVALID_RESPONSE")
        }
    }

    @Test("job ids are checked before they go in a URL")
    func jobIds() throws {
        try SalesforceClient.checkJobId("750R0000000zlh9IAA")
        try SalesforceClient.checkJobId("750R0000000zlh9")
        for bad in ["", "751R0000000zlh9IAA", "750R0000000zlh9IA", "750R0000000zl/9IAA", "750R0000000zlh9IAA/../x", "750R00000%2Fzlh9"] {
            #expect(throws: SalesforceError.self) { try SalesforceClient.checkJobId(bad) }
        }
    }
}
