import Foundation

/// Alert rules, alert events and webhook subscriptions (issue: monitoring and alerts).
public protocol AlertStore: Sendable {}
