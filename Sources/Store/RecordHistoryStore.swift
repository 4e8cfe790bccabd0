import Foundation

/// Per-record delivery history: attempts, outcomes, what was sent (issue: monitoring and alerts).
public protocol RecordHistoryStore: Sendable {}
