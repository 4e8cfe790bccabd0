/// Readable unique ids for what sfdest creates (`conn_`, `dest_`, `alert_`, `evt_`, ...): a prefix
/// and 16 random lowercase letters and digits (82 bits from the system's secure generator).
public func generateID(prefix: String) -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    var generator = SystemRandomNumberGenerator()
    return prefix + String((0..<16).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
}
