import Activation
import Foundation
import Synchronization

/// Decoding that reports every value of the wrong type at once instead of stopping at the first:
/// a configuration body with three wrong fields gets one 422 naming all three. The types of the
/// configuration bodies decode their fields through `lenient(_:forKey:)`; `RequestJSON.decode`
/// collects what they record and answers 422 `invalid_request` with every problem in `details`.
final class DecodingProblems: Sendable {
    static let key = CodingUserInfoKey(rawValue: "sfdest.decodingProblems")!

    private let recorded = Mutex<[ConfigurationProblem]>([])

    var problems: [ConfigurationProblem] { self.recorded.withLock { $0 } }

    func record(_ codingPath: [any CodingKey], _ message: String) {
        let problem = ConfigurationProblem(field: RequestJSON.path(codingPath), message: message)
        self.recorded.withLock { $0.append(problem) }
    }

    /// Thrown by a lenient type whose value was not even an object, once that is recorded.
    struct Recorded: Error {}
}

extension Decoder {
    /// The collector of a lenient decode, if this decode has one.
    var decodingProblems: DecodingProblems? { self.userInfo[DecodingProblems.key] as? DecodingProblems }

    /// The object's keyed container; when the value is not an object, records that (or throws the
    /// decoding error when nothing collects problems).
    func lenientContainer<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        do {
            return try self.container(keyedBy: type)
        } catch let error as DecodingError {
            guard let problems = self.decodingProblems else { throw error }
            let isNull = (try? self.singleValueContainer().decodeNil()) ?? false
            problems.record(self.codingPath, isNull ? "expected an object, found null" : "expected an object")
            throw DecodingProblems.Recorded()
        }
    }
}

extension KeyedDecodingContainer {
    /// The value at `key`, nil when absent or null; a value of the wrong type is recorded and
    /// read as absent.
    func lenient<Value: Decodable>(_ type: Value.Type, forKey key: Key, decoder: any Decoder) throws -> Value? {
        guard self.contains(key), !((try? self.decodeNil(forKey: key)) ?? false) else { return nil }
        do {
            return try self.decode(type, forKey: key)
        } catch is DecodingProblems.Recorded {
            return nil
        } catch let error as DecodingError {
            guard let problems = decoder.decodingProblems else { throw error }
            problems.record(self.codingPath + [key], RequestJSON.expectation(Value.self))
            return nil
        }
    }
}

/// An item of a list body read leniently: nil when it was not usable (the problem is recorded).
struct Lenient<Value: Decodable & Sendable>: Decodable, Sendable {
    var value: Value?

    init(from decoder: any Decoder) throws {
        do {
            self.value = try Value(from: decoder)
        } catch is DecodingProblems.Recorded {
            self.value = nil
        }
    }
}
