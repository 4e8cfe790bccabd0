extension Duration {
    /// The duration in seconds, with its fraction (`TimeInterval`'s unit).
    public var inSeconds: Double {
        let parts = self.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds (what NIO's `TimeAmount` counts), saturating at Int64's bounds.
    public var inNanoseconds: Int64 {
        let parts = self.components
        let (scaled, overflow) = parts.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return parts.seconds < 0 ? .min : .max }
        let (total, overflowAgain) = scaled.addingReportingOverflow(parts.attoseconds / 1_000_000_000)
        return overflowAgain ? (scaled < 0 ? .min : .max) : total
    }
}
