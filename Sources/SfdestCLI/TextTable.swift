/// A plain-text table with aligned columns, as the CLI views print them.
public struct TextTable: Sendable, Equatable {
    /// How a column's cells line up.
    public enum Alignment: Sendable, Equatable {
        case left, right
    }

    /// A column: its header and alignment (numbers align right).
    public struct Column: Sendable, Equatable {
        public var header: String
        public var alignment: Alignment
        public init(_ header: String, _ alignment: Alignment = .left) {
            self.header = header
            self.alignment = alignment
        }
    }

    public var columns: [Column]
    public var rows: [[String]]

    public init(columns: [Column], rows: [[String]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// The header, then one line per row; columns two spaces apart, no trailing spaces. Rows with
    /// fewer cells than columns are padded with empty cells.
    public func render() -> String {
        let cells = [self.columns.map(\.header)] + self.rows.map { row in
            (0..<self.columns.count).map { $0 < row.count ? row[$0] : "" }
        }
        let widths = (0..<self.columns.count).map { index in cells.map { $0[index].count }.max() ?? 0 }
        return cells.map { line in
            var text = ""
            for (index, cell) in line.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                if index > 0 { text += "  " }
                text += self.columns[index].alignment == .right ? padding + cell : cell + padding
            }
            return String(text.reversed().drop(while: { $0 == " " }).reversed())
        }.joined(separator: "\n")
    }
}
